"""Let Daphne send every close code RFC 6455 allows a server to send.

Autobahn, under Daphne, only lets a server close with 1000 or 3000-4999, yet the client
contract closes a socket with a bad token using 1008 (policy violation), which RFC 6455
section 7.4.1 defines for exactly that. This widens what Daphne's `serverClose` accepts to the
RFC's sendable codes; anything else still goes through Autobahn's own check.
"""

from apps.core.daphne_patches import daphne_patch

RFC6455_SERVER_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011})


def daphne_close_codes_install() -> None:
    daphne_patch("close-codes", _close_codes_widen)


def _close_codes_widen() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    autobahn_checked_close = WebSocketProtocol.serverClose

    def server_close(self, code=None):
        if code in RFC6455_SERVER_CLOSE_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            autobahn_checked_close(self, code)

    WebSocketProtocol.serverClose = server_close

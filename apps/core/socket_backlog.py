"""A bound on what one socket may leave unsent in server memory.

A client that stops reading (a phone that lost coverage, a frozen tab) keeps everything sent
to it in the server until Daphne's keepalive gives up on it, about 50 s later. Under Daphne
each frame an application sends is written at once to the connection's Twisted transport
(Channels queues nothing on the way), so what such a client has not taken sits in two
places: the kernel's send queue (on Linux up to `net.ipv4.tcp_wmem`'s maximum, 4 MiB by
default) and, once that is full, Twisted's write buffer, in process memory, without limit.

`daphne_outbound_backlog_install()` changes three things in Daphne's WebSocketProtocol:

- After every frame it writes, it counts the bytes the client has not yet acknowledged
  (`outbound_unsent_bytes`: Twisted's buffer plus, on Linux, the kernel's send queue).
  Past `SOCKET_OUTBOUND_BACKLOG_MAX_BYTES` the socket is closed with 4008 ("too far
  behind": reconnect and `resume`) and nothing more is written to it. The close frame
  waits behind the backlog, so a client that reads nothing never sees it: its TCP
  connection is aborted `SOCKET_OUTBOUND_CLOSE_GRACE_SECONDS` later (Autobahn's
  closing-handshake timeout, lengthened from its 1 s for this close code only, so that a
  slow but live reader can still reach the close frame and learn why).
- A frame the application sends after the closing handshake began is dropped. Autobahn
  would raise into the application, which cannot know that Daphne closed the socket.
- Each socket's ASGI scope gets the extension `OUTBOUND_EXTENSION`: `unsent_bytes()` and
  `closing()`, so that a consumer streaming a long catch-up waits for the client to take
  what it has before sending more, and stops once the socket is going away.
"""

from __future__ import annotations

import fcntl
import logging
import struct
import weakref
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from apps.core.daphne_patches import daphne_patch

logger = logging.getLogger(__name__)

# The client is too far behind: it should reconnect and `resume` from the last seq it has.
# Like HTTP's 408, the server gave up waiting on the client.
CLOSE_TOO_FAR_BEHIND = 4008
CLOSE_TOO_FAR_BEHIND_REASON = "too far behind; reconnect and resume"
OUTBOUND_EXTENSION = "commonality.outbound"

_SEND_QUEUE_IOCTL: int | None
try:  # Linux: the bytes in a TCP socket's send queue not yet acknowledged by the peer.
    from termios import TIOCOUTQ

    _SEND_QUEUE_IOCTL = TIOCOUTQ
except ImportError:  # elsewhere only Twisted's own buffer is counted
    _SEND_QUEUE_IOCTL = None


def _kernel_unacknowledged_bytes(transport: Any) -> int:
    if _SEND_QUEUE_IOCTL is None:
        return 0
    try:
        descriptor = transport.fileno()
        if descriptor < 0:
            return 0
        answer = fcntl.ioctl(descriptor, _SEND_QUEUE_IOCTL, struct.pack("i", 0))
    except (AttributeError, OSError, ValueError):
        return 0
    return struct.unpack("i", answer)[0]


def outbound_unsent_bytes(transport: Any) -> int:
    """Bytes written to a Twisted TCP transport that the peer has not acknowledged yet."""
    # abstract.FileDescriptor keeps what the kernel has not taken as `dataBuffer[offset:]`
    # plus the writes since its last flush (`_tempDataLen`).
    buffered = (
        len(getattr(transport, "dataBuffer", b""))
        - getattr(transport, "offset", 0)
        + getattr(transport, "_tempDataLen", 0)
    )
    return buffered + _kernel_unacknowledged_bytes(transport)


def socket_outbound(scope: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The outbound extension of a socket's scope; None when not served by patched Daphne."""
    return (scope.get("extensions") or {}).get(OUTBOUND_EXTENSION)


def _outbound_extension(protocol: Any) -> dict:
    reference = weakref.ref(protocol)

    def unsent_bytes() -> int:
        current = reference()
        return 0 if current is None else outbound_unsent_bytes(current.transport)

    def closing() -> bool:
        current = reference()
        return current is None or current.state in (current.STATE_CLOSING, current.STATE_CLOSED)

    return {"unsent_bytes": unsent_bytes, "closing": closing}


def daphne_outbound_backlog_install() -> None:
    daphne_patch("outbound-backlog", _outbound_backlog_bound)


def _outbound_backlog_bound() -> None:
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol

    daphne_server_send = WebSocketProtocol.serverSend
    daphne_server_close = WebSocketProtocol.serverClose
    daphne_create_application = Server.create_application

    def server_send(self, content, binary=False):
        if self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            return
        daphne_server_send(self, content, binary)
        unsent = outbound_unsent_bytes(self.transport)
        limit = settings.SOCKET_OUTBOUND_BACKLOG_MAX_BYTES
        if unsent > limit:
            logger.warning(
                "socket too far behind: %d bytes unsent (at most %d); closing it with %d",
                unsent,
                limit,
                CLOSE_TOO_FAR_BEHIND,
            )
            self.serverClose(code=CLOSE_TOO_FAR_BEHIND)

    def server_close(self, code=None):
        if code == CLOSE_TOO_FAR_BEHIND and self.state == self.STATE_OPEN:
            # Read by Autobahn when the close frame is queued: abort the connection if the
            # client has not answered the close within this long.
            self.closeHandshakeTimeout = settings.SOCKET_OUTBOUND_CLOSE_GRACE_SECONDS
            self.sendClose(code=code, reason=CLOSE_TOO_FAR_BEHIND_REASON)
            return
        daphne_server_close(self, code)

    def create_application(self, protocol, scope):
        if isinstance(protocol, WebSocketProtocol):
            scope["extensions"] = {
                **(scope.get("extensions") or {}),
                OUTBOUND_EXTENSION: _outbound_extension(protocol),
            }
        return daphne_create_application(self, protocol, scope)

    WebSocketProtocol.serverSend = server_send
    WebSocketProtocol.serverClose = server_close
    Server.create_application = create_application

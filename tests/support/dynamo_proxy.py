"""A loopback HTTP proxy in front of the tests' moto server that can lose DynamoDB's replies.

`reply_lose(operation)` makes the next request for that operation (e.g. "TransactWriteItems")
reach moto and be applied there, while its reply never reaches the client: the proxy holds
the client's connection open without answering until the client gives up (its read timeout)
and closes it. That is a DynamoDB stall past the client's timeout, after the write was made,
exactly: pausing moto itself would stop the write too. Everything else passes through.

    proxy = DynamoProxy(upstream="http://127.0.0.1:PORT")
    host = proxy.start()        # "http://127.0.0.1:OTHER_PORT": point the models here
    proxy.reply_lose("TransactWriteItems")
    ...
    proxy.stop()
"""

from __future__ import annotations

import http.client
import select
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET_HEADER = "X-Amz-Target"
# How long a lost reply's connection is held open at most, waiting for the client to close it.
HOLD_SECONDS = 30.0
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class DynamoProxy:
    def __init__(self, *, upstream: str) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self._upstream = (parsed.hostname, parsed.port)
        self._lock = threading.Lock()
        self._replies_to_lose: dict[str, int] = {}
        self.lost: list[str] = []  # the operations whose replies were lost, in order
        self.forwarded: list[str] = []  # every operation that reached moto, in order
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def reply_lose(self, operation: str, *, times: int = 1) -> None:
        with self._lock:
            self._replies_to_lose[operation] = self._replies_to_lose.get(operation, 0) + times

    def _reply_lost(self, operation: str) -> bool:
        with self._lock:
            left = self._replies_to_lose.get(operation, 0)
            if left:
                self._replies_to_lose[operation] = left - 1
                self.lost.append(operation)
            self.forwarded.append(operation)
            return bool(left)

    def start(self) -> str:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                target = self.headers.get(TARGET_HEADER, "")
                operation = target.rpartition(".")[2]
                upstream = http.client.HTTPConnection(*proxy._upstream, timeout=30)
                try:
                    headers = {
                        name: value
                        for name, value in self.headers.items()
                        if name.lower() not in _HOP_BY_HOP
                    }
                    upstream.request("POST", self.path, body=body, headers=headers)
                    reply = upstream.getresponse()
                    reply_body = reply.read()
                finally:
                    upstream.close()
                if proxy._reply_lost(operation):
                    self._hold_until_client_closes()
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.getheaders():
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply_body)))
                self.end_headers()
                self.wfile.write(reply_body)

            def _hold_until_client_closes(self) -> None:
                # Readable means closed by the client (or a request that goes unanswered too).
                select.select([self.connection], [], [], HOLD_SECONDS)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

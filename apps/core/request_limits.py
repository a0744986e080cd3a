"""Caps on HTTP request bodies, enforced before a body is buffered.

Every API body is a small JSON object except a voice note, whose body is the recording
itself, so a request gets one of two caps: `REQUEST_BODY_MAX_BYTES`, or
`VOICE_NOTE_MAX_BYTES` for `POST /api/chats/<id>/voice_notes`. Over the cap the answer is
413 `{"detail": ...}` and the rest of the body is never kept.

Enforced twice, because of how Daphne works: Daphne reads a request's whole body (to a
temporary file, then into the application's queue) before it calls the application, so an
ASGI wrapper alone would only see a 100 MB body after Daphne had held it in memory.

- `daphne_body_limit_install()` applies the cap inside Daphne's request parser: a declared
  Content-Length over the cap is refused as soon as the headers are in, and a chunked body as
  soon as its running count passes the cap; what the client sends after that is discarded.
- `RequestBodyLimit` wraps the Django application for any ASGI server (and is the only guard
  if another server is used): it refuses a declared length over the cap without reading, and
  counts streamed bytes as they arrive, answering 413 once the cap is passed.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.conf import settings

from apps.core.daphne_patches import daphne_patch

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

VOICE_NOTE_PATH = re.compile(r"/api/chats/[^/]+/voice_notes/?")
# After a refusal Daphne keeps reading (and dropping) what the client still sends for this
# long, so the client reads the 413 instead of a connection reset; then it hangs up.
REFUSED_LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class BodyCap:
    max_bytes: int
    detail: str


def request_body_cap(*, method: str, path: str) -> BodyCap:
    """The most body bytes this request may carry, and what a client is told past that."""
    if method.upper() == "POST" and VOICE_NOTE_PATH.fullmatch(path):
        limit = settings.VOICE_NOTE_MAX_BYTES
        return BodyCap(limit, f"A voice note is at most {limit} bytes")
    limit = settings.REQUEST_BODY_MAX_BYTES
    return BodyCap(limit, f"Request body is at most {limit} bytes")


def _json_detail(detail: str) -> bytes:
    return json.dumps({"detail": detail}).encode()


def declared_body_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The largest Content-Length the client declared; -1 if one is not a number."""
    lengths = [value for name, value in headers if name.lower() == b"content-length"]
    if not lengths:
        return None
    parsed = []
    for value in lengths:
        value = value.strip()
        if not value.isdigit():
            return -1
        parsed.append(int(value))
    return max(parsed)


class RequestBodyLimit:
    """ASGI wrapper for the HTTP application: bodies over their cap get 413 before the
    application reads them. Bodies within the cap (at most a voice note) are read here and
    handed on whole, which is what Django would have done with them anyway."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = request_body_cap(method=scope.get("method", ""), path=scope.get("path", ""))
        declared = declared_body_length(scope.get("headers") or [])
        if declared == -1:
            await _reply(send, 400, "Content-Length must be a number")
            return
        if declared is not None and declared > cap.max_bytes:
            await _reply(send, 413, cap.detail)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if message["type"] != "http.request":
                continue
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > cap.max_bytes:
                await _reply(send, 413, cap.detail)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reply(send: Send, status: int, detail: str) -> None:
    body = _json_detail(detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- Daphne --------------------------------------------------------------------------------


def _daphne_refuse(request: Any, status: int, detail: str) -> None:
    """Answer straight on the connection, drop whatever else arrives, hang up shortly."""
    from twisted.internet import reactor

    request._commonality_refused = True
    channel = request.channel
    transport = channel.transport if channel is not None else None
    if transport is None:
        return
    channel.dataReceived = lambda data: None
    body = _json_detail(detail)
    reason = b"Payload Too Large" if status == 413 else b"Bad Request"
    transport.write(
        b"HTTP/1.1 %d %s\r\n" % (status, reason)
        + b"Content-Type: application/json\r\n"
        + b"Content-Length: %d\r\n" % len(body)
        + b"Connection: close\r\n\r\n"
        + body
    )
    # Half-close: the client sees the whole reply and EOF while its upload is still drained.
    if hasattr(transport, "loseWriteConnection"):
        transport.loseWriteConnection()
    reactor.callLater(REFUSED_LINGER_SECONDS, transport.loseConnection)  # type: ignore[arg-type]  # zope.interface methods have no self: mypy takes the delay for it


def daphne_body_limit_install() -> None:
    daphne_patch("body-limit", _body_limit_apply)


def _body_limit_apply() -> None:
    from daphne.http_protocol import WebRequest

    daphne_got_length = WebRequest.gotLength
    daphne_content_chunk = WebRequest.handleContentChunk
    daphne_request_received = WebRequest.requestReceived

    def got_length(self, length):
        # Called by Twisted once the headers are in, before any body byte is read.
        self._commonality_refused = False
        self._commonality_body_bytes = 0
        channel = self.channel
        method = getattr(channel, "_command", b"").decode("latin-1")
        target = getattr(channel, "_path", b"").split(b"?", 1)[0]
        self._commonality_cap = cap = request_body_cap(
            method=method, path=unquote(target.decode("latin-1"))
        )
        if length is not None and length > cap.max_bytes:
            # No "100 Continue" for a body that will not be read.
            self.requestHeaders.removeHeader(b"Expect")
            daphne_got_length(self, 0)
            _daphne_refuse(self, 413, cap.detail)
            return
        daphne_got_length(self, length)

    def handle_content_chunk(self, data):
        if getattr(self, "_commonality_refused", False):
            return
        cap = getattr(self, "_commonality_cap", None)
        if cap is not None:
            self._commonality_body_bytes += len(data)
            if self._commonality_body_bytes > cap.max_bytes:
                self.content.close()
                self.content = io.BytesIO()
                _daphne_refuse(self, 413, cap.detail)
                return
        daphne_content_chunk(self, data)

    def request_received(self, command, path, version):
        if getattr(self, "_commonality_refused", False):
            return
        daphne_request_received(self, command, path, version)

    WebRequest.gotLength = got_length
    WebRequest.handleContentChunk = handle_content_chunk
    WebRequest.requestReceived = request_received

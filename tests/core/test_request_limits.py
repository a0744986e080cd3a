"""Request body caps: over a real Daphne (raw sockets, so nothing in between buffers or
rewrites the body) and on the ASGI wrapper around Django's application."""

import json
import socket
import threading
import time

import pytest
from django.conf import settings as django_settings

from apps.core.request_limits import RequestBodyLimit, request_body_cap
from tests.support.daphne import daphne_running
from tests.support.http import http_post, signup

HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture
def daphne(dynamo_tables):
    with daphne_running({"DYNAMODB_TABLE_PREFIX": dynamo_tables}) as server:
        yield server


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _rss_settled_bytes(server) -> int:
    """The RSS once start-up has stopped adding to it. The warm-up loads the language
    detector's model in a thread of its own, tens of MB, while the test may already run, and
    on a loaded machine in fits and starts; a message sent waits for that load to end. Then
    two readings half a second apart within 1 MB, for at most 15 s."""
    pid = server.process.pid
    ana = signup(server.url, "ana", "en")
    signup(server.url, "ben", "en")
    chat_id = http_post(server.url, "/api/chats", {"username": "ben"}, token=ana)["chat_id"]
    http_post(
        server.url,
        f"/api/chats/{chat_id}/messages",
        {"text": "Shall we meet at the station tomorrow morning?"},
        token=ana,
    )
    deadline = time.monotonic() + 15
    last = _rss_bytes(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _rss_bytes(pid)
        if abs(now - last) < 1024 * 1024:
            return now
        last = now
    return last


def _read_reply(sock: socket.socket, timeout: float) -> tuple[int, dict]:
    """(status, JSON body) of the one reply on this connection."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = {
        line.split(b":", 1)[0].strip().lower(): line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")[1:]
        if b":" in line
    }
    if b"content-length" in headers:
        length = int(headers[b"content-length"])
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        body = body[:length]
    else:  # chunked reply
        while not body.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        decoded, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2 :]
        body = decoded
    return status, json.loads(body)


def _send_quietly(sock: socket.socket, data: bytes, chunk_size: int = 1 << 20) -> None:
    """Send as much as the server takes; it may hang up once it has answered."""
    try:
        for offset in range(0, len(data), chunk_size):
            sock.sendall(data[offset : offset + chunk_size])
    except OSError:
        pass


def _chunked(data: bytes, chunk_size: int = 64 * 1024) -> bytes:
    out = bytearray()
    for offset in range(0, len(data), chunk_size):
        piece = data[offset : offset + chunk_size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def test_a_100_mb_login_body_gets_413_at_once_and_is_never_buffered(daphne):
    pid = daphne.process.pid
    with socket.create_connection(("127.0.0.1", _port(daphne))) as warm:
        warm.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert _read_reply(warm, 10)[0] == 200
    before = _rss_settled_bytes(daphne)

    with socket.create_connection(("127.0.0.1", _port(daphne))) as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % HUNDRED_MB
        )
        sender = threading.Thread(target=_send_quietly, args=(sock, b"x" * HUNDRED_MB))
        started = time.monotonic()
        sender.start()
        status, body = _read_reply(sock, 10)
        elapsed = time.monotonic() - started
        sender.join(30)

    assert status == 413
    assert body == {
        "detail": f"Request body is at most {django_settings.REQUEST_BODY_MAX_BYTES} bytes"
    }
    assert elapsed < 2, elapsed
    grown = _rss_bytes(pid) - before
    assert grown < 20 * 1024 * 1024, f"RSS grew by {grown} bytes"
    # The server is still there for the next client.
    with socket.create_connection(("127.0.0.1", _port(daphne))) as after:
        after.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert _read_reply(after, 10) == (200, {"status": "ok"})


def test_a_chunked_3_mb_voice_note_gets_413_without_being_buffered(daphne):
    pid = daphne.process.pid
    before = _rss_settled_bytes(daphne)
    with socket.create_connection(("127.0.0.1", _port(daphne))) as sock:
        sock.sendall(
            b"POST /api/chats/some-chat/voice_notes HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: audio/webm\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        sender = threading.Thread(target=_send_quietly, args=(sock, _chunked(b"\0" * 3_000_000)))
        sender.start()
        status, body = _read_reply(sock, 10)
        sender.join(30)

    assert status == 413
    assert body == {
        "detail": f"A voice note is at most {django_settings.VOICE_NOTE_MAX_BYTES} bytes"
    }
    assert _rss_bytes(pid) - before < 20 * 1024 * 1024


def test_a_declared_oversize_voice_note_gets_413_before_its_body(daphne):
    with socket.create_connection(("127.0.0.1", _port(daphne))) as sock:
        sock.sendall(
            b"POST /api/chats/some-chat/voice_notes HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: audio/webm\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
            % (django_settings.VOICE_NOTE_MAX_BYTES + 1)
        )
        status, body = _read_reply(sock, 10)
    assert status == 413
    assert body == {
        "detail": f"A voice note is at most {django_settings.VOICE_NOTE_MAX_BYTES} bytes"
    }


def test_a_chunked_small_body_still_works_and_a_chunked_large_one_does_not(daphne):
    signup = json.dumps(
        {
            "username": "chunky",
            "password": "a long password",
            "first_name": "Chunky",
            "last_name": "Body",
            "native_language": "en",
        }
    ).encode()
    with socket.create_connection(("127.0.0.1", _port(daphne))) as sock:
        sock.sendall(
            b"POST /api/auth/signup HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + _chunked(signup, chunk_size=7)
        )
        status, body = _read_reply(sock, 10)
    assert status == 201, body
    assert body["token_type"] == "bearer"

    padded = b'{"username": "chunky", "password": "' + b"p" * 70_000 + b'"}'
    with socket.create_connection(("127.0.0.1", _port(daphne))) as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + _chunked(padded, chunk_size=4096)
        )
        status, body = _read_reply(sock, 10)
    assert status == 413, body


# --- the ASGI wrapper, on any server -------------------------------------------------------


class Recorder:
    """The application inside the wrapper: records what reaches it, answers 200."""

    def __init__(self):
        self.bodies = []

    async def __call__(self, scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def _scope(path, method="POST", headers=()):
    return {"type": "http", "method": method, "path": path, "headers": list(headers)}


async def _drive(app, scope, messages):
    """Run the app; returns (sent messages, how many messages it received)."""
    queue = list(messages)
    received = 0
    sent = []

    async def receive():
        nonlocal received
        received += 1
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent, received


async def test_the_wrapper_refuses_a_declared_oversize_body_without_reading_it():
    inner = Recorder()
    cap = django_settings.REQUEST_BODY_MAX_BYTES
    sent, received = await _drive(
        RequestBodyLimit(inner),
        _scope("/api/auth/login", headers=[(b"content-length", str(cap + 1).encode())]),
        [{"type": "http.request", "body": b"x" * (cap + 1)}],
    )
    assert received == 0 and inner.bodies == []
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"detail": f"Request body is at most {cap} bytes"}


async def test_the_wrapper_stops_reading_a_stream_once_it_passes_the_cap():
    inner = Recorder()
    cap = django_settings.REQUEST_BODY_MAX_BYTES
    chunk = b"x" * (cap // 4)
    stream = [{"type": "http.request", "body": chunk, "more_body": True} for _ in range(100)]
    sent, received = await _drive(RequestBodyLimit(inner), _scope("/api/chats"), stream)
    assert received == 5  # the fifth chunk passes the cap; the other 95 are never read
    assert inner.bodies == []
    assert sent[0]["status"] == 413


async def test_the_wrapper_hands_a_body_within_the_cap_on_whole():
    inner = Recorder()
    stream = [
        {"type": "http.request", "body": b'{"a":', "more_body": True},
        {"type": "http.request", "body": b" 1}", "more_body": False},
    ]
    sent, _ = await _drive(RequestBodyLimit(inner), _scope("/api/chats"), stream)
    assert inner.bodies == [b'{"a": 1}']
    assert sent[0]["status"] == 200


async def test_the_wrapper_refuses_a_content_length_that_is_not_a_number():
    inner = Recorder()
    sent, received = await _drive(
        RequestBodyLimit(inner), _scope("/api/chats", headers=[(b"content-length", b"12abc")]), []
    )
    assert (sent[0]["status"], received, inner.bodies) == (400, 0, [])


def test_only_the_voice_note_upload_gets_the_voice_note_cap():
    voice = django_settings.VOICE_NOTE_MAX_BYTES
    general = django_settings.REQUEST_BODY_MAX_BYTES
    assert request_body_cap(method="POST", path="/api/chats/abc/voice_notes").max_bytes == voice
    assert request_body_cap(method="POST", path="/api/chats/abc/messages").max_bytes == general
    assert request_body_cap(method="PUT", path="/api/chats/abc/voice_notes").max_bytes == general
    assert request_body_cap(method="POST", path="/api/chats/a/b/voice_notes").max_bytes == general
    assert max(voice, general) <= django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE

"""End to end over real sockets: Daphne serving the app, DynamoDB over HTTP, Redis."""

import asyncio
import json

import pytest
import websockets

from tests.support.daphne import daphne_running
from tests.support.http import http_json


@pytest.fixture
def daphne(dynamo_tables):
    with daphne_running({"DYNAMODB_TABLE_PREFIX": dynamo_tables}) as server:
        yield server


def test_signup_login_me_and_socket_over_daphne(daphne):
    base = daphne.url
    assert http_json(base, "GET", "/api/health") == (200, {"status": "ok"})
    status, ready = http_json(base, "GET", "/api/ready")
    assert (status, ready["status"]) == (200, "ok")

    signup = {
        "username": "marisol",
        "password": "una clave larga",
        "first_name": "Marisol",
        "last_name": "Vega",
        "native_language": "es",
    }
    status, body = http_json(base, "POST", "/api/auth/signup", signup)
    assert status == 201 and body["token_type"] == "bearer"
    status, body = http_json(
        base, "POST", "/api/auth/login", {"username": "marisol", "password": "una clave larga"}
    )
    assert status == 200
    token = body["access_token"]
    status, me = http_json(base, "GET", "/api/auth/me", token=token)
    assert status == 200
    assert me["username"] == "marisol" and me["native_language"] == "es"

    async def socket_checks():
        ws_base = base.replace("http://", "ws://")
        async with websockets.connect(f"{ws_base}/api/ws/chat?token={token}") as socket:
            await socket.send(json.dumps({"chat_id": "missing", "text": "hola"}))
            reply = json.loads(await asyncio.wait_for(socket.recv(), 5))
            assert reply == {"error": "Chat not found", "chat_id": "missing"}
        async with websockets.connect(f"{ws_base}/api/ws/chat?token=bad") as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
            assert closed.value.rcvd.code == 1008

    asyncio.run(socket_checks())


def test_an_unknown_socket_path_is_refused_with_403_not_500(daphne):
    ws_base = daphne.url.replace("http://", "ws://")

    async def attempt(path: str) -> int:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"{ws_base}{path}"):
                pass
        return refused.value.response.status_code

    async def checks():
        assert await attempt("/api/ws/nothing-here") == 403
        assert await attempt("/") == 403

    asyncio.run(checks())


def test_malformed_frames_over_daphne_are_answered_and_the_socket_lives(daphne):
    base = daphne.url
    signup = {
        "username": "malformed",
        "password": "una clave larga",
        "first_name": "Mal",
        "last_name": "Formed",
        "native_language": "es",
    }
    status, body = http_json(base, "POST", "/api/auth/signup", signup)
    assert status == 201
    token = body["access_token"]

    frames = [
        "[" * 100_000,
        '{"type": "read", "chat_id": "c", "seq": ' + "9" * 5000 + "}",
        '{"type": ["send"]}',
        # A lone surrogate must not break the UTF-8 encoding of the error frame that follows.
        '{"type": "\\ud800"}',
        '{"chat_id": "\\udfff", "text": "hi"}',
        '{"type": "call_start", "chat_id": "\\ud800"}',
        '{"type": "resume", "chats": {"": 0}}',
    ]

    async def checks():
        ws_base = base.replace("http://", "ws://")
        async with websockets.connect(f"{ws_base}/api/ws/chat?token={token}") as socket:
            for frame in frames:
                await socket.send(frame)
                reply = json.loads(await asyncio.wait_for(socket.recv(), 10))
                assert "error" in reply, (frame[:40], reply)
            await socket.send(json.dumps({"type": "ping"}))
            while json.loads(await asyncio.wait_for(socket.recv(), 10)) != {"type": "pong"}:
                pass

    asyncio.run(checks())

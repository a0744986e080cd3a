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
    status, body = http_json(base, "POST", "/api/auth/login",
                            {"username": "marisol", "password": "una clave larga"})
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

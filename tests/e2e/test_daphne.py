"""End to end over real sockets: Daphne serving the app, DynamoDB over HTTP, Redis."""

import asyncio
import json
import urllib.error
import urllib.request

import pytest
import websockets

from tests.support.daphne import daphne_running


@pytest.fixture
def daphne(dynamo_tables):
    with daphne_running({"DYNAMODB_TABLE_PREFIX": dynamo_tables}) as server:
        yield server


def _request(base: str, method: str, path: str, body=None, token=None):
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_signup_login_me_and_socket_over_daphne(daphne):
    base = daphne.url
    assert _request(base, "GET", "/api/health") == (200, {"status": "ok"})
    status, ready = _request(base, "GET", "/api/ready")
    assert (status, ready["status"]) == (200, "ok")

    signup = {
        "username": "marisol",
        "password": "una clave larga",
        "first_name": "Marisol",
        "last_name": "Vega",
        "native_language": "es",
    }
    status, body = _request(base, "POST", "/api/auth/signup", signup)
    assert status == 201 and body["token_type"] == "bearer"
    status, body = _request(base, "POST", "/api/auth/login",
                            {"username": "marisol", "password": "una clave larga"})
    assert status == 200
    token = body["access_token"]
    status, me = _request(base, "GET", "/api/auth/me", token=token)
    assert status == 200
    assert me["username"] == "marisol" and me["native_language"] == "es"

    async def socket_checks():
        ws_base = base.replace("http://", "ws://")
        async with websockets.connect(f"{ws_base}/api/ws/chat?token={token}") as socket:
            await socket.send(json.dumps({"chat_id": "missing", "text": "hola"}))
            reply = json.loads(await asyncio.wait_for(socket.recv(), 5))
            assert reply == {"error": "Not a member of this chat", "chat_id": "missing"}
        async with websockets.connect(f"{ws_base}/api/ws/chat?token=bad") as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
            assert closed.value.rcvd.code == 1008

    asyncio.run(socket_checks())

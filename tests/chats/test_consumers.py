import json

from channels.testing import WebsocketCommunicator

from apps.accounts.tokens import access_token_issue
from apps.core.concurrency import run_blocking
from commonality.asgi import application
from tests.support.accounts import user_create, user_token


async def _connect(query: str) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(application, f"/api/ws/chat{query}")
    connected, _ = await communicator.connect()
    return communicator, connected


async def _expect_policy_close(communicator: WebsocketCommunicator) -> None:
    output = await communicator.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": 1008}


async def test_socket_without_token_is_closed_with_1008():
    communicator, _ = await _connect("")
    await _expect_policy_close(communicator)


async def test_socket_with_garbage_token_is_closed_with_1008():
    communicator, _ = await _connect("?token=not-a-jwt")
    await _expect_policy_close(communicator)


async def test_socket_with_token_of_unknown_user_is_closed_with_1008():
    token = access_token_issue(user_id="0" * 32, token_version=0)
    communicator, _ = await _connect(f"?token={token}")
    await _expect_policy_close(communicator)


async def test_socket_with_valid_token_stays_open_and_reports_bad_frames():
    user = await run_blocking(user_create)()
    communicator, connected = await _connect(f"?token={user_token(user)}")
    assert connected

    await communicator.send_to(text_data="{not json")
    assert json.loads(await communicator.receive_from()) == {"error": "invalid JSON"}

    await communicator.send_to(text_data=json.dumps({"text": "hi"}))
    assert json.loads(await communicator.receive_from()) == {"error": "chat_id is required"}

    await communicator.send_to(text_data=json.dumps({"chat_id": "c1"}))
    assert json.loads(await communicator.receive_from()) == {"error": "text is required"}

    await communicator.send_to(text_data=json.dumps({"chat_id": "nope", "text": "hi"}))
    assert json.loads(await communicator.receive_from()) == {"error": "Chat not found", "chat_id": "nope"}

    # Still open after every bad frame.
    await communicator.send_to(text_data="[]")
    assert json.loads(await communicator.receive_from()) == {"error": "frame must be a JSON object"}
    await communicator.disconnect()

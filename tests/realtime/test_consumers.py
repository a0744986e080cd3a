import json

import pytest
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
    assert json.loads(await communicator.receive_from()) == {
        "error": "Chat not found",
        "chat_id": "nope",
    }

    # Still open after every bad frame.
    await communicator.send_to(text_data="[]")
    assert json.loads(await communicator.receive_from()) == {"error": "frame must be a JSON object"}
    await communicator.disconnect()


# --- Malformed frames: each answered with an error, and the socket lives ------------------------


MALFORMED_TEXT_FRAMES = {
    "deep nesting": "[" * 100_000,
    "deep nesting in an object": '{"type": "send", "text": ' + "[" * 50_000,
    "a 5,000-digit integer": '{"type": "read", "chat_id": "c", "seq": ' + "9" * 5000 + "}",
    "type as a list": '{"type": ["send"]}',
    "type as an object": '{"type": {"send": 1}}',
    "type null": '{"type": null}',
    "a long unknown type": json.dumps({"type": "x" * 10_000}),
    "a lone surrogate in the type": '{"type": "\\ud800"}',
    "a lone surrogate in a chat id": '{"chat_id": "\\udfff", "text": "hi"}',
    "a lone surrogate in a voice frame": '{"type": "call_start", "chat_id": "\\ud800"}',
    "resume with an empty chat id": '{"type": "resume", "chats": {"": 0}}',
    "resume with a huge chat id": json.dumps({"type": "resume", "chats": {"c" * 5000: 0}}),
    "resume with a huge sequence number": json.dumps({"type": "resume", "chats": {"c": 10**40}}),
    "send with a list chat id": json.dumps({"chat_id": ["c"], "text": "hi"}),
    "send with a huge chat id": json.dumps({"chat_id": "c" * 5000, "text": "hi"}),
    "send with an object text": json.dumps({"chat_id": "c", "text": {"a": 1}}),
    "typing with a number chat id": json.dumps({"type": "typing", "chat_id": 7}),
    "typing with a huge chat id": json.dumps({"type": "typing", "chat_id": "c" * 5000}),
    "read with a string seq": json.dumps({"type": "read", "chat_id": "c", "seq": "1"}),
    "read with a huge chat id": json.dumps({"type": "read", "chat_id": "c" * 5000, "seq": 1}),
    "read with a float seq": json.dumps({"type": "read", "chat_id": "c", "seq": 1.5}),
    "call_accept with list ids": json.dumps(
        {"type": "call_accept", "chat_id": ["c"], "call_id": {}}
    ),
    "ptt_start with a number format": json.dumps(
        {"type": "ptt_start", "chat_id": "c", "format": 3}
    ),
    "ptt_audio with bad base64": json.dumps({"type": "ptt_audio", "chat_id": "c", "data": "%%%"}),
    "not JSON": "hello",
    "whitespace": " ",
    "a JSON string": '"ping"',
}


def _error_frame(output: dict) -> dict:
    assert output["type"] == "websocket.send", output
    # Whatever the client sent, what comes back is valid UTF-8 JSON.
    output["text"].encode("utf-8")
    frame = json.loads(output["text"])
    assert set(frame) >= {"error"}, frame
    return frame


@pytest.mark.parametrize("raw", MALFORMED_TEXT_FRAMES.values(), ids=MALFORMED_TEXT_FRAMES.keys())
async def test_every_malformed_frame_gets_an_error_and_the_socket_lives(sockets, raw):
    user = await run_blocking(user_create)()
    socket = await sockets.open(user)
    await socket.communicator.send_to(text_data=raw)
    frame = _error_frame(await socket.receive_output(timeout=5))
    # Client text is never echoed back beyond a short, plain frame type.
    assert len(json.dumps(frame)) < 300
    await socket.ping()


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe\xfd", b'{"type": "ping"', b"{\xff}", b'{"a": ' + b"[" * 100_000],
    ids=["not audio, not UTF-8", "truncated JSON", "invalid UTF-8 JSON", "deep nesting"],
)
async def test_malformed_binary_frames_get_an_error_and_the_socket_lives(sockets, raw):
    user = await run_blocking(user_create)()
    socket = await sockets.open(user)
    await socket.communicator.send_to(bytes_data=raw)
    _error_frame(await socket.receive_output(timeout=5))
    await socket.ping()


async def test_an_unexpected_failure_in_a_handler_is_answered_and_the_socket_lives(
    sockets, monkeypatch
):
    from apps.realtime.chat_handlers import ChatHandlers

    async def broken(self, frame):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ChatHandlers, "on_typing", broken)
    user = await run_blocking(user_create)()
    socket = await sockets.open(user)
    await socket.send({"type": "typing", "chat_id": "c"})
    assert await socket.frame() == {"error": "Something went wrong; try again"}
    await socket.ping()


async def test_an_unknown_socket_path_is_refused_at_the_handshake():
    communicator = WebsocketCommunicator(application, "/api/ws/nothing-here")
    connected, _ = await communicator.connect(timeout=5)
    assert connected is False


async def test_voice_frames_with_oversized_ids_are_refused_without_echoing_them(sockets):
    user = await run_blocking(user_create)()
    socket = await sockets.open(user)
    for kind in ("call_start", "call_status", "ptt_start", "ptt_stop"):
        await socket.send({"type": kind, "chat_id": "c" * 5000})
        assert await socket.frame() == {"error": "chat_id must be at most 64 characters"}
    await socket.send({"type": "call_accept", "chat_id": "c", "call_id": "k" * 5000})
    frame = await socket.frame()
    assert frame == {"error": "call_id must be at most 64 characters", "chat_id": "c"}
    await socket.ping()

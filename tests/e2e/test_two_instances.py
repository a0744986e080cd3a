"""Two Daphne processes on one Redis deliver to each other's users."""

import asyncio
import json
from types import SimpleNamespace

import pytest
import websockets

from tests.support.daphne import daphne_running
from tests.support.http import http_post, signup
from tests.support.fake_openai import FakeOpenAI


@pytest.fixture
def translator():
    server = FakeOpenAI()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def two_instances(dynamo_tables, translator):
    """Two Daphne processes; Ana (Spanish) signed up on the first, Bob (English) on the
    second, and their 1:1 chat. Yields the socket URL of each person's instance too."""
    environment = {
        "DYNAMODB_TABLE_PREFIX": dynamo_tables,
        "OPENAI_BASE_URL": translator.base_url,
        "OPENAI_API_KEY": "test-key",
    }
    with daphne_running(environment) as first, daphne_running(environment) as second:
        ana = signup(first.url, "ana", "es")
        bob = signup(second.url, "bob", "en")
        chat_id = http_post(first.url, "/api/chats", {"username": "bob"}, token=ana)["chat_id"]
        yield SimpleNamespace(
            chat_id=chat_id,
            ana_socket_url=f"{first.url.replace('http', 'ws')}/api/ws/chat?token={ana}",
            bob_socket_url=f"{second.url.replace('http', 'ws')}/api/ws/chat?token={bob}",
        )


def test_users_on_different_instances_chat_through_redis(two_instances):
    chat_id = two_instances.chat_id

    async def converse():
        async with websockets.connect(two_instances.ana_socket_url) as ana_socket, \
                websockets.connect(two_instances.bob_socket_url) as bob_socket:
            await bob_socket.send(json.dumps({"chat_id": chat_id, "text": "Good morning"}))
            received = await _first_message(ana_socket)
            assert received["message"]["text"] == "[es] Good morning"
            assert received["message"]["language"] == "es"
            await ana_socket.send(json.dumps({"chat_id": chat_id, "text": "Buenos días"}))
            received = await _first_message(bob_socket, skip_seq=1)
            assert received["message"]["text"] == "[en] Buenos días"

    asyncio.run(converse())


async def _first_message(socket, skip_seq: int | None = None) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if frame.get("type") == "message" and frame["message"]["seq"] != skip_seq:
            return frame


def test_both_people_writing_at_once_on_two_instances_lose_nothing(two_instances):
    """Each instance keeps its own copy of the chat (apps/chats/chat_snapshots.py); the
    other instance's messages make it stale, and the commit's conditions must still give
    every message its own place, in both people's order, seen alike by both."""
    chat_id = two_instances.chat_id
    rounds = 10

    async def converse():
        async with websockets.connect(two_instances.ana_socket_url) as ana_socket, \
                websockets.connect(two_instances.bob_socket_url) as bob_socket:
            for n in range(rounds):
                await ana_socket.send(json.dumps({"chat_id": chat_id, "text": f"ana {n}"}))
                await bob_socket.send(json.dumps({"chat_id": chat_id, "text": f"bob {n}"}))
            return await asyncio.gather(
                _messages(ana_socket, 2 * rounds), _messages(bob_socket, 2 * rounds)
            )

    ana_sees, bob_sees = asyncio.run(converse())

    for seen in (ana_sees, bob_sees):
        assert [frame["message"]["seq"] for frame in seen] == list(range(1, 2 * rounds + 1))
    assert [f["message"]["message_id"] for f in ana_sees] == [f["message"]["message_id"] for f in bob_sees]
    originals = [frame["message"]["original_text"] for frame in ana_sees]
    assert [text for text in originals if text.startswith("ana")] == [f"ana {n}" for n in range(rounds)]
    assert [text for text in originals if text.startswith("bob")] == [f"bob {n}" for n in range(rounds)]
    assert all(
        frame["message"]["text"] == f"[es] {frame['message']['original_text']}"
        for frame in ana_sees
        if frame["message"]["original_text"].startswith("bob")
    )


async def _messages(socket, count: int) -> list[dict]:
    messages = []
    while len(messages) < count:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 15))
        if frame.get("type") == "message":
            messages.append(frame)
    return messages

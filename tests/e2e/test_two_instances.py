"""Two Daphne processes on one Redis deliver to each other's users."""

import asyncio
import json

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


def test_users_on_different_instances_chat_through_redis(dynamo_tables, translator):
    environment = {
        "DYNAMODB_TABLE_PREFIX": dynamo_tables,
        "OPENAI_BASE_URL": translator.base_url,
        "OPENAI_API_KEY": "test-key",
    }
    with daphne_running(environment) as first, daphne_running(environment) as second:
        ana = signup(first.url, "ana", "es")
        bob = signup(second.url, "bob", "en")
        chat_id = http_post(first.url, "/api/chats", {"username": "bob"}, token=ana)["chat_id"]

        async def converse():
            ws_first = first.url.replace("http", "ws")
            ws_second = second.url.replace("http", "ws")
            async with websockets.connect(f"{ws_first}/api/ws/chat?token={ana}") as ana_socket, \
                    websockets.connect(f"{ws_second}/api/ws/chat?token={bob}") as bob_socket:
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

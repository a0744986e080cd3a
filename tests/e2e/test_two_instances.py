"""Two Daphne processes on one Redis deliver to each other's users."""

import asyncio
import json
import time
from types import SimpleNamespace

import pytest
import websockets

from tests.support.commands import manage_py
from tests.support.daphne import daphne_running
from tests.support.http import http_json, http_post, signup
from tests.support.servers import child_environment


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
            first_url=first.url,
            second_url=second.url,
            ana_token=ana,
            bob_token=bob,
            ana_socket_url=f"{first.url.replace('http', 'ws')}/api/ws/chat?token={ana}",
            bob_socket_url=f"{second.url.replace('http', 'ws')}/api/ws/chat?token={bob}",
        )


def test_users_on_different_instances_chat_through_redis(two_instances):
    chat_id = two_instances.chat_id

    async def converse():
        async with (
            websockets.connect(two_instances.ana_socket_url) as ana_socket,
            websockets.connect(two_instances.bob_socket_url) as bob_socket,
        ):
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
    every message its own place, in both people's order, seen alike by both. Each socket gets
    every message once; the two instances publish independently, so a socket new to the
    chat may get its first messages out of order (apps/realtime/delivery.py), never lose one."""
    chat_id = two_instances.chat_id
    rounds = 10

    async def converse():
        async with (
            websockets.connect(two_instances.ana_socket_url) as ana_socket,
            websockets.connect(two_instances.bob_socket_url) as bob_socket,
        ):
            for n in range(rounds):
                await ana_socket.send(json.dumps({"chat_id": chat_id, "text": f"ana {n}"}))
                await bob_socket.send(json.dumps({"chat_id": chat_id, "text": f"bob {n}"}))
            return await asyncio.gather(
                _messages(ana_socket, 2 * rounds), _messages(bob_socket, 2 * rounds)
            )

    ana_sees, bob_sees = asyncio.run(converse())
    ana_sees, bob_sees = (
        sorted(seen, key=lambda f: f["message"]["seq"]) for seen in (ana_sees, bob_sees)
    )

    for seen in (ana_sees, bob_sees):
        assert [frame["message"]["seq"] for frame in seen] == list(range(1, 2 * rounds + 1))
    assert [f["message"]["message_id"] for f in ana_sees] == [
        f["message"]["message_id"] for f in bob_sees
    ]
    originals = [frame["message"]["original_text"] for frame in ana_sees]
    assert [text for text in originals if text.startswith("ana")] == [
        f"ana {n}" for n in range(rounds)
    ]
    assert [text for text in originals if text.startswith("bob")] == [
        f"bob {n}" for n in range(rounds)
    ]
    assert all(
        frame["message"]["text"] == f"[es] {frame['message']['original_text']}"
        for frame in ana_sees
        if frame["message"]["original_text"].startswith("bob")
    )


async def _messages(socket, count: int) -> list[dict]:
    messages = []
    while len(messages) < count:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 15))
        assert "error" not in frame, frame
        if frame.get("type") == "message":
            messages.append(frame)
    return messages


# --- Revocation reaches every instance --------------------------------------------------------

REVOKED_WITHIN_SECONDS = 1.0


def _socket_url(base: str, token: str) -> str:
    return f"{base.replace('http', 'ws')}/api/ws/chat?token={token}"


async def _close_time(socket) -> tuple[int, float]:
    """The close code and when it arrived (time.monotonic), skipping any frames before it."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), 30)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None, time.monotonic()


@pytest.mark.parametrize("revoke", ["logout_all", "user_disable", "user_reset_password"])
def test_revocation_closes_the_users_sockets_on_both_instances_within_a_second(
    two_instances, dynamo_tables, revoke
):
    instances = two_instances
    ana_token = instances.ana_token

    def revoke_now() -> float:
        if revoke == "logout_all":
            status, body = http_json(
                instances.second_url, "POST", "/api/auth/logout_all", token=ana_token
            )
            assert (status, body) == (200, {"logged_out": True})
        else:
            # As an operator would: manage.py in a process of its own.
            arguments = [revoke, "ana"] + (
                ["--password-stdin"] if revoke == "user_reset_password" else []
            )
            result = manage_py(
                *arguments,
                environment=child_environment({"DYNAMODB_TABLE_PREFIX": dynamo_tables}),
                stdin="a brand new passphrase\n",
            )
            assert result.returncode == 0, result.stderr
        return time.monotonic()

    async def scenario():
        async with (
            websockets.connect(_socket_url(instances.first_url, ana_token)) as on_first,
            websockets.connect(_socket_url(instances.second_url, ana_token)) as on_second,
            websockets.connect(instances.bob_socket_url) as bob_socket,
        ):
            for socket in (on_first, on_second):
                await socket.send(json.dumps({"type": "ping"}))
                assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {"type": "pong"}
            closes = [asyncio.ensure_future(_close_time(s)) for s in (on_first, on_second)]
            revoked_at = await asyncio.to_thread(revoke_now)
            for code, closed_at in await asyncio.gather(*closes):
                assert code == 1008
                assert closed_at - revoked_at <= REVOKED_WITHIN_SECONDS
            # Someone else's socket is untouched.
            await bob_socket.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(bob_socket.recv(), 10)) == {"type": "pong"}

    asyncio.run(scenario())
    # The old token is dead everywhere.
    for base in (instances.first_url, instances.second_url):
        assert http_json(base, "GET", "/api/auth/me", token=ana_token)[0] == 401

"""Chat sockets while the Redis under them is down: frames answer an error and the socket
stays open, handshakes close with 4503, closing is quiet. The Redis is a real server of the
test's own, killed while the sockets use it."""

from __future__ import annotations

import logging
import time

import pytest
import redis

from apps.chats import services
from apps.core.concurrency import run_blocking
from apps.core.keyvalue import REDIS_COMMAND_TIMEOUT_SECONDS, SOCKET_LEASE_KEY_PREFIX
from apps.core.outages import UNAVAILABLE_DETAIL, UNAVAILABLE_RETRY_AFTER_SECONDS
from tests.support.accounts import user_create, user_token


@pytest.fixture
def layer_redis(settings, faulty_redis):
    """The channel layer (only) on a Redis of this test's own."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": settings.REDIS_CHANNEL_LAYERS[settings.REDIS_CHANNEL_LAYER],
            "CONFIG": {"hosts": [faulty_redis.url]},
        }
    }
    return faulty_redis


@pytest.fixture
def all_redis(settings, layer_redis):
    """The channel layer and the key-value store (tickets, limits, socket places) on it."""
    settings.REDIS_URL = layer_redis.url
    return layer_redis


async def _pair():
    ana = await run_blocking(user_create)()
    bob = await run_blocking(user_create)()
    created = await run_blocking(services.chat_direct_create)(user=ana, other_username=bob.username)
    return ana, bob, created.membership.chat_id


def _unavailable(chat_id: str) -> dict:
    return {
        "error": UNAVAILABLE_DETAIL,
        "retry_after": UNAVAILABLE_RETRY_AFTER_SECONDS,
        "chat_id": chat_id,
    }


async def test_typing_and_read_during_a_redis_outage_answer_a_wait_and_the_socket_stays_open(
    all_redis, sockets
):
    ana, _, chat_id = await _pair()
    socket = await sockets.open(ana)
    # Open means accepted; the handshake's own Redis work is done once a frame is answered.
    await socket.send({"chat_id": chat_id, "text": "something to read", "client_msg_id": "m1"})
    await socket.until(lambda frame: frame.get("type") == "ack")

    all_redis.kill()
    await socket.send({"type": "typing", "chat_id": chat_id})
    assert await socket.frame() == _unavailable(chat_id)
    await socket.send({"type": "read", "chat_id": chat_id, "seq": 1})
    assert await socket.frame() == _unavailable(chat_id)

    await socket.ping()


async def test_a_typing_frame_while_redis_is_paused_answers_a_wait_after_the_command_timeout(
    layer_redis, sockets
):
    ana, _, chat_id = await _pair()
    socket = await sockets.open(ana)
    await socket.ping()

    layer_redis.pause()
    started = time.monotonic()
    await socket.send({"type": "typing", "chat_id": chat_id})
    assert await socket.frame(timeout=REDIS_COMMAND_TIMEOUT_SECONDS + 3) == _unavailable(chat_id)
    assert time.monotonic() - started < REDIS_COMMAND_TIMEOUT_SECONDS + 1.5
    await socket.ping()


async def test_a_handshake_while_redis_is_down_closes_with_4503(all_redis, sockets):
    user = await run_blocking(user_create)()
    all_redis.kill()

    # Channels asks the layer for the socket's channel before the consumer runs: that must
    # not fail the handshake with a 500.
    socket, _, _ = await sockets.attempt(f"?token={user_token(user)}")

    assert await socket.close_code() == 4503


async def test_a_handshake_whose_group_join_fails_closes_with_4503_and_gives_its_place_back(
    settings, layer_redis, sockets
):
    user = await run_blocking(user_create)()
    layer_redis.kill()

    # The key-value store (on the suite's Redis) gives the socket its place; joining the
    # user's group on the layer's Redis fails.
    socket, _, _ = await sockets.attempt(f"?token={user_token(user)}")
    assert await socket.close_code() == 4503
    await socket.close()

    store = redis.Redis.from_url(settings.REDIS_URL)
    try:
        assert store.zcard(f"{SOCKET_LEASE_KEY_PREFIX}{user.user_id}") == 0
    finally:
        store.close()


async def test_closing_a_socket_while_redis_is_down_is_quiet(all_redis, sockets, caplog):
    user = await run_blocking(user_create)()
    socket = await sockets.open(user)
    await socket.ping()
    all_redis.kill()

    with caplog.at_level(logging.WARNING):
        await socket.close()

    # Leaving the group and giving the place back both fail: a warning each, no traceback.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert socket.communicator.future.done() and socket.communicator.future.exception() is None

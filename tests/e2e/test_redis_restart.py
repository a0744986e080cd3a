"""Sockets outlive a Redis restart: Daphne serving two people in a chat, the redis-server under
it killed and started again (empty) on the same port, and live delivery resumes on the same
sockets without the clients reconnecting."""

import asyncio
import json
import time

import redis
import websockets

from apps.core.outages import UNAVAILABLE_DETAIL, UNAVAILABLE_RETRY_AFTER_SECONDS
from apps.realtime.protocol import CloseCode
from tests.support.daphne import daphne_running
from tests.support.http import http_post, signup

# The layer retries at least every second; this leaves room for a loaded machine.
RESUBSCRIBED_WITHIN_SECONDS = 5.0
LIVE_WITHIN_SECONDS = 3.0
# Long enough for the layer to have found its connection gone.
OUTAGE_SECONDS = 1.5


async def _frame(socket, predicate, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(
            await asyncio.wait_for(socket.recv(), max(0.01, deadline - time.monotonic()))
        )
        if predicate(frame):
            return frame


async def _pong(socket) -> None:
    await socket.send(json.dumps({"type": "ping"}))
    await _frame(socket, lambda frame: frame.get("type") == "pong")


async def _close_code(url: str) -> int | None:
    async with websockets.connect(url) as socket:
        try:
            await asyncio.wait_for(socket.recv(), 5)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("the socket was not closed")


def _user_groups_subscribed(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return len(client.pubsub_channels("asgi__group__user.*"))
    finally:
        client.close()


def test_live_delivery_resumes_on_the_same_sockets_after_redis_restarts(
    dynamo_tables, faulty_redis
):
    environment = {"DYNAMODB_TABLE_PREFIX": dynamo_tables, "REDIS_URL": faulty_redis.url}
    with daphne_running(environment) as daphne:
        ana = signup(daphne.url, "ana", "en")
        bob = signup(daphne.url, "bob", "en")
        chat_id = http_post(daphne.url, "/api/chats", {"username": "bob"}, token=ana)["chat_id"]
        socket_url = f"{daphne.url.replace('http', 'ws')}/api/ws/chat?token="

        async def converse() -> dict:
            async with (
                websockets.connect(socket_url + ana) as ana_socket,
                websockets.connect(socket_url + bob) as bob_socket,
            ):
                await _pong(ana_socket)
                await _pong(bob_socket)

                faulty_redis.kill()
                # A frame that needs Redis is answered with a wait; the socket stays open.
                await bob_socket.send(json.dumps({"type": "typing", "chat_id": chat_id}))
                assert await _frame(bob_socket, lambda frame: "error" in frame) == {
                    "error": UNAVAILABLE_DETAIL,
                    "retry_after": UNAVAILABLE_RETRY_AFTER_SECONDS,
                    "chat_id": chat_id,
                }
                # A socket opened a moment later (another tab) is refused with a code clients
                # retry on, not an HTTP 500.
                await asyncio.sleep(OUTAGE_SECONDS)
                assert await _close_code(socket_url + bob) == CloseCode.TRY_AGAIN_LATER
                await _pong(bob_socket)
                await _pong(ana_socket)

                faulty_redis.restart()
                restarted = time.monotonic()
                # The new Redis knows no subscription: Daphne's layer makes both users'
                # again by itself.
                while _user_groups_subscribed(faulty_redis.url) < 2:
                    assert time.monotonic() - restarted < RESUBSCRIBED_WITHIN_SECONDS
                    await asyncio.sleep(0.05)
                resubscribed_after = time.monotonic() - restarted

                await ana_socket.send(
                    json.dumps(
                        {"chat_id": chat_id, "text": "after the restart", "client_msg_id": "r1"}
                    )
                )
                ack = await _frame(ana_socket, lambda frame: frame.get("client_msg_id") == "r1")
                assert ack["type"] == "ack", ack
                live = await _frame(
                    bob_socket,
                    lambda frame: frame.get("type") == "message",
                    timeout=LIVE_WITHIN_SECONDS,
                )
                assert live["message"]["original_text"] == "after the restart"
                assert live["message"]["seq"] == ack["seq"]
                return {"resubscribed_after": resubscribed_after}

        measured = asyncio.run(converse())
    assert measured["resubscribed_after"] < RESUBSCRIBED_WITHIN_SECONDS

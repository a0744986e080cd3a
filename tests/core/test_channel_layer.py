"""The channel layers (apps/core/channel_layer.py) against a real redis-server of the test's
own that is killed, paused and restarted on the same port while the layer is in use."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import redis.exceptions

from apps.core.channel_layer import ReconnectingPubSubChannelLayer, ReconnectingRedisChannelLayer
from apps.core.keyvalue import REDIS_COMMAND_TIMEOUT_SECONDS

LAYERS = {"pubsub": ReconnectingPubSubChannelLayer, "core": ReconnectingRedisChannelLayer}
# Live delivery resumes this soon after Redis is back (the layer retries at least every 1 s).
RESUMES_WITHIN_SECONDS = 5.0
# Long enough for the layer to notice the outage and retry a few times.
OUTAGE_SECONDS = 1.5


@pytest.fixture(autouse=True)
def dynamo_tables():
    # Overrides the suite's fixture: these tests use no tables.
    yield None


@pytest.fixture(params=list(LAYERS))
async def layer(request, faulty_redis):
    layer = LAYERS[request.param](hosts=[faulty_redis.url])
    yield layer
    await _closed(layer)


async def _closed(layer) -> None:
    """Closes the layer's connections (and its pub/sub receive loop)."""
    if isinstance(layer, ReconnectingPubSubChannelLayer):
        await layer.flush()
    else:
        await layer.close_pools()


class Receiver:
    """Receives from one channel for as long as the test runs, as a consumer does."""

    def __init__(self, layer, channel: str) -> None:
        self.messages: asyncio.Queue = asyncio.Queue()
        self.task = asyncio.ensure_future(self._run(layer, channel))

    async def _run(self, layer, channel: str) -> None:
        while True:
            self.messages.put_nowait(await layer.receive(channel))

    def alive(self) -> bool:
        if self.task.done():
            raise AssertionError(f"the receive ended: {self.task.exception()!r}")
        return True

    def received(self) -> list[dict]:
        taken = []
        while not self.messages.empty():
            taken.append(self.messages.get_nowait())
        return taken

    def stop(self) -> None:
        self.task.cancel()


@pytest.fixture
async def receivers():
    started: list[Receiver] = []

    def start(layer, channel: str) -> Receiver:
        receiver = Receiver(layer, channel)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()
    await asyncio.gather(*(receiver.task for receiver in started), return_exceptions=True)


async def _group_delivery_resumes(layer, group: str, receiver: Receiver) -> float:
    """Sends to `group` every 0.1 s until `receiver` gets one; the seconds that took. Pub/sub
    keeps nothing for a subscriber that is not there yet, hence the repeats. A send that
    raises fails the test: Redis is up."""
    started = time.monotonic()
    number = 0
    while time.monotonic() - started < RESUMES_WITHIN_SECONDS:
        await layer.group_send(group, {"type": "probe", "n": number})
        number += 1
        try:
            message = await asyncio.wait_for(receiver.messages.get(), 0.1)
        except TimeoutError:
            receiver.alive()
            continue
        assert message["type"] == "probe"
        return time.monotonic() - started
    raise AssertionError(f"nothing reached the group within {RESUMES_WITHIN_SECONDS} s")


async def test_a_receive_outlives_a_redis_restart_and_group_messages_flow_again(
    layer, faulty_redis, receivers, caplog
):
    channel = await layer.new_channel()
    await layer.group_add("chat", channel)
    receiver = receivers(layer, channel)
    await _group_delivery_resumes(layer, "chat", receiver)

    faulty_redis.kill()
    await asyncio.sleep(OUTAGE_SECONDS)
    assert receiver.alive()
    faulty_redis.restart()

    # The restarted Redis knows no subscription and no group: the layer makes them again.
    assert await _group_delivery_resumes(layer, "chat", receiver) < RESUMES_WITHIN_SECONDS
    # One line when Redis went and one when it came back: no traceback per retry.
    outage_lines = [
        r
        for r in caplog.records
        if r.name.startswith(("apps.core.channel_layer", "channels_redis"))
    ]
    assert [r.levelno for r in outage_lines] == [logging.WARNING, logging.WARNING], outage_lines
    assert not any(r.exc_info for r in outage_lines)


async def test_the_first_send_after_a_restart_retries_its_stale_connection(layer, faulty_redis):
    await layer.send("specific.probe!nobody", {"type": "probe"})
    faulty_redis.restart()
    # The pooled connection from before the restart fails on first use ("Connection closed
    # by server"); the send tries once more on a fresh one.
    await layer.send("specific.probe!nobody", {"type": "probe"})
    await layer.group_send("nobody", {"type": "probe"})


async def test_a_send_while_redis_is_down_raises_for_the_caller_to_decide(layer, faulty_redis):
    await layer.send("specific.probe!nobody", {"type": "probe"})
    faulty_redis.kill()
    with pytest.raises(redis.exceptions.ConnectionError):
        await layer.group_send("nobody", {"type": "probe"})


async def test_channels_and_groups_asked_for_while_redis_is_down_are_live_once_it_returns(
    layer, faulty_redis, receivers
):
    faulty_redis.kill()
    # Channels asks for a consumer's channel before the consumer's code runs: no error here.
    channel = await layer.new_channel()
    # A group join says it is not live yet, so a caller can refuse the socket...
    with pytest.raises(redis.exceptions.ConnectionError):
        await layer.group_add("chat", channel)
    receiver = receivers(layer, channel)
    await asyncio.sleep(OUTAGE_SECONDS)
    faulty_redis.restart()

    # ...and the layer still makes both once Redis is back.
    await _group_delivery_resumes(layer, "chat", receiver)


async def test_a_group_left_while_redis_is_down_is_not_joined_again(layer, faulty_redis, receivers):
    staying, leaving = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("kept", staying)
    await layer.group_add("left", leaving)
    staying_receiver, leaving_receiver = receivers(layer, staying), receivers(layer, leaving)
    await _group_delivery_resumes(layer, "kept", staying_receiver)

    faulty_redis.kill()
    await asyncio.sleep(0.3)
    # A socket closing during the outage: leaving its group does not raise.
    await layer.group_discard("left", leaving)
    faulty_redis.restart()
    await _group_delivery_resumes(layer, "kept", staying_receiver)

    await layer.group_send("left", {"type": "probe"})
    await layer.group_send("kept", {"type": "last"})
    assert (await asyncio.wait_for(staying_receiver.messages.get(), 2))["type"] == "last"
    assert leaving_receiver.received() == []
    if isinstance(layer, ReconnectingPubSubChannelLayer):
        # redis-py on its own would subscribe again to a group whose UNSUBSCRIBE failed.
        assert faulty_redis.subscribers("asgi__group__kept", "asgi__group__left") == {
            "asgi__group__kept": 1,
            "asgi__group__left": 0,
        }


async def test_a_send_to_a_paused_redis_gives_up_after_the_command_timeout(faulty_redis):
    layer = ReconnectingPubSubChannelLayer(hosts=[faulty_redis.url])
    await layer.send("specific.probe!nobody", {"type": "probe"})
    faulty_redis.pause()

    async def send_timed() -> float:
        started = time.monotonic()
        with pytest.raises(redis.exceptions.TimeoutError):
            await asyncio.wait_for(layer.group_send("chat", {"type": "probe"}), 20)
        return time.monotonic() - started

    # Three sockets' frames at once: each gives up after the timeout, none queues behind
    # another (channels-redis held its shard lock for each: 5, 10 and 15 s).
    waited = await asyncio.gather(send_timed(), send_timed(), send_timed())
    assert max(waited) < REDIS_COMMAND_TIMEOUT_SECONDS + 1.5, waited
    faulty_redis.resume()
    await layer.send("specific.probe!nobody", {"type": "probe"})
    await _closed(layer)


async def test_a_readiness_probe_that_fails_during_an_outage_leaves_no_subscription_behind(
    settings, faulty_redis
):
    from channels.layers import get_channel_layer

    from apps.core.selectors import channel_layer_readiness

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": settings.REDIS_CHANNEL_LAYERS["pubsub"],
            "CONFIG": {"hosts": [faulty_redis.url]},
        }
    }
    assert await channel_layer_readiness() is None
    faulty_redis.kill()
    assert await channel_layer_readiness() == "ConnectionError"
    faulty_redis.restart()

    # A probe every few seconds for the length of an outage must not leave a subscription
    # each, to be made again after every reconnect.
    layer = get_channel_layer()
    channel = await layer.new_channel()
    deadline = time.monotonic() + RESUMES_WITHIN_SECONDS
    while faulty_redis.subscribers(channel)[channel] == 0:
        assert time.monotonic() < deadline, "the layer did not subscribe again"
        await asyncio.sleep(0.05)
    assert _pubsub_channels(faulty_redis) == [channel]
    await layer.flush()


def _pubsub_channels(faulty_redis) -> list[str]:
    client = redis.Redis.from_url(faulty_redis.url, decode_responses=True)
    try:
        return client.pubsub_channels()
    finally:
        client.close()


async def test_an_idle_core_layer_receive_outlives_the_blocking_pop(
    faulty_redis, receivers, caplog
):
    layer = ReconnectingRedisChannelLayer(hosts=[faulty_redis.url])
    channel = await layer.new_channel()
    receiver = receivers(layer, channel)
    # BZPOPMIN blocks for brpop_timeout (5 s); under redis-py 8's default 5 s socket timeout
    # its read timed out instead, and every socket idle that long closed.
    await asyncio.sleep(layer.brpop_timeout + 1)

    assert receiver.alive()
    assert not [r for r in caplog.records if r.name == "apps.core.channel_layer"]
    await layer.send(channel, {"type": "probe"})
    assert (await asyncio.wait_for(receiver.messages.get(), 2))["type"] == "probe"
    await _closed(layer)

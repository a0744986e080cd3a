"""The Redis channel layers (settings.REDIS_CHANNEL_LAYERS), made to ride out Redis going
down, pausing or restarting, so that sockets outlive it and live delivery resumes by itself.

What channels-redis 4.3.0 with redis-py 8.1.0 does when the redis-server under it is killed
and restarted on the same port (measured; tests/core/test_channel_layer.py):

- pub/sub: redis-py's PubSub subscribes again, on its new connection, to what it had
  subscribed before, but a subscription attempted while Redis was down (a new socket's
  channel, a group join) raised and was never made: Channels asks for a socket's channel
  before any code of ours runs, so the handshake failed with HTTP 500. An unsubscribe during
  the outage raised too (a socket's disconnect) and was subscribed again on reconnect. The
  receive loop logged a traceback every second. The first PUBLISH after Redis came back
  failed on the pooled connection from before ("Connection closed by server"). With Redis
  paused, publishes queued on the shard's lock, each waiting out redis-py's 5 s socket
  timeout in turn (three at once gave up after 5, 10 and 15 s).
- core: a consumer's receive (BZPOPMIN) raised ConnectionError, which ends the consumer and
  closes its socket; and a restarted Redis has forgotten every group membership. Even with
  Redis up, an idle receive raised TimeoutError after 5 s: BZPOPMIN waits 5 s, and so does
  redis-py 8's default socket timeout, so every socket quiet for 5 s closed.

Here a layer keeps what this process wants subscribed (channels and groups) apart from what
the current connection has, and after any connection failure makes a new connection match
the wanted set, retrying until Redis answers. Receiving never raises an outage out to
Channels (a consumer waits instead of dying); subscribing during an outage records the wish
(a group join still raises, so the caller knows it is not live yet); unsubscribing never
raises; a send retries once on a connection error, then raises for the caller to decide.
Messages published while a subscriber was disconnected are gone (pub/sub keeps none): a
client's `resume` covers that gap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import redis.exceptions
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, create_pool, decode_hosts

from apps.core.backoff import Backoff
from apps.core.keyvalue import REDIS_COMMAND_TIMEOUT_SECONDS, REDIS_CONNECT_TIMEOUT_SECONDS

logger = logging.getLogger(__name__)

REDIS_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# After a connection failure the layer tries again this soon, doubling up to the maximum;
# a new subscription (a socket connecting) makes it try at once.
RECONNECT_FIRST_WAIT_SECONDS = 0.1
RECONNECT_MAX_WAIT_SECONDS = 1.0


def _reconnect_backoff() -> Backoff:
    return Backoff(
        first_seconds=RECONNECT_FIRST_WAIT_SECONDS, max_seconds=RECONNECT_MAX_WAIT_SECONDS
    )


# How long the pub/sub receive loop waits for a message before looking at its state again.
RECEIVE_POLL_SECONDS = 0.1
# Publishes under way at once per Redis host and event loop.
PUBLISHES_AT_ONCE = 4


def _with_connect_timeout(host: dict) -> dict:
    """A host's connection settings: a bounded connect, and no socket timeout. Explicit
    settings win.

    Commands get their deadline from `_answered` instead. redis-py 8 reads and writes with a
    5 s socket timeout by default, and with one set it sends every command inside
    asyncio.wait_for, which on Python 3.11 can swallow a cancellation: a core-layer receive,
    cancelled (as Channels does when a socket closes) while it sent a command, carried on
    waiting in BZPOPMIN (measured). The same 5 s cut BZPOPMIN's own 5 s wait short."""
    return {"socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS, "socket_timeout": None, **host}


async def _answered(command):
    """Awaits a Redis command, or raises redis's TimeoutError (an outage, to
    apps/core/outages.py) if Redis has not answered within the command timeout. redis-py
    closes a connection whose command was interrupted, so none is reused half-read."""
    try:
        async with asyncio.timeout(REDIS_COMMAND_TIMEOUT_SECONDS):
            return await command
    except TimeoutError:
        raise redis.exceptions.TimeoutError(
            f"Redis did not answer within {REDIS_COMMAND_TIMEOUT_SECONDS} s"
        ) from None


async def _retrying_once(send, *args):
    try:
        return await _answered(send(*args))
    except redis.exceptions.ConnectionError:
        # A pooled connection from before a Redis restart fails on first use; a second try,
        # on a fresh connection, tells a stale connection from Redis being down.
        return await _answered(send(*args))


class _Outage:
    """Logs an outage once when it starts and once when it ends, not every retry."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.since: float | None = None

    def began(self, error: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            logger.warning(
                "%s: Redis is unavailable (%s); reconnecting", self.what, type(error).__name__
            )

    def ended(self, detail: str) -> None:
        if self.since is not None:
            logger.warning(
                "%s: Redis is back after %.1f s; %s",
                self.what,
                time.monotonic() - self.since,
                detail,
            )
            self.since = None


# --- Pub/sub (the default) ---------------------------------------------------------------------


class ReconnectingPubSubChannelLayer(RedisPubSubChannelLayer):
    def _get_layer(self):
        # As channels-redis does, one layer per event loop; ours instead of its own.
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _PubSubLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer


class _PubSubLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, *args, **kwargs) -> None:
        super().__init__(hosts, *args, **kwargs)
        self._shards = [
            _PubSubShard(_with_connect_timeout(host), self) for host in decode_hosts(hosts)
        ]

    async def _subscribe_to_channel(self, channel):
        # Used by new_channel(), which Channels calls before a consumer's own code runs: an
        # outage here would fail the handshake with HTTP 500, before the consumer can close it
        # with a code the client retries on. The shard subscribes the channel once Redis is
        # back.
        self.channels[channel] = asyncio.Queue()
        try:
            await self._get_shard(channel).subscribe(channel)
        except REDIS_UNAVAILABLE:
            pass

    async def send(self, channel, message):
        await _retrying_once(super().send, channel, message)

    async def group_send(self, group, message):
        await _retrying_once(super().group_send, group, message)


class _PubSubShard(RedisSingleShardConnection):
    """One Redis host's connection. `_subscribed_to` is what this process wants subscribed;
    `_live` what the current PubSub connection has subscribed; `_stale` says that connection
    failed, so the receive loop replaces it and subscribes everything wanted on the new one."""

    def __init__(self, host, channel_layer) -> None:
        super().__init__(host, channel_layer)
        self._pubsub: Any = None  # channels-redis's connection: untyped
        self._live: set[str] = set()
        self._stale = False
        self._retry_now = asyncio.Event()
        self._outage = _Outage("channel layer (pub/sub)")
        self._publishing = asyncio.Semaphore(PUBLISHES_AT_ONCE)

    async def publish(self, channel, message):
        # Not the subscriptions' lock (channels-redis takes it): a slow publish must not hold
        # up subscriptions. But a few at a time: unbounded, a burst of broadcasts opened a
        # pool connection each and cut throughput at 75 msg/s by a fifth (bench/chat_load.py).
        # The wait counts against the caller's command timeout (`_answered`).
        self._ensure_redis()
        async with self._publishing:
            await self._redis.publish(channel, message)

    async def subscribe(self, channel):
        self._subscribed_to.add(channel)
        self._ensure_redis()
        self._ensure_receiver()
        if self._stale:
            self._retry_now.set()
            raise redis.exceptions.ConnectionError(
                "Redis is unavailable; subscribing once it is back"
            )
        await self._sync()

    async def unsubscribe(self, channel):
        self._subscribed_to.discard(channel)
        if self._stale or self._pubsub is None:
            # A connection that failed holds no subscriptions; the next one gets only the
            # wanted ones.
            return
        try:
            await self._sync()
        except REDIS_UNAVAILABLE:
            pass

    async def flush(self):
        await super().flush()
        self._live = set()
        self._stale = False

    async def _sync(self) -> None:
        """Makes the live connection's subscriptions match the wanted ones."""
        async with self._lock:
            try:
                missing = self._subscribed_to - self._live
                if missing:
                    await _answered(self._pubsub.subscribe(*missing))
                    self._live |= missing
                extra = self._live - self._subscribed_to
                if extra:
                    await _answered(self._pubsub.unsubscribe(*extra))
                    self._live -= extra
            except REDIS_UNAVAILABLE as error:
                self._lost(error)
                raise

    def _lost(self, error: BaseException) -> None:
        self._stale = True
        self._outage.began(error)

    async def _reconnect(self) -> None:
        """A new PubSub connection with every wanted subscription; raises while Redis is down."""
        async with self._lock:
            failed, self._pubsub = self._pubsub, self._redis.pubsub()
            self._live = set()
            if failed is not None:
                await failed.aclose()
            # Idle pooled connections from before a restart look open until used: the new
            # PubSub took one and lost it again at once (measured). Fresh ones are opened.
            await self._redis.connection_pool.disconnect(inuse_connections=False)
            # Asked first, so that "back" is true even with nothing to subscribe.
            await _answered(self._redis.ping())
            wanted = set(self._subscribed_to)
            if wanted:
                await _answered(self._pubsub.subscribe(*wanted))
            self._live = wanted
            self._stale = False
        self._outage.ended(f"resubscribed {len(wanted)} channels and groups")

    async def _do_receiving(self):
        backoff = _reconnect_backoff()
        while True:
            try:
                if self._stale:
                    await self._reconnect()
                    backoff.reset()
                if self._pubsub is not None and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=RECEIVE_POLL_SECONDS
                    )
                    self._receive_message(message)
                else:
                    await asyncio.sleep(RECEIVE_POLL_SECONDS)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except REDIS_UNAVAILABLE as error:
                self._lost(error)
                try:
                    async with asyncio.timeout(backoff.wait()):
                        await self._retry_now.wait()
                except TimeoutError:
                    pass
                self._retry_now.clear()
            except Exception:
                logger.exception("channel layer (pub/sub): receiving failed")
                await asyncio.sleep(RECONNECT_MAX_WAIT_SECONDS)


# --- Core (lists and sorted sets; REDIS_CHANNEL_LAYER=core) -----------------------------------


class ReconnectingRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # group -> the channels this process added to it, to add again after Redis restarts
        # (it keeps groups in Redis, and a restarted Redis has none).
        self._memberships: dict[str, set[str]] = {}
        self._recoveries: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}
        self._outage = _Outage("channel layer (core)")

    def create_pool(self, index):
        return create_pool(_with_connect_timeout(self.hosts[index]))

    async def receive(self, channel):
        while True:
            try:
                return await super().receive(channel)
            except REDIS_UNAVAILABLE as error:
                self._outage.began(error)
                await self._recovered()

    async def send(self, channel, message):
        await _retrying_once(super().send, channel, message)

    async def group_send(self, group, message):
        await _retrying_once(super().group_send, group, message)

    async def group_add(self, group, channel):
        self._memberships.setdefault(group, set()).add(channel)
        await _retrying_once(super().group_add, group, channel)

    async def group_discard(self, group, channel):
        members = self._memberships.get(group)
        if members is not None:
            members.discard(channel)
            if not members:
                del self._memberships[group]
        try:
            await _answered(super().group_discard(group, channel))
        except REDIS_UNAVAILABLE:
            # The membership expires with the group (group_expiry), and messages to a channel
            # nobody reads expire; a restarted Redis has neither.
            pass

    async def _recovered(self) -> None:
        """Returns once Redis answers again and this process's groups are restored; every
        receiver in the process waits on the same recovery."""
        loop = asyncio.get_running_loop()
        recovery = self._recoveries.get(loop)
        if recovery is None or recovery.done():
            recovery = self._recoveries[loop] = loop.create_task(self._recover())
        await asyncio.shield(recovery)

    async def _recover(self) -> None:
        backoff = _reconnect_backoff()
        while True:
            await asyncio.sleep(backoff.wait())
            try:
                for index in range(self.ring_size):
                    connection = self.connection(index)
                    # Idle pooled connections from before a restart fail on first use.
                    await connection.connection_pool.disconnect(inuse_connections=False)
                    await _answered(connection.ping())
                memberships = [
                    (group, channel)
                    for group, channels in list(self._memberships.items())
                    for channel in list(channels)
                ]
                for group, channel in memberships:
                    await _answered(super().group_add(group, channel))
            except REDIS_UNAVAILABLE:
                continue
            self._outage.ended(f"restored {len(memberships)} group memberships")
            return

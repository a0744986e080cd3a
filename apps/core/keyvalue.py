"""Small shared state with expiry: rate-limit counters and sliding windows, one-time tickets, voice call and turn
state, leases (how many sockets a user holds open), and presence (who is online, when they
were last seen, and whether anyone watches: apps/accounts/presence.py).

Backed by Redis (`REDIS_URL`) so every instance sees the same counts and a ticket can be used
once across instances; without `REDIS_URL` (development, one process) by process memory.

The conditional operations (`put_if_absent`, `replace_if_value`, `delete_if_value`) are
atomic, so one state change wins when several instances race (apps/voice uses them as locks
and compare-and-set). TTLs may be fractional seconds.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from typing import NamedTuple, Protocol, cast

from django.conf import settings

from apps.core.loop_local import LoopLocal


class KeyValueStore(Protocol):
    async def counter_hit(self, key: str, *, window_seconds: int) -> int: ...

    async def sliding_window_hit(self, key: str, *, limit: int, window_seconds: float) -> float: ...

    async def put(self, key: str, value: str, *, ttl_seconds: int) -> None: ...

    async def take(self, key: str) -> str | None: ...

    async def get(self, key: str) -> str | None: ...

    async def put_if_absent(self, key: str, value: str, *, ttl_seconds: float) -> bool: ...

    async def replace_if_value(
        self, key: str, expected: str, value: str, *, ttl_seconds: float
    ) -> bool: ...

    async def delete_if_value(self, key: str, expected: str) -> bool: ...

    async def delete(self, *keys: str) -> None: ...

    async def lease_acquire(
        self, key: str, holder: str, *, limit: int, ttl_seconds: float
    ) -> bool: ...

    async def lease_renew(self, key: str, holder: str, *, ttl_seconds: float) -> None: ...

    async def lease_release(self, key: str, holder: str) -> None: ...

    async def lease_count(self, key: str) -> int: ...

    async def presence_arrive(self, *, lease_key: str, watchers_key: str) -> tuple[int, bool]: ...

    async def presence_leave(
        self, *, lease_key: str, seen_key: str, watchers_key: str, seen_ttl_seconds: float
    ) -> tuple[int, bool]: ...

    async def presence_look(
        self,
        *,
        targets: list[PresenceTarget],
        watcher: str,
        watch_ttl_seconds: float,
        seen_ttl_seconds: float,
    ) -> list[tuple[int, int | None]]: ...

    async def presence_unwatch(self, *, watchers_keys: list[str], watcher: str) -> None: ...


class PresenceTarget(NamedTuple):
    """One user a socket watches: their keys, and when this watcher last saw them online
    (epoch ms, 0 if never)."""

    watchers_key: str
    lease_key: str
    seen_key: str
    observed_online_ms: int


# Every open chat socket holds a lease in its user's sorted set (apps/realtime/consumers.py):
# at most SOCKETS_PER_USER_MAX per account, and "has this user a socket open on any
# instance" for what is sent only to people who are away (apps/chats/push_notifications.py).
SOCKET_LEASE_KEY_PREFIX = "wsocks:"


def socket_lease_key(user_id: str) -> str:
    return f"{SOCKET_LEASE_KEY_PREFIX}{user_id}"


def _milliseconds(ttl_seconds: float) -> int:
    return max(1, int(ttl_seconds * 1000))


# KEYS[1] holds ARGV[1]: set it to ARGV[2] with a TTL of ARGV[3] ms. 1 if replaced.
_REPLACE_IF_VALUE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# KEYS[1] holds ARGV[1]: delete it. 1 if deleted.
_DELETE_IF_VALUE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


# A sliding-window log: KEYS[1] is a sorted set of hit times (ms). ARGV: now, window (ms),
# limit, a unique member. Counts the hit and returns 0 if fewer than `limit` hits fall in the
# window; otherwise counts nothing and returns the ms until the oldest hit leaves the window.
# Hits older than the window are removed only when the set is full: a set of fewer than
# `limit` hits, old ones included, has fewer than `limit` in the window, so the answer is the
# same as trimming first, the set never holds more than `limit` hits, and a hit that is let
# through costs 3 commands instead of 4 (Upstash bills each command a script runs).
_SLIDING_WINDOW_HIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
if redis.call('ZCARD', KEYS[1]) >= limit then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  if redis.call('ZCARD', KEYS[1]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + window - now)
  end
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""


# Leases: KEYS[1] is a sorted set of holders scored by when their lease runs out (ms).
# ARGV: now, limit, holder, lease (ms). Forgets lapsed holders (an instance that died never
# released its own), then adds the holder if fewer than `limit` remain. 1 if added.
_LEASE_ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""


# Presence (apps/accounts/presence.py). A user is online while their socket leases (above)
# have an unexpired one. KEYS[1] the lease set, KEYS[2] the set of sockets watching the user;
# ARGV[1] now (ms). Returns {live leases, 1 if anyone watches}.
_PRESENCE_ARRIVE = """
return {redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf'), redis.call('EXISTS', KEYS[2])}
"""
# After a socket's lease was released. KEYS: lease set, last-seen key, watchers; ARGV: now
# (ms), last-seen TTL (ms). With no live lease left, the user was last seen now.
_PRESENCE_LEAVE = """
local live = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
if live == 0 then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
end
return {live, redis.call('EXISTS', KEYS[3])}
"""
# A watcher (re)registers and reads. Per target i, KEYS[3i-2..3i]: watchers, lease set,
# last-seen key; ARGV: now, watcher, watch TTL (ms), last-seen TTL (ms), then per target when
# this watcher last saw them online (ms, 0 never). A target seen online before and now with
# no live lease, whose last-seen is older (their instance died without closing the socket),
# is recorded as last seen then. Returns {live, last seen or -1} per target.
_PRESENCE_LOOK = """
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[3])
local out = {}
for i = 1, #KEYS / 3 do
  local watchers, lease, seen_key = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  redis.call('ZADD', watchers, now + ttl, ARGV[2])
  redis.call('PEXPIRE', watchers, ttl)
  local live = redis.call('ZCOUNT', lease, '(' .. now, '+inf')
  local seen = tonumber(redis.call('GET', seen_key) or '-1')
  local observed = tonumber(ARGV[4 + i])
  if live == 0 and observed > 0 and seen < observed then
    redis.call('SET', seen_key, observed, 'PX', ARGV[4])
    seen = observed
  end
  out[2*i-1] = live
  out[2*i] = seen
end
return out
"""


REDIS_CONNECT_TIMEOUT_SECONDS = 2.0
REDIS_COMMAND_TIMEOUT_SECONDS = 3.0


# Connections to Redis per process for the store; a command beyond them waits (up to the
# command timeout) for one to be free. Commands take well under a millisecond, so a few
# dozen serve thousands per second, and Upstash's per-database connection cap is not approached.
REDIS_POOL_CONNECTIONS = 50


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        # A paused or unreachable Redis holds every request that touches it until these
        # run out (redis-py's defaults are 5 s); then the caller answers 503
        # (apps/core/outages.py).
        # A burst beyond the pool (every client reconnecting at once after a deploy) waits
        # for a connection instead of failing: redis-py's default pool raises
        # MaxConnectionsError at its 101st concurrent command, which read as an outage.
        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=REDIS_POOL_CONNECTIONS,
            timeout=REDIS_COMMAND_TIMEOUT_SECONDS,
            # Strings, not bytes: redis-py's types cannot follow this (hence the casts).
            decode_responses=True,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
            socket_timeout=REDIS_COMMAND_TIMEOUT_SECONDS,
            # After Redis restarts, each pooled connection fails on first use ("Connection
            # closed by server"): one more try on a fresh connection, so the first requests
            # after a restart do not get 503s. Not on a timeout: a paused Redis would double it.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._redis = redis.Redis(connection_pool=pool)
        # Sent once, then run by their SHA1 (EVALSHA).
        self._replace_if_value = self._redis.register_script(_REPLACE_IF_VALUE)
        self._delete_if_value = self._redis.register_script(_DELETE_IF_VALUE)
        self._sliding_window_hit = self._redis.register_script(_SLIDING_WINDOW_HIT)
        self._lease_acquire = self._redis.register_script(_LEASE_ACQUIRE)
        self._presence_arrive = self._redis.register_script(_PRESENCE_ARRIVE)
        self._presence_leave = self._redis.register_script(_PRESENCE_LEAVE)
        self._presence_look = self._redis.register_script(_PRESENCE_LOOK)

    async def counter_hit(self, key: str, *, window_seconds: int) -> int:
        async with self._redis.pipeline(transaction=False) as pipeline:
            pipeline.incr(key)
            pipeline.expire(key, window_seconds, nx=True)
            count, _ = await pipeline.execute()
        return int(count)

    async def sliding_window_hit(self, key: str, *, limit: int, window_seconds: float) -> float:
        now_ms = time.time() * 1000
        wait_ms = await self._sliding_window_hit(
            keys=[key],
            args=[now_ms, _milliseconds(window_seconds), limit, f"{now_ms}:{secrets.token_hex(4)}"],
        )
        return float(wait_ms) / 1000

    async def put(self, key: str, value: str, *, ttl_seconds: int) -> None:
        await self._redis.set(key, value, ex=ttl_seconds)

    async def take(self, key: str) -> str | None:
        return cast(str | None, await self._redis.getdel(key))

    async def get(self, key: str) -> str | None:
        return cast(str | None, await self._redis.get(key))

    async def put_if_absent(self, key: str, value: str, *, ttl_seconds: float) -> bool:
        return bool(await self._redis.set(key, value, px=_milliseconds(ttl_seconds), nx=True))

    async def replace_if_value(
        self, key: str, expected: str, value: str, *, ttl_seconds: float
    ) -> bool:
        replaced = await self._replace_if_value(
            keys=[key], args=[expected, value, _milliseconds(ttl_seconds)]
        )
        return bool(replaced)

    async def delete_if_value(self, key: str, expected: str) -> bool:
        return bool(await self._delete_if_value(keys=[key], args=[expected]))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*keys)

    async def lease_acquire(self, key: str, holder: str, *, limit: int, ttl_seconds: float) -> bool:
        acquired = await self._lease_acquire(
            keys=[key], args=[int(time.time() * 1000), limit, holder, _milliseconds(ttl_seconds)]
        )
        return bool(acquired)

    async def lease_renew(self, key: str, holder: str, *, ttl_seconds: float) -> None:
        lease_ms = _milliseconds(ttl_seconds)
        # Pipelined, not a MULTI/EXEC transaction: the two need not be atomic (the key's TTL
        # only has to outlive its leases, whose ends are their scores), and every open socket
        # renews once a minute, so MULTI and EXEC would double what an idle socket costs on
        # Upstash (billed per command).
        async with self._redis.pipeline(transaction=False) as pipeline:
            # XX: a lease that lapsed (or was released) is not brought back by a late renewal.
            pipeline.zadd(key, {holder: int(time.time() * 1000) + lease_ms}, xx=True)
            pipeline.pexpire(key, lease_ms)
            await pipeline.execute()

    async def lease_release(self, key: str, holder: str) -> None:
        await self._redis.zrem(key, holder)

    async def lease_count(self, key: str) -> int:
        """Holders whose lease has not run out (lapsed ones are left for the next acquire)."""
        return int(await self._redis.zcount(key, f"({int(time.time() * 1000)}", "+inf"))

    async def presence_arrive(self, *, lease_key: str, watchers_key: str) -> tuple[int, bool]:
        live, watched = await self._presence_arrive(
            keys=[lease_key, watchers_key], args=[int(time.time() * 1000)]
        )
        return int(live), bool(watched)

    async def presence_leave(
        self, *, lease_key: str, seen_key: str, watchers_key: str, seen_ttl_seconds: float
    ) -> tuple[int, bool]:
        live, watched = await self._presence_leave(
            keys=[lease_key, seen_key, watchers_key],
            args=[int(time.time() * 1000), _milliseconds(seen_ttl_seconds)],
        )
        return int(live), bool(watched)

    async def presence_look(
        self,
        *,
        targets: list[PresenceTarget],
        watcher: str,
        watch_ttl_seconds: float,
        seen_ttl_seconds: float,
    ) -> list[tuple[int, int | None]]:
        if not targets:
            return []
        keys = [key for target in targets for key in target[:3]]
        args: list[str | int] = [
            int(time.time() * 1000),
            watcher,
            _milliseconds(watch_ttl_seconds),
            _milliseconds(seen_ttl_seconds),
            *(target.observed_online_ms for target in targets),
        ]
        flat = await self._presence_look(keys=keys, args=args)
        return [
            (int(flat[i]), int(flat[i + 1]) if int(flat[i + 1]) >= 0 else None)
            for i in range(0, len(flat), 2)
        ]

    async def presence_unwatch(self, *, watchers_keys: list[str], watcher: str) -> None:
        if not watchers_keys:
            return
        async with self._redis.pipeline(transaction=False) as pipeline:
            for key in watchers_keys:
                pipeline.zrem(key, watcher)
            await pipeline.execute()


class MemoryStore:
    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._hits: dict[str, deque[float]] = {}
        self._leases: dict[str, dict[str, float]] = {}

    def _live(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires <= time.monotonic():
            del self._values[key]
            return None
        return value

    async def counter_hit(self, key: str, *, window_seconds: int) -> int:
        current = self._live(key)
        if current is None:
            self._values[key] = ("1", time.monotonic() + window_seconds)
            return 1
        count = int(current) + 1
        self._values[key] = (str(count), self._values[key][1])
        return count

    async def sliding_window_hit(self, key: str, *, limit: int, window_seconds: float) -> float:
        now = time.monotonic()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window_seconds:
            hits.popleft()
        if len(hits) < limit:
            hits.append(now)
            return 0.0
        return max(0.001, hits[0] + window_seconds - now)

    async def put(self, key: str, value: str, *, ttl_seconds: int) -> None:
        self._values[key] = (value, time.monotonic() + ttl_seconds)

    async def take(self, key: str) -> str | None:
        value = self._live(key)
        self._values.pop(key, None)
        return value

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def put_if_absent(self, key: str, value: str, *, ttl_seconds: float) -> bool:
        if self._live(key) is not None:
            return False
        self._values[key] = (value, time.monotonic() + ttl_seconds)
        return True

    async def replace_if_value(
        self, key: str, expected: str, value: str, *, ttl_seconds: float
    ) -> bool:
        if self._live(key) != expected:
            return False
        self._values[key] = (value, time.monotonic() + ttl_seconds)
        return True

    async def delete_if_value(self, key: str, expected: str) -> bool:
        if self._live(key) != expected:
            return False
        del self._values[key]
        return True

    async def delete(self, *keys: str) -> None:
        # Whatever kind of value the key holds: a string, a hit log or a sorted set.
        for key in keys:
            self._values.pop(key, None)
            self._hits.pop(key, None)
            self._leases.pop(key, None)

    def _lease_holders(self, key: str) -> dict[str, float]:
        now = time.monotonic()
        holders = {
            holder: until for holder, until in self._leases.get(key, {}).items() if until > now
        }
        self._leases[key] = holders
        return holders

    async def lease_acquire(self, key: str, holder: str, *, limit: int, ttl_seconds: float) -> bool:
        holders = self._lease_holders(key)
        if len(holders) >= limit:
            return False
        holders[holder] = time.monotonic() + ttl_seconds
        return True

    async def lease_renew(self, key: str, holder: str, *, ttl_seconds: float) -> None:
        holders = self._lease_holders(key)
        if holder in holders:
            holders[holder] = time.monotonic() + ttl_seconds

    async def lease_release(self, key: str, holder: str) -> None:
        self._lease_holders(key).pop(holder, None)

    async def lease_count(self, key: str) -> int:
        return len(self._lease_holders(key))

    def _seen_ms(self, key: str) -> int | None:
        seen = self._live(key)
        return int(seen) if seen is not None else None

    async def presence_arrive(self, *, lease_key: str, watchers_key: str) -> tuple[int, bool]:
        return len(self._lease_holders(lease_key)), bool(self._lease_holders(watchers_key))

    async def presence_leave(
        self, *, lease_key: str, seen_key: str, watchers_key: str, seen_ttl_seconds: float
    ) -> tuple[int, bool]:
        live = len(self._lease_holders(lease_key))
        if live == 0:
            self._values[seen_key] = (
                str(int(time.time() * 1000)),
                time.monotonic() + seen_ttl_seconds,
            )
        return live, bool(self._lease_holders(watchers_key))

    async def presence_look(
        self,
        *,
        targets: list[PresenceTarget],
        watcher: str,
        watch_ttl_seconds: float,
        seen_ttl_seconds: float,
    ) -> list[tuple[int, int | None]]:
        states: list[tuple[int, int | None]] = []
        for target in targets:
            self._lease_holders(target.watchers_key)[watcher] = time.monotonic() + watch_ttl_seconds
            live = len(self._lease_holders(target.lease_key))
            seen = self._seen_ms(target.seen_key)
            observed = target.observed_online_ms
            if live == 0 and observed > 0 and (seen is None or seen < observed):
                self._values[target.seen_key] = (
                    str(observed),
                    time.monotonic() + seen_ttl_seconds,
                )
                seen = observed
            states.append((live, seen))
        return states

    async def presence_unwatch(self, *, watchers_keys: list[str], watcher: str) -> None:
        for key in watchers_keys:
            self._lease_holders(key).pop(watcher, None)


def _store_build() -> KeyValueStore:
    return RedisStore(settings.REDIS_URL) if settings.REDIS_URL else MemoryStore()


# A Redis connection belongs to one event loop.
_stores = LoopLocal(build=_store_build, settings_key=lambda: settings.REDIS_URL)


def keyvalue_store() -> KeyValueStore:
    """The store for the running event loop."""
    return _stores.get()

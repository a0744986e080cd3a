"""Small shared state with expiry: rate-limit counters, one-time tickets, voice call and turn
state.

Backed by Redis (`REDIS_URL`) so every instance sees the same counts and a ticket can be used
once across instances; without `REDIS_URL` (development, one process) by process memory.

The conditional operations (`put_if_absent`, `replace_if_value`, `delete_if_value`) are
atomic, so one state change wins when several instances race (apps/voice uses them as locks
and compare-and-set). TTLs may be fractional seconds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from django.conf import settings


class KeyValueStore(Protocol):
    async def counter_hit(self, key: str, *, window_seconds: int) -> int: ...

    async def put(self, key: str, value: str, *, ttl_seconds: int) -> None: ...

    async def take(self, key: str) -> str | None: ...

    async def get(self, key: str) -> str | None: ...

    async def put_if_absent(self, key: str, value: str, *, ttl_seconds: float) -> bool: ...

    async def replace_if_value(
        self, key: str, expected: str, value: str, *, ttl_seconds: float
    ) -> bool: ...

    async def delete_if_value(self, key: str, expected: str) -> bool: ...


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


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True)
        # Sent once, then run by their SHA1 (EVALSHA).
        self._replace_if_value = self._redis.register_script(_REPLACE_IF_VALUE)
        self._delete_if_value = self._redis.register_script(_DELETE_IF_VALUE)

    async def counter_hit(self, key: str, *, window_seconds: int) -> int:
        async with self._redis.pipeline(transaction=False) as pipeline:
            pipeline.incr(key)
            pipeline.expire(key, window_seconds, nx=True)
            count, _ = await pipeline.execute()
        return int(count)

    async def put(self, key: str, value: str, *, ttl_seconds: int) -> None:
        await self._redis.set(key, value, ex=ttl_seconds)

    async def take(self, key: str) -> str | None:
        return await self._redis.getdel(key)

    async def get(self, key: str) -> str | None:
        return await self._redis.get(key)

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


class MemoryStore:
    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}

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


_stores: dict[tuple[asyncio.AbstractEventLoop, str | None], KeyValueStore] = {}


def keyvalue_store() -> KeyValueStore:
    """The store for the running event loop (a Redis connection belongs to one loop)."""
    # Keyed on the loop itself, not its id: a new loop may reuse the id of one that has
    # closed, and must not inherit that loop's connections.
    key = (asyncio.get_running_loop(), settings.REDIS_URL)
    store = _stores.get(key)
    if store is None:
        for stale in [stale for stale in _stores if stale[0].is_closed()]:
            del _stores[stale]
        store = RedisStore(settings.REDIS_URL) if settings.REDIS_URL else MemoryStore()
        _stores[key] = store
    return store

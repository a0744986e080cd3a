"""Small shared state with expiry: rate-limit counters and one-time tickets.

Backed by Redis (`REDIS_URL`) so every instance sees the same counts and a ticket can be used
once across instances; without `REDIS_URL` (development, one process) by process memory.
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


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True)

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


_stores: dict[tuple[int, str | None], KeyValueStore] = {}


def keyvalue_store() -> KeyValueStore:
    """The store for the running event loop (a Redis connection belongs to one loop)."""
    key = (id(asyncio.get_running_loop()), settings.REDIS_URL)
    store = _stores.get(key)
    if store is None:
        store = RedisStore(settings.REDIS_URL) if settings.REDIS_URL else MemoryStore()
        _stores[key] = store
    return store

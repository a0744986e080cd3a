"""Fixtures shared by the key-value store and rate-limit tests."""

from __future__ import annotations

import uuid

import pytest

from apps.core.keyvalue import MemoryStore, RedisStore


@pytest.fixture(params=["redis", "memory"])
async def store(request, settings):
    """Each test runs against real Redis and against the in-memory store."""
    if request.param == "memory":
        yield MemoryStore()
        return
    redis_store = RedisStore(settings.REDIS_URL)
    yield redis_store
    await redis_store._redis.aclose()


@pytest.fixture
def key() -> str:
    return f"test:{uuid.uuid4().hex}"

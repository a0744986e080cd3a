"""Sliding-window limits, on real Redis and in memory, and what a client is told."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from apps.core.errors import RateLimited
from apps.core.ratelimit import RateLimit, rate_limit_from_settings, rate_limit_hit


async def test_a_window_admits_its_count_then_says_how_long_to_wait(store, key):
    waits = [await store.sliding_window_hit(key, limit=3, window_seconds=10) for _ in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert all(9 < wait <= 10 for wait in waits[3:])


async def test_the_window_slides_rather_than_resetting_at_a_boundary(store, key):
    assert await store.sliding_window_hit(key, limit=2, window_seconds=0.6) == 0
    await asyncio.sleep(0.35)
    assert await store.sliding_window_hit(key, limit=2, window_seconds=0.6) == 0
    # A fixed window would have started over by now for half the hits; a sliding one admits
    # a new hit only when the first one is older than the window.
    refused = await store.sliding_window_hit(key, limit=2, window_seconds=0.6)
    assert 0 < refused <= 0.3
    await asyncio.sleep(refused + 0.05)
    assert await store.sliding_window_hit(key, limit=2, window_seconds=0.6) == 0


async def test_refused_hits_do_not_extend_the_wait(store, key):
    assert await store.sliding_window_hit(key, limit=1, window_seconds=0.4) == 0
    for _ in range(10):
        assert await store.sliding_window_hit(key, limit=1, window_seconds=0.4) > 0
    await asyncio.sleep(0.45)
    assert await store.sliding_window_hit(key, limit=1, window_seconds=0.4) == 0


async def test_concurrent_hits_never_exceed_the_count(store, key):
    waits = await asyncio.gather(
        *(store.sliding_window_hit(key, limit=5, window_seconds=10) for _ in range(40))
    )
    assert sum(1 for wait in waits if wait == 0) == 5


async def test_rate_limit_hit_raises_a_429_with_whole_seconds_to_wait():
    limit = RateLimit(
        name=f"test-{uuid.uuid4().hex}", count=1, window_seconds=30, detail="slow down"
    )
    await rate_limit_hit(limit=limit, subject="someone")
    await rate_limit_hit(limit=limit, subject="someone else")
    with pytest.raises(RateLimited) as raised:
        await rate_limit_hit(limit=limit, subject="someone")
    assert raised.value.status == 429
    assert raised.value.retry_after == 30
    assert raised.value.detail == "slow down; try again in 30 seconds"


def test_a_limit_from_settings_reads_them_when_built(settings):
    settings.MESSAGE_RATE_LIMIT_COUNT = 7
    settings.MESSAGE_RATE_LIMIT_WINDOW_SECONDS = 11
    limit = rate_limit_from_settings(
        name="send", setting="MESSAGE_RATE_LIMIT", detail="at most {count} in {window_seconds} s"
    )
    assert limit == RateLimit(name="send", count=7, window_seconds=11, detail="at most 7 in 11 s")
    settings.LOGIN_RATE_LIMIT_PER_ACCOUNT_WINDOW_SECONDS = 90
    other_window = rate_limit_from_settings(
        name="login-account",
        setting="LOGIN_RATE_LIMIT_PER_ACCOUNT_ALL_ADDRESSES",
        window_setting="LOGIN_RATE_LIMIT_PER_ACCOUNT",
        detail="too many",
    )
    assert other_window.window_seconds == 90


# --- what a hit costs in Redis commands (Upstash bills each command a script runs) ------------


async def _commands_run(connection, hit) -> int:
    """Commands Redis ran for `hit()`, the script's own included (INFO commandstats)."""

    async def counted() -> int:
        stats = await connection.info("commandstats")
        return sum(
            value["calls"]
            for name, value in stats.items()
            if name not in ("cmdstat_info", "cmdstat_evalsha", "cmdstat_script|load")
        )

    before = await counted()
    await hit()
    return await counted() - before


async def test_a_hit_let_through_runs_three_commands_until_the_log_is_full(settings, key):
    from apps.core.keyvalue import RedisStore

    store = RedisStore(settings.REDIS_URL)
    try:

        async def hit():
            return await store.sliding_window_hit(key, limit=3, window_seconds=1.0)

        await hit()  # loads the script
        # ZCARD, ZADD, PEXPIRE: nothing to trim while fewer than 3 hits are logged.
        assert await _commands_run(store._redis, hit) == 3
        await asyncio.sleep(0.6)
        assert await _commands_run(store._redis, hit) == 3
        # Full: trimmed (ZCARD, ZREMRANGEBYSCORE, ZCARD), still full, ZRANGE for the wait.
        assert await _commands_run(store._redis, hit) == 4
        await asyncio.sleep(0.5)
        # Two of the three are older than the window now: trimmed, and the hit let through.
        assert await _commands_run(store._redis, hit) == 5
        assert await store._redis.zcard(key) == 2
    finally:
        await store._redis.aclose()


async def test_old_hits_are_trimmed_before_the_log_outgrows_the_count(settings, key):
    from apps.core.keyvalue import RedisStore

    store = RedisStore(settings.REDIS_URL)
    try:
        for _ in range(10):
            assert await store.sliding_window_hit(key, limit=3, window_seconds=0.2) == 0
            assert await store._redis.zcard(key) <= 3
            assert 0 < await store._redis.pttl(key) <= 200
            await asyncio.sleep(0.12)
    finally:
        await store._redis.aclose()

"""The shared key-value store's conditional operations, on real Redis and in memory."""

from __future__ import annotations

import asyncio

from apps.core.keyvalue import REDIS_POOL_CONNECTIONS


async def test_put_if_absent_lets_one_writer_win(store, key):
    assert await store.put_if_absent(key, "first", ttl_seconds=5) is True
    assert await store.put_if_absent(key, "second", ttl_seconds=5) is False
    assert await store.get(key) == "first"


async def test_put_if_absent_under_contention_has_one_winner(store, key):
    results = await asyncio.gather(
        *(store.put_if_absent(key, f"v{n}", ttl_seconds=5) for n in range(20))
    )
    assert results.count(True) == 1


async def test_values_expire_after_a_fractional_ttl(store, key):
    await store.put_if_absent(key, "brief", ttl_seconds=0.2)
    assert await store.get(key) == "brief"
    await asyncio.sleep(0.35)
    assert await store.get(key) is None
    assert await store.put_if_absent(key, "again", ttl_seconds=5) is True


async def test_replace_if_value_is_a_compare_and_set(store, key):
    await store.put_if_absent(key, "ringing", ttl_seconds=5)
    assert await store.replace_if_value(key, "stale", "active", ttl_seconds=5) is False
    assert await store.get(key) == "ringing"
    assert await store.replace_if_value(key, "ringing", "active", ttl_seconds=0.2) is True
    assert await store.get(key) == "active"
    # The new TTL applies.
    await asyncio.sleep(0.35)
    assert await store.get(key) is None
    assert await store.replace_if_value(key, "active", "again", ttl_seconds=5) is False


async def test_delete_if_value_deletes_only_the_expected_value(store, key):
    await store.put_if_absent(key, "mine", ttl_seconds=5)
    assert await store.delete_if_value(key, "theirs") is False
    assert await store.get(key) == "mine"
    assert await store.delete_if_value(key, "mine") is True
    assert await store.get(key) is None
    assert await store.delete_if_value(key, "mine") is False


async def test_only_one_of_racing_deletes_wins(store, key):
    await store.put_if_absent(key, "turn", ttl_seconds=5)
    results = await asyncio.gather(*(store.delete_if_value(key, "turn") for _ in range(10)))
    assert results.count(True) == 1


async def test_leases_admit_up_to_the_limit_and_a_release_frees_a_place(store, key):
    assert [await store.lease_acquire(key, f"h{n}", limit=3, ttl_seconds=5) for n in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    await store.lease_release(key, "h1")
    assert await store.lease_acquire(key, "h4", limit=3, ttl_seconds=5) is True
    assert await store.lease_acquire(key, "h5", limit=3, ttl_seconds=5) is False


async def test_a_lease_nobody_renews_lapses_and_a_renewed_one_does_not(store, key):
    assert await store.lease_acquire(key, "kept", limit=2, ttl_seconds=0.4)
    assert await store.lease_acquire(key, "abandoned", limit=2, ttl_seconds=0.4)
    assert await store.lease_acquire(key, "third", limit=2, ttl_seconds=5) is False
    await asyncio.sleep(0.25)
    await store.lease_renew(key, "kept", ttl_seconds=0.4)
    await asyncio.sleep(0.25)
    # "abandoned" (an instance that died without releasing) has lapsed; "kept" has not.
    assert await store.lease_acquire(key, "third", limit=2, ttl_seconds=5) is True
    assert await store.lease_acquire(key, "fourth", limit=2, ttl_seconds=5) is False


async def test_lease_count_counts_only_leases_that_have_not_lapsed(store, key):
    assert await store.lease_count(key) == 0
    assert await store.lease_acquire(key, "short", limit=5, ttl_seconds=0.3)
    assert await store.lease_acquire(key, "long", limit=5, ttl_seconds=5)
    assert await store.lease_count(key) == 2
    await asyncio.sleep(0.4)
    # "short" lapsed (its instance died) though nothing has removed it yet.
    assert await store.lease_count(key) == 1
    await store.lease_release(key, "long")
    assert await store.lease_count(key) == 0


async def test_renewing_a_released_lease_does_not_bring_it_back(store, key):
    assert await store.lease_acquire(key, "gone", limit=1, ttl_seconds=5)
    await store.lease_release(key, "gone")
    await store.lease_renew(key, "gone", ttl_seconds=5)
    assert await store.lease_acquire(key, "next", limit=1, ttl_seconds=5) is True


async def test_a_burst_beyond_the_connection_pool_waits_for_connections_instead_of_failing(
    store, key
):
    # Every client reconnecting to a fresh instance at once: each handshake takes a socket's
    # place (a lease) in the same moment, far more than the pool's connections.
    burst = 4 * REDIS_POOL_CONNECTIONS
    outcomes = await asyncio.gather(
        *(
            store.lease_acquire(f"{key}:{n}", f"holder-{n}", limit=1, ttl_seconds=30)
            for n in range(burst)
        ),
        return_exceptions=True,
    )
    assert outcomes == [True] * burst


async def test_a_renewal_costs_two_redis_commands_and_keeps_the_key_alive(settings, key):
    """Every open socket renews its place once a minute: ZADD and PEXPIRE, nothing more."""
    from apps.core.keyvalue import RedisStore

    store = RedisStore(settings.REDIS_URL)

    async def commands() -> int:
        stats = await store._redis.info("commandstats")
        return sum(value["calls"] for name, value in stats.items() if name != "cmdstat_info")

    try:
        assert await store.lease_acquire(key, "socket", limit=2, ttl_seconds=0.4)
        before = await commands()
        await store.lease_renew(key, "socket", ttl_seconds=5)
        assert await commands() - before == 2
        assert 4000 < await store._redis.pttl(key) <= 5000
        assert await store.lease_acquire(key, "other", limit=2, ttl_seconds=5)
        assert await store.lease_acquire(key, "third", limit=2, ttl_seconds=5) is False
    finally:
        await store._redis.aclose()

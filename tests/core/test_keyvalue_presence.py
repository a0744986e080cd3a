"""The key-value store's presence steps (apps/core/keyvalue.py), on real Redis and in memory:
online read from the socket leases, last seen recorded when the last one goes, watchers
registered with an expiry."""

from __future__ import annotations

import asyncio

from apps.core.keyvalue import PresenceTarget


def _keys(key: str) -> dict[str, str]:
    return {"lease": f"{key}:lease", "seen": f"{key}:seen", "watchers": f"{key}:watchers"}


def _target(keys: dict[str, str], observed: int = 0) -> PresenceTarget:
    return PresenceTarget(
        watchers_key=keys["watchers"],
        lease_key=keys["lease"],
        seen_key=keys["seen"],
        observed_online_ms=observed,
    )


async def test_online_while_a_lease_lives_and_last_seen_when_the_last_one_goes(store, key):
    keys = _keys(key)
    await store.lease_acquire(keys["lease"], "a", limit=5, ttl_seconds=5)
    await store.lease_acquire(keys["lease"], "b", limit=5, ttl_seconds=5)
    assert await store.presence_arrive(lease_key=keys["lease"], watchers_key=keys["watchers"]) == (
        2,
        False,
    )
    await store.lease_release(keys["lease"], "a")
    left = await store.presence_leave(
        lease_key=keys["lease"],
        seen_key=keys["seen"],
        watchers_key=keys["watchers"],
        seen_ttl_seconds=60,
    )
    assert left == (1, False)
    assert await store.get(keys["seen"]) is None
    await store.lease_release(keys["lease"], "b")
    await store.presence_leave(
        lease_key=keys["lease"],
        seen_key=keys["seen"],
        watchers_key=keys["watchers"],
        seen_ttl_seconds=60,
    )
    assert await store.get(keys["seen"]) is not None


async def test_a_watcher_is_registered_until_it_unwatches_or_its_registration_runs_out(store, key):
    keys = _keys(key)
    looked = await store.presence_look(
        targets=[_target(keys)], watcher="w1", watch_ttl_seconds=0.3, seen_ttl_seconds=60
    )
    assert looked == [(0, None)]
    assert (await store.presence_arrive(lease_key=keys["lease"], watchers_key=keys["watchers"]))[1]
    await store.presence_unwatch(watchers_keys=[keys["watchers"]], watcher="w1")
    assert not (
        await store.presence_arrive(lease_key=keys["lease"], watchers_key=keys["watchers"])
    )[1]

    await store.presence_look(
        targets=[_target(keys)], watcher="w2", watch_ttl_seconds=0.3, seen_ttl_seconds=60
    )
    await asyncio.sleep(0.45)
    assert not (
        await store.presence_arrive(lease_key=keys["lease"], watchers_key=keys["watchers"])
    )[1]


async def test_a_look_records_a_lapsed_user_as_last_seen_when_the_watcher_saw_them_online(
    store, key
):
    keys = _keys(key)
    await store.lease_acquire(keys["lease"], "dead", limit=5, ttl_seconds=0.2)
    [(live, _)] = await store.presence_look(
        targets=[_target(keys)], watcher="w", watch_ttl_seconds=5, seen_ttl_seconds=60
    )
    assert live == 1
    await asyncio.sleep(0.3)
    # Seen online at 1234 (ms) by this watcher; now no lease is left.
    [(live, seen)] = await store.presence_look(
        targets=[_target(keys, observed=1234)],
        watcher="w",
        watch_ttl_seconds=5,
        seen_ttl_seconds=60,
    )
    assert (live, seen) == (0, 1234)
    assert await store.get(keys["seen"]) == "1234"
    # A later close recorded by the user's own socket is not overwritten by an older sighting.
    await store.put(keys["seen"], "5000", ttl_seconds=60)
    [(_, seen)] = await store.presence_look(
        targets=[_target(keys, observed=1234)],
        watcher="w",
        watch_ttl_seconds=5,
        seen_ttl_seconds=60,
    )
    assert seen == 5000


async def test_delete_takes_a_users_last_seen_and_watchers_whatever_their_kind(store, key):
    keys = _keys(key)
    await store.presence_leave(
        lease_key=keys["lease"],
        seen_key=keys["seen"],
        watchers_key=keys["watchers"],
        seen_ttl_seconds=60,
    )
    await store.presence_look(
        targets=[_target(keys)], watcher="w1", watch_ttl_seconds=60, seen_ttl_seconds=60
    )
    other = _keys(f"{key}:other")
    await store.put(other["seen"], "1", ttl_seconds=60)

    await store.delete(keys["seen"], keys["watchers"])
    await store.delete()  # nothing to delete: no command

    assert await store.get(keys["seen"]) is None
    assert not (
        await store.presence_arrive(lease_key=keys["lease"], watchers_key=keys["watchers"])
    )[1]
    assert await store.get(other["seen"]) == "1"

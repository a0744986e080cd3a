"""Presence use cases (apps/accounts/presence_actions.py) and the profile switch: what is
published, and what it costs in Redis, when nobody watches and when someone does."""

from __future__ import annotations

import redis.asyncio as redis
from django.conf import settings
from django.test import AsyncClient

from apps.accounts.presence import presence_last_seen, presence_look
from apps.accounts.presence_actions import do_presence_arrive, do_presence_leave
from apps.core.concurrency import run_blocking
from apps.core.keyvalue import keyvalue_store
from tests.support.accounts import user_create, user_token

ME = "/api/auth/me"


async def _commands() -> dict[str, int]:
    """Commands Redis has served, by name (INFO commandstats)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        name: after[name] - before.get(name, 0)
        for name in after
        if after[name] != before.get(name, 0) and name != "info"
    }


async def _socket_opens_and_closes(user) -> None:
    lease_key = f"wsocks:{user.user_id}"
    await keyvalue_store().lease_acquire(lease_key, "socket-1", limit=5, ttl_seconds=30)
    await do_presence_arrive(user=user)
    await keyvalue_store().lease_release(lease_key, "socket-1")
    await do_presence_leave(user=user)


async def test_while_nobody_watches_a_socket_publishes_nothing_and_costs_one_script_each_way():
    bob = await run_blocking(user_create)()
    # Once before counting, so each script is loaded already (a first EVALSHA is refused).
    await _socket_opens_and_closes(await run_blocking(user_create)())
    before = await _commands()
    await _socket_opens_and_closes(bob)
    spent = _delta(before, await _commands())
    assert "publish" not in spent
    # Besides the lease itself (EVALSHA with ZREMRANGEBYSCORE, ZCARD, ZADD, PEXPIRE; ZREM):
    # arrive ZCOUNT + EXISTS, leave ZCOUNT + SET + EXISTS, each in one EVALSHA.
    assert spent["evalsha"] == 3, spent
    assert spent["zcount"] == 2 and spent["exists"] == 2 and spent["set"] == 1
    assert await presence_last_seen(user_id=bob.user_id) is not None


async def test_while_someone_watches_each_change_is_one_publish():
    bob = await run_blocking(user_create)()
    await presence_look(watcher="watching-socket", observed_online_ms={bob.user_id: 0})
    before = await _commands()
    await _socket_opens_and_closes(bob)
    spent = _delta(before, await _commands())
    assert spent["publish"] == 2


async def test_a_hidden_user_publishes_nothing_even_when_watched():
    bob = await run_blocking(user_create)()
    await run_blocking(bob.update)(actions=[type(bob).presence_visible.set(False)])
    await presence_look(watcher="watching-socket", observed_online_ms={bob.user_id: 0})
    before = await _commands()
    await _socket_opens_and_closes(bob)
    assert "publish" not in _delta(before, await _commands())


async def test_the_profile_shows_and_changes_the_presence_switch():
    ana = await run_blocking(user_create)()
    client = AsyncClient()
    headers = {"Authorization": f"Bearer {user_token(ana)}"}
    assert (await client.get(ME, headers=headers)).json()["presence_visible"] is True
    changed = await client.patch(
        ME, {"presence_visible": False}, content_type="application/json", headers=headers
    )
    assert changed.status_code == 200 and changed.json()["presence_visible"] is False
    assert (await client.get(ME, headers=headers)).json()["presence_visible"] is False
    for wrong in ("no", 0, None):
        refused = await client.patch(
            ME, {"presence_visible": wrong}, content_type="application/json", headers=headers
        )
        assert refused.status_code == 422, wrong
        assert "presence_visible must be true or false" in refused.json()["detail"]
    assert (await client.get(ME, headers=headers)).json()["presence_visible"] is False

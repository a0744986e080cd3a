"""One object per event loop and settings (apps/core/loop_local.py), and the doubling
back-off (apps/core/backoff.py)."""

from __future__ import annotations

import asyncio

from apps.core.backoff import Backoff
from apps.core.loop_local import LoopLocal


def test_each_loop_and_each_setting_gets_its_own_object_and_ended_loops_are_forgotten():
    setting = {"url": "a"}
    built = []

    def build() -> object:
        built.append(object())
        return built[-1]

    local = LoopLocal(build=build, settings_key=lambda: setting["url"])

    async def twice() -> tuple[object, object]:
        return local.get(), local.get()

    first, again = asyncio.run(twice())
    assert first is again
    other, _ = asyncio.run(twice())
    assert other is not first
    setting["url"] = "b"

    async def taken() -> list[object]:
        value = local.get()
        return [value, *local.take_running()]

    value, *handed_over = asyncio.run(taken())
    assert handed_over == [value]
    assert len(built) == 3
    # The two loops that ended (and the one emptied) left nothing behind.
    assert local._values == {}


def test_a_backoff_doubles_up_to_its_cap_and_starts_over_after_a_reset():
    backoff = Backoff(first_seconds=0.5, max_seconds=3)
    assert [backoff.wait() for _ in range(5)] == [0.5, 1, 2, 3, 3]
    backoff.reset()
    assert backoff.wait() == 0.5

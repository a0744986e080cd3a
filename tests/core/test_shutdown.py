"""apps/core/shutdown.py: the steps an instance runs when told to stop, side by side, within a
deadline; one that fails or overruns is logged and stops nothing else."""

from __future__ import annotations

import asyncio
import logging

import pytest

from apps.core import shutdown
from apps.core.shutdown import shutdown_step_register, shutdown_steps_run


@pytest.fixture(autouse=True)
def _own_steps(monkeypatch):
    """The apps' registered steps (the search index's flush) are not this module's to run."""
    monkeypatch.setattr(shutdown, "_shutdown_steps", [])


async def test_the_steps_run_side_by_side_and_each_is_registered_once():
    finished: list[str] = []

    async def slow_one() -> None:
        await asyncio.sleep(0.3)
        finished.append("slow_one")

    async def slow_two() -> None:
        await asyncio.sleep(0.3)
        finished.append("slow_two")

    for step in (slow_one, slow_two, slow_one):
        shutdown_step_register(step)
    started = asyncio.get_running_loop().time()
    await shutdown_steps_run(timeout=5)
    assert sorted(finished) == ["slow_one", "slow_two"]
    assert asyncio.get_running_loop().time() - started < 0.55


async def test_a_step_past_the_deadline_is_cancelled_and_logged_and_the_others_finish(caplog):
    finished: list[str] = []
    cancelled = asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def quick() -> None:
        finished.append("quick")

    shutdown_step_register(stuck)
    shutdown_step_register(quick)
    started = asyncio.get_running_loop().time()
    await shutdown_steps_run(timeout=0.2)
    assert asyncio.get_running_loop().time() - started < 1
    assert finished == ["quick"]
    await asyncio.wait_for(cancelled.wait(), 1)
    (record,) = [r for r in caplog.records if r.name == "apps.core.shutdown"]
    assert record.levelno == logging.WARNING and "did not finish" in record.getMessage()


async def test_a_failing_step_is_logged_and_the_others_finish(caplog):
    finished: list[str] = []

    async def failing() -> None:
        raise RuntimeError("boom")

    async def quick() -> None:
        await asyncio.sleep(0.05)
        finished.append("quick")

    shutdown_step_register(failing)
    shutdown_step_register(quick)
    await shutdown_steps_run(timeout=5)
    assert finished == ["quick"]
    (record,) = [r for r in caplog.records if r.name == "apps.core.shutdown"]
    assert record.levelno == logging.ERROR and isinstance(record.exc_info[1], RuntimeError)

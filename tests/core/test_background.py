"""apps/core/background.py: tasks held until they end, their failures logged by name,
cancelled by name or all together."""

from __future__ import annotations

import asyncio
import logging

from apps.core.background import (
    background_task_cancel,
    background_task_start,
    background_tasks_cancel,
    background_tasks_settle,
)


async def test_a_failing_task_is_logged_with_its_name(caplog):
    async def fail() -> None:
        raise RuntimeError("boom")

    task = background_task_start(fail(), name="doomed-task")
    await asyncio.wait([task])
    await asyncio.sleep(0)

    (record,) = [r for r in caplog.records if r.name == "apps.core.background"]
    assert record.levelno == logging.ERROR and "doomed-task" in record.getMessage()
    assert isinstance(record.exc_info[1], RuntimeError)


async def test_cancelling_by_name_stops_that_task_only_and_never_the_caller():
    async def wait_then_cancel_own_name() -> str:
        await asyncio.sleep(0.01)
        background_task_cancel(name="timer")
        return "finished"

    sleeper = background_task_start(asyncio.sleep(10), name="timer")
    other = background_task_start(asyncio.sleep(10), name="other")
    timer = background_task_start(wait_then_cancel_own_name(), name="timer")

    assert await timer == "finished"
    await asyncio.sleep(0)
    assert sleeper.cancelled() and not other.done()
    await background_tasks_cancel()
    assert other.cancelled()


async def test_settling_waits_for_tasks_that_tasks_start():
    finished: list[str] = []

    async def child() -> None:
        await asyncio.sleep(0.02)
        finished.append("child")

    async def parent() -> None:
        await asyncio.sleep(0.01)
        background_task_start(child(), name="child")
        finished.append("parent")

    background_task_start(parent(), name="parent")
    await background_tasks_settle(timeout=2)

    assert finished == ["parent", "child"]


async def test_settling_gives_up_after_its_timeout_and_cancelling_ends_the_rest():
    task = background_task_start(asyncio.sleep(10), name="long")

    await background_tasks_settle(timeout=0.05)
    assert not task.done()
    await background_tasks_cancel()
    assert task.cancelled()

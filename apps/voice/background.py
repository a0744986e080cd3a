"""Tasks that outlive the frame or request that started them (ring timers, pipelines, the
clean-up after a socket closes): held here so they are not garbage-collected mid-flight."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

logger = logging.getLogger(__name__)

_tasks: set[asyncio.Task] = set()


def background_run(coroutine: Coroutine, *, name: str | None = None) -> asyncio.Task:
    task = asyncio.get_running_loop().create_task(coroutine, name=name)
    _tasks.add(task)
    task.add_done_callback(_done)
    return task


def _done(task: asyncio.Task) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("voice background task %s failed", task.get_name(), exc_info=task.exception())


async def background_tasks_settle(timeout: float = 5.0) -> None:
    """Wait for this loop's background tasks to finish (tests, shutdown)."""
    loop = asyncio.get_running_loop()
    pending = [task for task in _tasks if task.get_loop() is loop and not task.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)


def background_tasks_cancel() -> None:
    """Cancel this loop's background tasks (tests)."""
    loop = asyncio.get_running_loop()
    for task in list(_tasks):
        if task.get_loop() is loop and not task.done():
            task.cancel()

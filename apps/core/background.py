"""Tasks that outlive the frame or request that started them (ring timers, turn pipelines,
the clean-up after a socket closes, follow-ups of a sent message).

The event loop keeps only a weak reference to a task, so a task nobody holds can be
garbage-collected mid-flight: every such task is started here, which holds it until it ends
and logs its failure (nobody awaits it to see the exception). Each task has a name, for the
log and so that it can be cancelled by name (a ring timer once the call is answered).
Tasks belong to the loop that started them; settling and cancelling act on the calling
loop's tasks only (a test's loop, or the server's at shutdown).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

logger = logging.getLogger(__name__)

_tasks: set[asyncio.Task] = set()


def background_task_start(coroutine: Coroutine, *, name: str) -> asyncio.Task:
    task = asyncio.get_running_loop().create_task(coroutine, name=name)
    _tasks.add(task)
    task.add_done_callback(_task_done)
    return task


def _task_done(task: asyncio.Task) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("background task %s failed", task.get_name(), exc_info=task.exception())


def _loop_tasks() -> list[asyncio.Task]:
    loop = asyncio.get_running_loop()
    return [task for task in _tasks if task.get_loop() is loop and not task.done()]


def background_tasks_named(*, name: str) -> list[asyncio.Task]:
    """This loop's unfinished tasks of that name."""
    return [task for task in _loop_tasks() if task.get_name() == name]


def background_task_cancel(*, name: str) -> None:
    """Cancel this loop's tasks of that name, except the caller itself (a timer that has
    fired and is doing its work cancels nothing)."""
    current = asyncio.current_task()
    for task in _loop_tasks():
        if task.get_name() == name and task is not current:
            task.cancel()


async def background_tasks_settle(*, timeout: float = 5.0) -> None:
    """Wait up to `timeout` for this loop's tasks to finish, and for those they start."""
    deadline = asyncio.get_running_loop().time() + timeout
    current = asyncio.current_task()
    while pending := [task for task in _loop_tasks() if task is not current]:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return
        await asyncio.wait(pending, timeout=remaining)


async def background_tasks_cancel(*, timeout: float = 5.0) -> None:
    """Cancel this loop's tasks and wait, up to `timeout`, until they have stopped (tests,
    shutdown)."""
    current = asyncio.current_task()
    pending = [task for task in _loop_tasks() if task is not current]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=timeout)

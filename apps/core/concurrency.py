"""Running blocking calls (PynamoDB, password hashing) off the event loop."""

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async

from apps.core.errors import Unavailable

T = TypeVar("T")

# PynamoDB blocks on HTTP. asgiref's default (thread_sensitive=True) would queue every call
# behind one thread; a dedicated pool lets independent requests wait on DynamoDB in parallel.
# Its size matches the botocore connection pool given to the models (apps.core.dynamo).
BLOCKING_POOL_SIZE = 32
_blocking_pool = ThreadPoolExecutor(max_workers=BLOCKING_POOL_SIZE, thread_name_prefix="blocking")


def run_blocking(function: Callable[..., T]) -> Callable[..., Any]:
    """Wrap a synchronous function so that awaiting it runs it on the blocking pool."""
    return sync_to_async(function, thread_sensitive=False, executor=_blocking_pool)


def _thread_niceness_set(niceness: int) -> None:
    """Lower the scheduling priority of the calling thread (Linux schedules threads one by
    one), so that its CPU-heavy work yields to the event loop and to I/O threads."""
    if niceness <= 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):
        # Not Linux, or not permitted: the work runs at normal priority.
        pass


class BoundedPool:
    """A few threads of their own for CPU- and memory-heavy work (password hashing), with a
    bounded queue in front.

    At most `workers` jobs run at once, so the work's memory is bounded per process, and none
    of it occupies the blocking pool that DynamoDB calls wait on. At most `max_waiting` more
    wait for a thread; a caller beyond that, or one whose job has not started within
    `wait_seconds`, is told to come back later (Unavailable, 503 with Retry-After) instead of
    piling up. With a `niceness` the threads run at a lower CPU priority (Linux), so on a
    small container the work yields the CPU to serving everything else. The bound is kept
    with a thread lock, not an asyncio primitive, so one pool
    serves every event loop and thread of the process.
    """

    def __init__(
        self,
        *,
        name: str,
        workers: int,
        max_waiting: int,
        wait_seconds: float,
        busy_detail: str,
        niceness: int = 0,
    ) -> None:
        if workers < 1 or max_waiting < 0 or wait_seconds <= 0:
            raise ValueError("a pool needs at least one worker and a positive wait")
        self.workers = workers
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self.busy_detail = busy_detail
        self._executor = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix=name,
            initializer=_thread_niceness_set,
            initargs=(niceness,),
        )
        self._lock = threading.Lock()
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """Jobs running or waiting right now."""
        with self._lock:
            return self._admitted

    def _busy(self) -> Unavailable:
        return Unavailable(f"{self.busy_detail}; try again in a moment", retry_after=1)

    def _release(self, _future: Future) -> None:
        with self._lock:
            self._admitted -= 1

    async def run(self, function: Callable[..., T], /, **kwargs: Any) -> T:
        """`function(**kwargs)` on one of the pool's threads; Unavailable when it is busy."""
        with self._lock:
            if self._admitted >= self.workers + self.max_waiting:
                raise self._busy()
            self._admitted += 1
        future = self._executor.submit(function, **kwargs)
        # Called once the job has finished or was cancelled before it started.
        future.add_done_callback(self._release)
        waiting = asyncio.wrap_future(future)
        # Its outcome is read here, or nowhere once the caller has gone.
        waiting.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), timeout=self.wait_seconds)
        except TimeoutError:
            if future.cancel():
                raise self._busy() from None
            # Already running: it ends soon, and its result is what the caller waited for.
            return await waiting
        except asyncio.CancelledError:
            # The caller went away: a job that has not started yet need not run at all.
            future.cancel()
            raise

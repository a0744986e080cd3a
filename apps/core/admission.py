"""Admission control: at most so many of one kind of work in progress in this process, a
short bounded wait for a place, and a prompt `Busy` refusal beyond it.

Past its capacity a server that takes everything in only makes every request slower: the
work in progress piles up on the thread pool, the provider connections and the event loop,
each request waits behind all the others, timeouts fire, and what is delivered per second
falls. Admitting only what the process can finish promptly keeps it delivering at capacity;
the excess is told at once to come back (`Busy`: 503 with `Retry-After`, or a socket error
frame with `code: "busy"`), having cost nothing but the refusal.

One gate per event loop (Daphne serves on one; tests and commands run several), so its
asyncio primitives are never shared between loops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from apps.core.errors import Busy
from apps.core.loop_local import LoopLocal

BUSY_RETRY_AFTER_SECONDS = 1


class AdmissionGate:
    """At most `limit` holders at once; a newcomer waits up to `wait_seconds` for a place,
    with at most `max_waiting` waiting, and is refused `Busy` beyond either bound."""

    def __init__(
        self, *, limit: int, wait_seconds: float, max_waiting: int, busy_detail: str
    ) -> None:
        if limit < 1 or wait_seconds < 0 or max_waiting < 0:
            raise ValueError("a gate needs a limit of at least 1 and no negative bounds")
        self.limit = limit
        self.wait_seconds = wait_seconds
        self.max_waiting = max_waiting
        self.busy_detail = busy_detail
        self._semaphore = asyncio.Semaphore(limit)
        self._in_progress = 0
        self._waiting = 0
        self.refused = 0  # since this gate was made, for logs and benchmarks

    @property
    def in_progress(self) -> int:
        return self._in_progress

    @property
    def waiting(self) -> int:
        return self._waiting

    def _busy(self) -> Busy:
        self.refused += 1
        return Busy(self.busy_detail, retry_after=BUSY_RETRY_AFTER_SECONDS)

    async def _enter(self) -> None:
        if not self._semaphore.locked() and not self._waiting:
            await self._semaphore.acquire()  # a free place: taken without waiting
        else:
            if self._waiting >= self.max_waiting or self.wait_seconds == 0:
                raise self._busy()
            self._waiting += 1
            try:
                await asyncio.wait_for(self._semaphore.acquire(), timeout=self.wait_seconds)
            except TimeoutError:
                raise self._busy() from None
            finally:
                self._waiting -= 1
        self._in_progress += 1

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold a place for the body; `Busy` when none comes free in time."""
        await self._enter()
        try:
            yield
        finally:
            self._in_progress -= 1
            self._semaphore.release()


def gate_per_loop(
    *, settings_read: Callable[[], tuple[int, float, int]], busy_detail: str
) -> LoopLocal[AdmissionGate]:
    """A gate for each running event loop, rebuilt when its settings change (tests do):
    `settings_read()` gives (limit, wait_seconds, max_waiting)."""

    def build() -> AdmissionGate:
        limit, wait_seconds, max_waiting = settings_read()
        return AdmissionGate(
            limit=limit, wait_seconds=wait_seconds, max_waiting=max_waiting, busy_detail=busy_detail
        )

    return LoopLocal(build=build, settings_key=settings_read)

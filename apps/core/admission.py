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
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from apps.core.errors import Busy
from apps.core.loop_local import LoopLocal

BUSY_RETRY_AFTER_SECONDS = 1
# Far past capacity, `retry_after` grows with the refusals per admission in the last second
# or two, up to this: a client told to come back in 1 s while the gate refuses nine of every
# ten is refused again, and each refusal costs the CPU the admitted work needs.
BUSY_RETRY_AFTER_MAX_SECONDS = 10
REFUSAL_TALLY_SECONDS = 1.0
# How often the loop's lateness is sampled while a gate is in use, and for how long after
# its last use.
LAG_SAMPLE_SECONDS = 0.02
LAG_WATCH_IDLE_SECONDS = 2.0
LAG_SAMPLES = 4
# A result not seen coming back this long after it went out is taken as never coming (its
# socket went away, its frame was dropped) rather than as late.
DELIVERY_WATCH_EXPIRE_SECONDS = 2.0
# Distinct sockets whose copies must be late before the process counts as late.
DELIVERY_WATCH_QUORUM = 3


class LoopLag:
    """How late this event loop runs what is due, sustained: sleeps of LAG_SAMPLE_SECONDS
    are timed, and the least overshoot of the last LAG_SAMPLES kept, so one slow moment (a
    first import, a garbage collection) does not count, a loop behind at every turn does.
    Work that waits on the loop (deliveries to sockets, acks) is that much late on top of
    its own time, so a loop this far behind has no room for more sends, however few are in
    progress."""

    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=LAG_SAMPLES)
        self._task: asyncio.Task | None = None
        self._used_at = 0.0

    @property
    def seconds(self) -> float:
        return min(self._samples) if len(self._samples) == LAG_SAMPLES else 0.0

    def used(self) -> None:
        loop = asyncio.get_running_loop()
        self._used_at = loop.time()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._watch())

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() - self._used_at < LAG_WATCH_IDLE_SECONDS:
            due = loop.time() + LAG_SAMPLE_SECONDS
            await asyncio.sleep(LAG_SAMPLE_SECONDS)
            self._samples.append(max(0.0, loop.time() - due))
        self._samples.clear()


class DeliveryWatch:
    """How far behind this process delivers what it has already answered: each piece of
    work is noted when answered (a send's ack) and again when its result comes back round
    (the sender's own copy of the message, through the broadcaster, Redis and the socket's
    queue), and `oldest_seconds` is how long the oldest have been on their way. Work
    admitted now would be delivered behind all of that, so a process whose deliveries run
    late has no room for more, however few sends are in progress: this is the backlog
    between the ack and the readers, which the count of sends in progress and the loop's
    lateness do not see. It reads at once, without waiting for a late delivery to arrive
    and be timed, and clears as soon as the backlog has gone out.

    Each piece of work is noted `by` whoever waits for it (a socket). One socket can hold
    its own copies up (a consumer busy with a long catch-up for a client that does not
    read), which says nothing of the process: the age counted is that of the oldest noted
    by the `quorum`-th distinct waiter, so a few such sockets cannot refuse everyone's
    sends. A backlog of the process's own holds up every socket's copies at once."""

    def __init__(
        self,
        *,
        expire_seconds: float = DELIVERY_WATCH_EXPIRE_SECONDS,
        quorum: int | None = None,
    ) -> None:
        self.expire_seconds = expire_seconds
        self.quorum = quorum if quorum is not None else DELIVERY_WATCH_QUORUM
        self._since: dict[str, tuple[float, object]] = {}  # in the order they went out

    def went_out(self, key: str, *, by: object) -> None:
        self._since.setdefault(key, (time.monotonic(), by))

    def came_back(self, key: str) -> None:
        self._since.pop(key, None)

    @property
    def on_the_way(self) -> int:
        return len(self._since)

    @property
    def oldest_seconds(self) -> float:
        now = time.monotonic()
        while self._since:
            key, (since, _by) = next(iter(self._since.items()))
            if now - since <= self.expire_seconds:
                break
            del self._since[key]
        waiters: set[int] = set()
        for since, by in self._since.values():
            waiters.add(id(by))
            if len(waiters) >= self.quorum:
                return now - since
        return 0.0


class _RefusalTally:
    """Refusals and admissions in this window of REFUSAL_TALLY_SECONDS and the one before;
    `retry_after` is how many seconds of admissions the refused would fill, so those told
    to come back are spread over the time the gate can take them in (at least
    BUSY_RETRY_AFTER_SECONDS, at most BUSY_RETRY_AFTER_MAX_SECONDS)."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._now = [0, 0]  # refused, admitted
        self._before = [0, 0]

    def _roll(self) -> None:
        now = time.monotonic()
        if now - self._started >= REFUSAL_TALLY_SECONDS:
            recent = now - self._started < 2 * REFUSAL_TALLY_SECONDS
            self._before = self._now if recent else [0, 0]
            self._now = [0, 0]
            self._started = now

    def refused(self) -> None:
        self._roll()
        self._now[0] += 1

    def admitted(self) -> None:
        self._roll()
        self._now[1] += 1

    def retry_after(self) -> int:
        refused = self._now[0] + self._before[0]
        admitted = self._now[1] + self._before[1]
        seconds = -(-refused // max(1, admitted))  # rounded up
        return min(BUSY_RETRY_AFTER_MAX_SECONDS, max(BUSY_RETRY_AFTER_SECONDS, seconds))


class AdmissionGate:
    """At most `limit` holders at once; a newcomer waits up to `wait_seconds` for a place,
    with at most `max_waiting` waiting, and is refused `Busy` beyond either bound. With a
    `max_loop_lag`, a newcomer is also refused while the event loop runs that far behind
    (LoopLag); with a `max_delivery_lag`, while what was already answered is that far behind
    in coming back (DeliveryWatch, fed by the caller)."""

    def __init__(
        self,
        *,
        limit: int,
        wait_seconds: float,
        max_waiting: int,
        busy_detail: str,
        max_loop_lag: float = 0.0,
        max_delivery_lag: float = 0.0,
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
        self._tally = _RefusalTally()
        self.max_loop_lag = max_loop_lag
        self.loop_lag = LoopLag()
        self.max_delivery_lag = max_delivery_lag
        self.delivery_watch = DeliveryWatch()

    @property
    def in_progress(self) -> int:
        return self._in_progress

    @property
    def waiting(self) -> int:
        return self._waiting

    def _busy(self) -> Busy:
        self.refused += 1
        self._tally.refused()
        return Busy(self.busy_detail, retry_after=self._tally.retry_after())

    def _too_late(self) -> bool:
        if 0 < self.max_delivery_lag < self.delivery_watch.oldest_seconds:
            return True
        if self.max_loop_lag <= 0:
            return False
        self.loop_lag.used()
        return self.loop_lag.seconds > self.max_loop_lag

    def refusal_now(self) -> Busy | None:
        """The refusal a newcomer would get without waiting (the loop or deliveries late, no place
        free and no room to wait), counted as one; None if it may try `admitted()`. A caller
        asks this before it builds anything for the work (a task, a coroutine): past
        capacity most arrivals are refused, and the refusals then cost as little as can be,
        leaving the CPU to the work admitted."""
        if self._too_late() or (
            (self._semaphore.locked() or self._waiting)
            and (self._waiting >= self.max_waiting or self.wait_seconds == 0)
        ):
            return self._busy()
        return None

    async def _enter(self) -> None:
        if self._too_late():
            raise self._busy()
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
        self._tally.admitted()

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
    *, settings_read: Callable[[], tuple[int, float, int, float, float]], busy_detail: str
) -> LoopLocal[AdmissionGate]:
    """A gate for each running event loop, rebuilt when its settings change (tests do):
    `settings_read()` gives (limit, wait_seconds, max_waiting, max_loop_lag,
    max_delivery_lag)."""

    def build() -> AdmissionGate:
        limit, wait_seconds, max_waiting, max_loop_lag, max_delivery_lag = settings_read()
        return AdmissionGate(
            limit=limit,
            wait_seconds=wait_seconds,
            max_waiting=max_waiting,
            busy_detail=busy_detail,
            max_loop_lag=max_loop_lag,
            max_delivery_lag=max_delivery_lag,
        )

    return LoopLocal(build=build, settings_key=settings_read)

"""The bounded pool for heavy work (password hashing): how many jobs run at once, how many
may wait, what a caller beyond that is told, and that the blocking pool stays free."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from apps.core.concurrency import BoundedPool, run_blocking
from apps.core.errors import Unavailable


def _pool(**overrides) -> BoundedPool:
    options = {
        "name": "test-pool",
        "workers": 2,
        "max_waiting": 16,
        "wait_seconds": 10.0,
        "busy_detail": "too busy",
    }
    options.update(overrides)
    return BoundedPool(**options)


class ConcurrencyMeter:
    """A job that holds its thread for a while and records how many ran at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, *, value: int) -> int:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        return value * 2


async def test_at_most_the_workers_run_at_once_and_every_result_comes_back():
    pool = _pool(workers=2)
    meter = ConcurrencyMeter(0.05)

    results = await asyncio.gather(*(pool.run(meter, value=index) for index in range(10)))

    assert results == [index * 2 for index in range(10)]
    assert meter.most == 2
    assert pool.admitted == 0


async def test_callers_beyond_the_queue_are_told_503_with_retry_after_at_once():
    pool = _pool(workers=1, max_waiting=1)
    release = threading.Event()
    first = asyncio.ensure_future(pool.run(release.wait, timeout=5))
    second = asyncio.ensure_future(pool.run(release.wait, timeout=5))
    await asyncio.sleep(0.05)

    started = time.monotonic()
    with pytest.raises(Unavailable) as refused:
        await pool.run(release.wait, timeout=5)

    assert time.monotonic() - started < 0.5
    assert refused.value.status == 503
    assert refused.value.retry_after == 1
    assert refused.value.detail.startswith("too busy")
    release.set()
    assert await first is True
    assert await second is True
    # Room again once the queue has drained.
    assert await pool.run(lambda: "done") == "done"


async def test_a_job_that_waits_too_long_is_refused_and_never_runs():
    pool = _pool(workers=1, max_waiting=4, wait_seconds=0.2)
    release = threading.Event()
    ran = threading.Event()
    blocker = asyncio.ensure_future(pool.run(release.wait, timeout=5))
    await asyncio.sleep(0.05)

    with pytest.raises(Unavailable):
        await pool.run(ran.set)

    release.set()
    assert await blocker is True
    await asyncio.sleep(0.1)
    assert not ran.is_set()
    assert pool.admitted == 0


async def test_a_running_job_outlives_the_wait_and_its_result_is_returned():
    pool = _pool(workers=1, wait_seconds=0.1)

    assert await pool.run(lambda: time.sleep(0.3) or "slow but started") == "slow but started"


async def test_an_error_in_a_job_reaches_its_caller_and_frees_its_place():
    pool = _pool(workers=1, max_waiting=0)

    def failing():
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        await pool.run(failing)
    assert pool.admitted == 0
    assert await pool.run(lambda: 1) == 1


async def test_blocking_calls_do_not_wait_behind_a_full_pool():
    pool = _pool(workers=2, max_waiting=40)
    release = threading.Event()
    jobs = [asyncio.ensure_future(pool.run(release.wait, timeout=5)) for _ in range(40)]
    await asyncio.sleep(0.05)

    started = time.monotonic()
    await asyncio.wait_for(run_blocking(time.sleep)(0.01), timeout=2)

    assert time.monotonic() - started < 0.5
    release.set()
    assert all(await asyncio.gather(*jobs))


def test_a_pool_without_workers_or_with_no_wait_is_refused():
    with pytest.raises(ValueError):
        _pool(workers=0)
    with pytest.raises(ValueError):
        _pool(wait_seconds=0)


async def test_a_pool_with_a_niceness_runs_its_jobs_at_lower_priority_and_nothing_else():
    def own_niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    base = own_niceness()
    assert base < 19
    pool = _pool(niceness=19)

    assert await pool.run(own_niceness) == 19
    assert own_niceness() == base
    assert await run_blocking(own_niceness)() == base

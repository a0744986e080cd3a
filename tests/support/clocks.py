"""A clock a test moves by hand, for code that takes a `Clock` (apps/chats/live_translation.py):
timing is asserted without sleeping, so a loaded machine cannot make it fail."""

from __future__ import annotations

import asyncio

# Loop turns `advance` lets run after moving the time: enough for a woken task to take its
# next steps (a send, an announcement) before the test looks.
SETTLE_TURNS = 20


class FakeClock:
    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, asyncio.Future]] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken = asyncio.get_running_loop().create_future()
        sleeper = (self._now + seconds, woken)
        self._sleepers.append(sleeper)
        try:
            await woken
        finally:
            self._sleepers.remove(sleeper)

    async def advance(self, seconds: float) -> None:
        """Move the time on, wake every sleeper whose wait is over, and let them run."""
        await self.settle()
        self._now += seconds
        for deadline, woken in list(self._sleepers):
            if deadline <= self._now and not woken.done():
                woken.set_result(None)
        await self.settle()

    @staticmethod
    async def settle() -> None:
        for _ in range(SETTLE_TURNS):
            await asyncio.sleep(0)

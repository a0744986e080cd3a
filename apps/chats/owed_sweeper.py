"""Every serving process works off the owed translations that are due, whoever sent them.

A sweep is one Query per shard of the `owed_translations` table's `due_index` (records due
now, apps/chats/owed_translations.py); each record found is claimed (a conditional update:
one instance at a time, however many sweep) and attempted (the action
`actions.do_make_owed_translations`, which stores and announces what it makes).
So translations owed by an instance that restarted or died are made by whichever instance is
alive. The sweeper starts with the first request or socket the process serves
(`OwedTranslationSweeping` wraps the ASGI application), never in a management command, and
runs every `OWED_TRANSLATION_SWEEP_SECONDS` (0: never). A failed sweep (DynamoDB or Redis
down) is logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

from apps.chats import actions
from apps.chats.models import OwedTranslation
from apps.chats.owed_translations import OWED_SHARDS, owed_translation_claim, owed_translations_due
from apps.chats.translation import translation_configured
from apps.core.concurrency import run_blocking
from apps.core.outages import outage_caused

logger = logging.getLogger(__name__)

# Records taken from each shard per sweep, and attempts under way at once: after a long
# provider outage the backlog is worked off at a steady pace instead of all at once.
SWEEP_BATCH = 25
SWEEP_CONCURRENCY = 8


class OwedTranslationSweeper:
    def __init__(self, *, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as error:
                _failure_log(error, "a sweep for owed translations failed")
            await asyncio.sleep(self.interval_seconds)

    async def sweep(self) -> int:
        """Attempt every owed translation due now that no other instance holds. Returns how
        many records this sweep claimed."""
        if not translation_configured():
            # Nothing could be asked; the records wait for a key (and count no attempt).
            return 0
        found = await asyncio.gather(
            *(
                run_blocking(owed_translations_due)(shard=str(shard), limit=SWEEP_BATCH)
                for shard in range(OWED_SHARDS)
            )
        )
        limit = asyncio.Semaphore(SWEEP_CONCURRENCY)

        async def work(record: OwedTranslation) -> bool:
            async with limit:
                claimed = await run_blocking(owed_translation_claim)(
                    shard=record.shard, message_key=record.message_key
                )
                if claimed is None:
                    return False  # another instance took it first
                await actions.do_make_owed_translations(record=claimed)
                return True

        outcomes = await asyncio.gather(
            *(work(record) for records in found for record in records), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                # Its claim's lease runs out and it is due again then.
                _failure_log(outcome, "an owed translation's record could not be updated")
        return sum(outcome is True for outcome in outcomes)


def _failure_log(error: Exception, what: str) -> None:
    if outage_caused(error):
        logger.warning("%s (%s); trying again later", what, type(error).__name__)
    else:
        logger.error("%s; trying again later", what, exc_info=error)


_sweepers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


def owed_translation_sweeper_ensure() -> None:
    """Start this event loop's sweeper, unless it runs already or sweeping is off."""
    interval = settings.OWED_TRANSLATION_SWEEP_SECONDS
    if interval <= 0:
        return
    loop = asyncio.get_running_loop()
    task = _sweepers.get(loop)
    if task is not None and not task.done():
        return
    for stale in [stale for stale in _sweepers if stale.is_closed()]:
        del _sweepers[stale]
    sweeper = OwedTranslationSweeper(interval_seconds=interval)
    _sweepers[loop] = loop.create_task(sweeper.run(), name="owed-translation-sweeper")


async def owed_translation_sweeper_stop() -> None:
    """Stop this event loop's sweeper, if it runs (tests; a loop about to close)."""
    task = _sweepers.pop(asyncio.get_running_loop(), None)
    if task is None:
        return
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class OwedTranslationSweeping:
    """ASGI wrapper: the first request or socket the process serves starts its sweeper, on
    the event loop that serves them (Daphne has no start-up hook of its own)."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        owed_translation_sweeper_ensure()
        return await self.application(scope, receive, send)

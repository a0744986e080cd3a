"""Ending what a test's event loop still has running, before the loop closes."""

from __future__ import annotations

import asyncio


async def owed_translation_retries_cancel() -> None:
    """Cancel this loop's owed-translation retries still waiting (the follow-ups of sends,
    apps.chats.sending): they belong to the loop, and a later test's loop cannot finish them."""
    from apps.chats import sending
    from apps.core.background import background_tasks_named

    leftovers = background_tasks_named(name=sending.FOLLOW_UP_TASK)
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)

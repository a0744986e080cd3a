"""Ending what a test's event loop still has running, before the loop closes."""

from __future__ import annotations

import asyncio


async def owed_translation_retries_cancel() -> None:
    """Cancel this loop's owed-translation retries still waiting (apps.chats.sending): they
    belong to the loop, and a later test's loop cannot finish them."""
    from apps.chats import sending

    loop = asyncio.get_running_loop()
    leftovers = [task for task in sending.follow_up_tasks if task.get_loop() is loop]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)

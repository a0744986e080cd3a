"""What the chats app does when something happens in an app below it (connected in
ChatsConfig.ready)."""

from __future__ import annotations

from apps.accounts.models import User
from apps.core.concurrency import run_blocking


async def user_language_changed_receive(*, sender: type, user: User, **kwargs) -> int:
    """A user's new native language and read languages go into every chat of theirs
    (messages written from now on are translated into that language, and not for them from
    a language they also read); how many chats changed."""
    from apps.chats.services import chat_languages_refresh

    return await run_blocking(chat_languages_refresh)(user=user)

"""Reads for voice: a chat as voice may see it, the state of its call and of its push-to-talk
turn (in Redis through apps.core.keyvalue, so every instance sees the same). The values themselves are in apps.voice.types.
"""

from __future__ import annotations

from apps.chats.models import Chat
from apps.chats.selectors import chat_get_for_member
from apps.core.concurrency import run_blocking
from apps.core.errors import Forbidden, NotFound
from apps.core.keyvalue import keyvalue_store
from apps.voice.types import Call, TurnLock

CALL_KEY_PREFIX = "voice:call:"
TURN_KEY_PREFIX = "voice:turn:"

CHAT_NOT_FOUND = "Chat not found"


def voice_chat_get(*, chat_id: str, user_id: str) -> Chat:
    """The chat, if `user_id` belongs to it; otherwise 404 "Chat not found", whether or not the
    chat exists, so voice tells an outsider nothing about a chat (nor whether it has a call)."""
    try:
        return chat_get_for_member(chat_id=chat_id, user_id=user_id)
    except (Forbidden, NotFound) as error:
        raise NotFound(CHAT_NOT_FOUND) from error


def call_key(*, chat_id: str) -> str:
    return f"{CALL_KEY_PREFIX}{chat_id}"


def turn_key(*, chat_id: str) -> str:
    return f"{TURN_KEY_PREFIX}{chat_id}"


async def call_get(*, chat_id: str) -> Call | None:
    raw = await keyvalue_store().get(call_key(chat_id=chat_id))
    return Call.decode(raw) if raw else None


async def call_get_for_member(*, chat_id: str, user_id: str) -> Call | None:
    """The chat's call, for a member; outsiders get 404 "Chat not found" as for no chat."""
    await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user_id)
    return await call_get(chat_id=chat_id)


async def turn_lock_get(*, chat_id: str) -> TurnLock | None:
    raw = await keyvalue_store().get(turn_key(chat_id=chat_id))
    return TurnLock.decode(raw) if raw else None

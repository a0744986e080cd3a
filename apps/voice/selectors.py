"""Reads for voice: the state of a chat's call and of its push-to-talk turn (kept in Redis
through apps.core.keyvalue, so every instance sees the same), and names derived from a chat.

Both states are JSON strings under one key per chat. A state change is a compare-and-set on
the exact string read (apps.voice.services), so each value keeps its `raw` form.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from apps.chats.models import Chat
from apps.chats.selectors import chat_get_for_member
from apps.core.errors import Forbidden, NotFound
from apps.core.keyvalue import keyvalue_store

CALL_KEY_PREFIX = "voice:call:"
TURN_KEY_PREFIX = "voice:turn:"

CHAT_NOT_FOUND = "Chat not found"

CALL_RINGING = "ringing"
CALL_ACTIVE = "active"


def voice_chat_get(*, chat_id: str, user_id: str) -> Chat:
    """The chat, if `user_id` belongs to it; otherwise 404 "Chat not found", whether or not the
    chat exists, so voice tells an outsider nothing about a chat (nor whether it has a call)."""
    try:
        return chat_get_for_member(chat_id=chat_id, user_id=user_id)
    except (Forbidden, NotFound) as error:
        raise NotFound(CHAT_NOT_FOUND) from error


def call_room_name(*, chat_id: str) -> str:
    """The LiveKit room of a chat's calls (the client contract's `chat-{chat_id}`)."""
    return f"chat-{chat_id}"


def call_key(*, chat_id: str) -> str:
    return f"{CALL_KEY_PREFIX}{chat_id}"


def turn_key(*, chat_id: str) -> str:
    return f"{TURN_KEY_PREFIX}{chat_id}"


@dataclass(frozen=True)
class Call:
    """A chat's call: ringing until someone answers, then active until too few remain."""

    call_id: str
    chat_id: str
    caller_id: str
    state: str
    # Every member of the chat when the call started, with their language.
    member_languages: dict[str, str]
    participants: tuple[str, ...]
    declined: tuple[str, ...] = ()
    started_at: str = ""
    answered_at: str | None = None
    # The stored JSON this value was read from ("" for a value not stored yet).
    raw: str = field(default="", compare=False, repr=False)

    @property
    def member_ids(self) -> list[str]:
        return sorted(self.member_languages)

    def encode(self) -> str:
        data = dataclasses.asdict(self)
        del data["raw"]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def changed(self, **changes) -> Call:
        return dataclasses.replace(self, raw="", **changes)

    @classmethod
    def decode(cls, raw: str) -> Call:
        data = json.loads(raw)
        data["participants"] = tuple(data.get("participants") or ())
        data["declined"] = tuple(data.get("declined") or ())
        return cls(**data, raw=raw)


def call_view(*, call: Call) -> dict:
    """A call as clients see it (in `call_status` replies)."""
    return {
        "call_id": call.call_id,
        "chat_id": call.chat_id,
        "caller_id": call.caller_id,
        "state": call.state,
        "participants": list(call.participants),
        "started_at": call.started_at,
        "answered_at": call.answered_at,
        "room_name": call_room_name(chat_id=call.chat_id),
    }


async def call_get(*, chat_id: str) -> Call | None:
    raw = await keyvalue_store().get(call_key(chat_id=chat_id))
    return Call.decode(raw) if raw else None


@dataclass(frozen=True)
class TurnLock:
    """Who holds a chat's push-to-talk turn: one speaker at a time."""

    turn_id: str
    chat_id: str
    call_id: str
    speaker_id: str
    # The call's participants when the turn began: everyone who sees its state.
    participants: tuple[str, ...]
    raw: str = field(default="", compare=False, repr=False)

    def encode(self) -> str:
        data = dataclasses.asdict(self)
        del data["raw"]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @property
    def listener_ids(self) -> list[str]:
        return [user_id for user_id in self.participants if user_id != self.speaker_id]

    @classmethod
    def decode(cls, raw: str) -> TurnLock:
        data = json.loads(raw)
        data["participants"] = tuple(data.get("participants") or ())
        return cls(**data, raw=raw)


async def turn_lock_get(*, chat_id: str) -> TurnLock | None:
    raw = await keyvalue_store().get(turn_key(chat_id=chat_id))
    return TurnLock.decode(raw) if raw else None

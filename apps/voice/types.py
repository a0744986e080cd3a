"""Voice's domain values: a chat's call and the lock of its push-to-talk turn (both kept in
Redis as JSON, one key per chat), their states, and the names the protocol gives them.

A state change is a compare-and-set on the exact string read (apps.voice.services), so each
value keeps its `raw` form.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Final

from apps.voice.protocol import CallState

CALL_RINGING: Final = "ringing"
CALL_ACTIVE: Final = "active"

# Why an answered call ended, as `call_ended` says.
LEFT_REASON_HANGUP: Final = "hangup"
LEFT_REASON_DISCONNECTED: Final = "left"

# How a push-to-talk turn went back to idle, as `voice_turn` `idle` says.
TURN_COMPLETE: Final = "complete"
TURN_CANCELLED: Final = "cancelled"
TURN_ERROR: Final = "error"


def call_room_name(*, chat_id: str) -> str:
    """The LiveKit room of a chat's calls (the client contract's `chat-{chat_id}`)."""
    return f"chat-{chat_id}"


def _encoded(value) -> str:
    data = dataclasses.asdict(value)
    del data["raw"]
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Call:
    """A chat's call: ringing until someone answers, then active until too few remain."""

    call_id: str
    chat_id: str
    caller_id: str
    state: CallState
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
        return _encoded(self)

    def changed(self, **changes) -> Call:
        return dataclasses.replace(self, raw="", **changes)

    @classmethod
    def decode(cls, raw: str) -> Call:
        data = json.loads(raw)
        data["participants"] = tuple(data.get("participants") or ())
        data["declined"] = tuple(data.get("declined") or ())
        return cls(**data, raw=raw)


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
        return _encoded(self)

    @property
    def listener_ids(self) -> list[str]:
        return [user_id for user_id in self.participants if user_id != self.speaker_id]

    @classmethod
    def decode(cls, raw: str) -> TurnLock:
        data = json.loads(raw)
        data["participants"] = tuple(data.get("participants") or ())
        return cls(**data, raw=raw)

"""The refusals only voice makes: each a kind of one of apps.core.errors' statuses (which
is the one family of errors), with what voice adds to it."""

from __future__ import annotations

from apps.core.errors import Conflict, NotFound, PayloadTooLarge
from apps.voice.types import Call

CALL_GONE = "That call is over"
CALL_IN_PROGRESS = "A call is already in progress in this chat"


class CallGone(NotFound):
    """The call named is not the chat's call (over, never was, or the chat is not yours)."""


class CallInProgress(Conflict):
    """The chat already has a call; `call` is it (the error frame carries it)."""

    def __init__(self, detail: str, *, call: Call | None) -> None:
        super().__init__(detail)
        self.call = call


class TurnTaken(Conflict):
    """Someone else in the call holds the turn."""


class RecordingTooLong(PayloadTooLarge):
    """A push-to-talk recording over its size limit."""

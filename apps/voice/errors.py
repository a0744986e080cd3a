"""The refusals voice adds to apps.core.errors, each with its status and the text a client
sees."""

from __future__ import annotations

from apps.core.errors import Conflict, ServiceError
from apps.voice.types import Call

CALL_GONE = "That call is over"
CALL_IN_PROGRESS = "A call is already in progress in this chat"


class CallGone(ServiceError):
    """The call named is not the chat's call (over, never was, or the chat is not yours)."""

    status = 404


class CallInProgress(Conflict):
    """The chat already has a call; `call` is it (the error frame carries it)."""

    def __init__(self, detail: str, *, call: Call | None) -> None:
        super().__init__(detail)
        self.call = call


class TurnTaken(Conflict):
    pass


class RecordingTooLong(ServiceError):
    status = 413


class PayloadTooLarge(ServiceError):
    status = 413

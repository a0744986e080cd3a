"""The voice frames of the chat socket as data: the fields read from a client's frame, and
the replies shaped for it (`call_status`, errors). apps.realtime.voice_handlers uses them.

Chat and call ids are 32 hex digits; a longer string is not one, and is never echoed back.
"""

from __future__ import annotations

import base64
import binascii
from typing import TypedDict

from apps.core.errors import InvalidInput, ServiceError
from apps.realtime.frames import Frame
from apps.realtime.protocol import ErrorFrame
from apps.voice.protocol import CallStatusFrame, CallView
from apps.voice.speech import DEFAULT_AUDIO_FORMAT
from apps.voice.types import Call, call_room_name

ID_MAX_CHARS = 64
NO_RECORDING = "No recording in progress; send ptt_start first"


class FrameIds(TypedDict, total=False):
    """The ids of a refused frame that its error frame echoes."""

    chat_id: str
    call_id: str


def _echoable_id(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= ID_MAX_CHARS else None


def frame_ids(frame: Frame) -> FrameIds:
    """The frame's chat and call ids, to echo in its reply."""
    ids: FrameIds = {}
    chat_id, call_id = _echoable_id(frame.get("chat_id")), _echoable_id(frame.get("call_id"))
    if chat_id is not None:
        ids["chat_id"] = chat_id
    if call_id is not None:
        ids["call_id"] = call_id
    return ids


def frame_refusal(*, detail: str, frame: Frame) -> ErrorFrame:
    """An error frame for `frame`, echoing its ids."""
    return {"error": detail, **frame_ids(frame)}


def frame_string(frame: Frame, name: str, *, max_chars: int | None = ID_MAX_CHARS) -> str:
    value = frame.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{name} is required")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInput(f"{name} must be at most {max_chars} characters")
    return value


def frame_audio_format(frame: Frame) -> str:
    audio_format = frame.get("format") or DEFAULT_AUDIO_FORMAT
    if not isinstance(audio_format, str):
        raise InvalidInput("format must be a string")
    return audio_format


def frame_audio(frame: Frame) -> bytes:
    """A `ptt_audio` frame's recording, sent as base64 by clients that cannot send binary."""
    try:
        return base64.b64decode(frame_string(frame, "data", max_chars=None), validate=True)
    except binascii.Error as error:
        raise InvalidInput("data must be base64") from error


def call_view(*, call: Call) -> CallView:
    """A call as clients see it (in `call_status` replies and `call_start` refusals)."""
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


def call_status_reply(*, chat_id: str, call: Call | None) -> CallStatusFrame:
    return {
        "type": "call_status",
        "chat_id": chat_id,
        "call": call_view(call=call) if call else None,
    }


def error_reply(error: ServiceError, frame: Frame) -> ErrorFrame:
    """A refusal, with the frame's ids, how long to wait when over a limit, and the call
    that is in the way when there is one."""
    payload = frame_refusal(detail=error.detail, frame=frame)
    if error.retry_after is not None:
        payload["retry_after"] = error.retry_after
    current = getattr(error, "call", None)
    if current is not None:
        payload["call"] = call_view(call=current)
    return payload

"""The frames the socket layer builds itself (errors, pong) and the checks on fields every
handler shares. Handlers get a client's frame as it was parsed (`Frame`: nothing in it is
trusted yet); the checks here return its fields typed. apps/realtime/protocol.py describes
the frames themselves."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TypeGuard

from apps.chats.sending import CLIENT_MSG_ID_MAX_CHARS
from apps.core.errors import InvalidInput
from apps.realtime.protocol import ErrorFrame

# Chat ids are 32 hex digits; anything much longer is not one, and DynamoDB would refuse it.
CHAT_ID_MAX_CHARS = 64
FRAME_TYPE_ECHO_MAX_CHARS = 40
SOMETHING_WENT_WRONG = "Something went wrong; try again"

# A client's frame as parsed from JSON, before any of its fields is checked.
Frame = Mapping[str, object]


def is_chat_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= CHAT_ID_MAX_CHARS


def frame_chat_id(frame: Frame) -> str:
    chat_id = frame.get("chat_id")
    if not is_chat_id(chat_id):
        raise InvalidInput("chat_id is required")
    return chat_id


def unknown_type_detail(kind: object) -> str:
    # Echo the type only when it is a short plain string: never a client's arbitrary text.
    if isinstance(kind, str) and len(kind) <= FRAME_TYPE_ECHO_MAX_CHARS and kind.isprintable():
        return f"unknown frame type: {kind}"
    return "unknown frame type"


def error_frame(
    detail: str,
    *,
    chat_id: object = None,
    client_msg_id: object = None,
    retry_after: int | None = None,
) -> ErrorFrame:
    """A refusal; the ids are echoed only when they are valid ones, never a client's text."""
    frame: ErrorFrame = {"error": detail}
    if retry_after is not None:
        frame["retry_after"] = retry_after
    if is_chat_id(chat_id):
        frame["chat_id"] = chat_id
    if isinstance(client_msg_id, str) and len(client_msg_id) <= CLIENT_MSG_ID_MAX_CHARS:
        frame["client_msg_id"] = client_msg_id
    return frame


def json_text(payload: Mapping[str, object]) -> str:
    text = json.dumps(payload, ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (a client's "\ud800") has no UTF-8 form; escaped, it has.
            return json.dumps(payload)
    return text

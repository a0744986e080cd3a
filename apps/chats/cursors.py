"""The history cursor: an opaque token for "messages before this sequence number"."""

from __future__ import annotations

import base64
import binascii

from apps.core.errors import InvalidInput


def message_cursor_encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def message_cursor_decode(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, _, value = base64.urlsafe_b64decode(padded).decode().partition(":")
        seq = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidInput("cursor is not valid") from error
    if kind != "seq" or seq < 1:
        raise InvalidInput("cursor is not valid")
    return seq

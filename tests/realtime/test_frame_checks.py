"""The socket layer's field checks and replies: what a refused frame echoes, and that a
socket's account exists only once it is accepted."""

from __future__ import annotations

import pytest

from apps.core.errors import InvalidInput
from apps.realtime.consumers import ChatConsumer
from apps.realtime.delivery import is_message_frame
from apps.realtime.frames import frame_chat_id, is_chat_id
from apps.realtime.voice_frames import frame_ids, frame_refusal


def test_a_chat_id_is_a_short_non_empty_string():
    assert is_chat_id("a" * 32)
    assert not is_chat_id("")
    assert not is_chat_id("a" * 65)
    assert not is_chat_id(7)
    assert frame_chat_id({"chat_id": "c1"}) == "c1"
    with pytest.raises(InvalidInput):
        frame_chat_id({"chat_id": ["c1"]})


def test_a_refusal_echoes_only_ids_that_could_be_ids():
    frame = {"type": "call_end", "chat_id": "c1", "call_id": "x" * 65}

    assert frame_ids(frame) == {"chat_id": "c1"}
    assert frame_refusal(detail="no", frame=frame) == {"error": "no", "chat_id": "c1"}
    assert frame_ids({"chat_id": 3, "call_id": "k"}) == {"call_id": "k"}


def test_only_a_message_frame_is_delivered_as_one():
    assert is_message_frame({"type": "message", "chat_id": "c1", "message": {}})
    assert not is_message_frame({"type": "typing", "chat_id": "c1"})
    assert not is_message_frame({"chat_id": "c1"})


def test_a_socket_not_accepted_has_no_account():
    consumer = ChatConsumer()

    with pytest.raises(RuntimeError):
        _ = consumer.user

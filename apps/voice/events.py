"""Every broadcast the voice app makes, each with its own event type.

Frames go through the chat app's per-user groups (`user.<user_id>`, handled by the chat
socket's `chat.frame` handler), so one socket per tab carries voice too. The frames, who
receives each and when, are the typed dicts of apps/voice/protocol.py: call frames go to
every member of the chat (each of a member's tabs rings, and stops ringing), push-to-talk
frames to the call's participants; the speaker never receives `voice_audio`.

One internal event, `voice.signal`, tells the speaker's sockets that a turn was aborted
elsewhere (it never reaches a client).
"""

from __future__ import annotations

import base64
from typing import TypedDict

from channels.layers import get_channel_layer

from apps.core.delivery import frames_deliver as _deliver
from apps.core.delivery import user_group
from apps.voice.protocol import (
    CallAcceptedFrame,
    CallCancelledFrame,
    CallDeclinedFrame,
    CallEndedFrame,
    CallEndReason,
    CallIncomingFrame,
    CallLeftFrame,
    CallMissedFrame,
    TurnEndReason,
    TurnState,
    VoiceAudioFrame,
    VoiceTurnFrame,
)
from apps.voice.types import Call, TurnLock, call_room_name

SIGNAL_HANDLER = "voice.signal"
SIGNAL_TURN_ABORTED = "turn_aborted"


# --- Calls -----------------------------------------------------------------------------------


class _CallIds(TypedDict):
    chat_id: str
    call_id: str


def _ids(call: Call) -> _CallIds:
    """The fields every call frame starts with; each frame goes to every member of the chat."""
    return {"chat_id": call.chat_id, "call_id": call.call_id}


async def call_incoming_broadcast(
    *, call: Call, caller_name: str, caller_username: str, ring_timeout_seconds: float
) -> None:
    frame = CallIncomingFrame(
        type="call_incoming",
        **_ids(call),
        caller_id=call.caller_id,
        caller_name=caller_name,
        caller_username=caller_username,
        room_name=call_room_name(chat_id=call.chat_id),
        started_at=call.started_at,
        ring_timeout_seconds=ring_timeout_seconds,
    )
    await _deliver(call.member_ids, frame)


async def call_accepted_broadcast(*, call: Call, user_id: str) -> None:
    room_name = call_room_name(chat_id=call.chat_id)
    frame = CallAcceptedFrame(
        type="call_accepted",
        **_ids(call),
        user_id=user_id,
        room_name=room_name,
        participants=list(call.participants),
        answered_at=call.answered_at,
    )
    await _deliver(call.member_ids, frame)


async def call_declined_broadcast(*, call: Call, user_id: str, final: bool) -> None:
    frame = CallDeclinedFrame(type="call_declined", **_ids(call), user_id=user_id, final=final)
    await _deliver(call.member_ids, frame)


async def call_cancelled_broadcast(*, call: Call, user_id: str) -> None:
    frame = CallCancelledFrame(type="call_cancelled", **_ids(call), user_id=user_id)
    await _deliver(call.member_ids, frame)


async def call_missed_broadcast(*, call: Call) -> None:
    frame = CallMissedFrame(type="call_missed", **_ids(call), caller_id=call.caller_id)
    await _deliver(call.member_ids, frame)


async def call_left_broadcast(*, call: Call, user_id: str) -> None:
    participants = list(call.participants)
    frame = CallLeftFrame(
        type="call_left", **_ids(call), user_id=user_id, participants=participants
    )
    await _deliver(call.member_ids, frame)


async def call_ended_broadcast(
    *, call: Call, user_id: str, reason: CallEndReason, duration_seconds: int
) -> None:
    frame = CallEndedFrame(
        type="call_ended",
        **_ids(call),
        user_id=user_id,
        reason=reason,
        duration_seconds=duration_seconds,
    )
    await _deliver(call.member_ids, frame)


# --- Push-to-talk turns ----------------------------------------------------------------------


def _turn_frame(lock: TurnLock, state: TurnState) -> VoiceTurnFrame:
    return VoiceTurnFrame(
        type="voice_turn",
        chat_id=lock.chat_id,
        call_id=lock.call_id,
        turn_id=lock.turn_id,
        speaker_id=lock.speaker_id,
        state=state,
    )


async def voice_turn_recording_broadcast(*, lock: TurnLock) -> None:
    await _deliver(lock.participants, _turn_frame(lock, "recording"))


async def voice_turn_processing_broadcast(*, lock: TurnLock) -> None:
    await _deliver(lock.participants, _turn_frame(lock, "processing"))


async def voice_turn_playing_broadcast(
    *,
    lock: TurnLock,
    original_text: str,
    original_language: str,
    translations: dict[str, str],
    participant_languages: dict[str, str],
    audio_format: str,
) -> None:
    """Everyone sees both transcripts; each reader's own version is `text`/`language`."""
    # Listeners first: their audio waits for this frame.
    for user_id in [*lock.listener_ids, lock.speaker_id]:
        language = participant_languages.get(user_id, original_language)
        if language == original_language or language not in translations:
            text, text_language = original_text, original_language
        else:
            text, text_language = translations[language], language
        frame = _turn_frame(lock, "playing")
        frame.update(
            {
                "original_text": original_text,
                "original_language": original_language,
                "translations": translations,
                "text": text,
                "language": text_language,
                "audio_format": audio_format,
            }
        )
        await _deliver([user_id], frame)


async def voice_turn_idle_broadcast(
    *,
    lock: TurnLock,
    reason: TurnEndReason,
    error: str | None = None,
    error_code: str | None = None,
    message_id: str | None = None,
    seq: int | None = None,
) -> None:
    frame = _turn_frame(lock, "idle")
    frame["reason"] = reason
    if error is not None:
        frame["error"] = error
        if error_code is not None:
            frame["error_code"] = error_code
    if message_id is not None:
        frame["message_id"] = message_id
        if seq is not None:
            frame["seq"] = seq
    await _deliver(lock.participants, frame)


async def voice_audio_broadcast(
    *, lock: TurnLock, language: str, listener_ids, seq: int, data: bytes, final: bool = False
) -> None:
    await _deliver(
        listener_ids,
        VoiceAudioFrame(
            type="voice_audio",
            chat_id=lock.chat_id,
            turn_id=lock.turn_id,
            language=language,
            seq=seq,
            data=base64.b64encode(data).decode("ascii"),
            final=final,
        ),
    )


async def voice_turn_aborted_signal(*, lock: TurnLock) -> None:
    """Tell the speaker's sockets (on whichever instance) to stop working on the turn."""
    await get_channel_layer().group_send(
        user_group(lock.speaker_id),
        {
            "type": SIGNAL_HANDLER,
            "signal": SIGNAL_TURN_ABORTED,
            "chat_id": lock.chat_id,
            "turn_id": lock.turn_id,
        },
    )

"""The wire shapes of voice: the call token reply, the frames about calls and push-to-talk
turns (apps/voice/events.py builds them, apps/realtime/voice_handlers.py answers
`call_status`), and the call and push-to-talk frames a client sends.

Typed dicts, so a frame or reply stays a plain dict at run time; the front end's types are
generated from these (apps/realtime/typescript.py) and tests/realtime checks real replies
and frames against them. This module imports nothing but `typing`.
"""

from typing import Literal, NotRequired, TypedDict

CallState = Literal["ringing", "active"]
TurnState = Literal["recording", "processing", "playing", "idle"]
TurnEndReason = Literal["complete", "cancelled", "error"]
CallEndReason = Literal["hangup", "left"]
# What a client may record in (`ptt_start`'s `format`; `webm` when absent).
AudioFormat = Literal["webm", "ogg", "wav", "mp3", "mp4", "flac", "pcm_s16le_16"]


class VoiceTokenReply(TypedDict):
    """`POST /api/voice/token`: the contract's `token` and `room_name`, plus LIVEKIT_URL."""

    token: str
    room_name: str
    url: str


class CallView(TypedDict):
    """A call as clients see it: in `call_status`, and in an error about a call under way."""

    call_id: str
    chat_id: str
    caller_id: str
    state: CallState
    participants: list[str]
    started_at: str
    answered_at: str | None
    room_name: str


# --- Frames the server sends about calls, to every member of the chat -----------------------


class CallIncomingFrame(TypedDict):
    type: Literal["call_incoming"]
    chat_id: str
    call_id: str
    caller_id: str
    caller_name: str
    caller_username: str
    room_name: str
    started_at: str
    ring_timeout_seconds: float


class CallAcceptedFrame(TypedDict):
    """A member answered, or joined a group call under way."""

    type: Literal["call_accepted"]
    chat_id: str
    call_id: str
    user_id: str
    participants: list[str]
    room_name: str
    answered_at: str | None


class CallDeclinedFrame(TypedDict):
    type: Literal["call_declined"]
    chat_id: str
    call_id: str
    user_id: str
    # True: the call is over (nobody is left to answer).
    final: bool


class CallCancelledFrame(TypedDict):
    """The caller hung up before an answer."""

    type: Literal["call_cancelled"]
    chat_id: str
    call_id: str
    user_id: str


class CallMissedFrame(TypedDict):
    """Nobody answered in time."""

    type: Literal["call_missed"]
    chat_id: str
    call_id: str
    caller_id: str


class CallLeftFrame(TypedDict):
    """A participant left a group call that goes on."""

    type: Literal["call_left"]
    chat_id: str
    call_id: str
    user_id: str
    participants: list[str]


class CallEndedFrame(TypedDict):
    """An answered call is over; `user_id` ended it, by hanging up or by leaving."""

    type: Literal["call_ended"]
    chat_id: str
    call_id: str
    user_id: str
    reason: CallEndReason
    duration_seconds: int


class CallStatusFrame(TypedDict):
    """The reply to a `call_status` request: the chat's call, or None."""

    type: Literal["call_status"]
    chat_id: str
    call: CallView | None


# --- Push-to-talk frames, to the call's participants ------------------------------------------


class VoiceTurnFrame(TypedDict):
    """Every participant, the speaker too, sees the same turn states: `recording` →
    `processing` → `playing` → `idle`. The keys after `state` come with one state only:
    `playing` has the transcripts (each reader's own version as `text`/`language`) and the
    audio's MIME type; `idle` has `reason`, an error's `error` and `error_code`, and the
    stored message's `message_id` and `seq` when the turn was stored."""

    type: Literal["voice_turn"]
    chat_id: str
    call_id: str
    turn_id: str
    speaker_id: str
    state: TurnState
    original_text: NotRequired[str]
    original_language: NotRequired[str]
    translations: NotRequired[dict[str, str]]
    text: NotRequired[str]
    language: NotRequired[str]
    audio_format: NotRequired[str]
    reason: NotRequired[TurnEndReason]
    error: NotRequired[str]
    # stt_failed, translation_failed, tts_failed, no_speech, no_audio, timeout,
    # participant_left, too_long, internal.
    error_code: NotRequired[str]
    message_id: NotRequired[str]
    seq: NotRequired[int]


class VoiceAudioFrame(TypedDict):
    """To the listeners of one language (never the speaker): synthesized speech, in order;
    an empty `final` frame ends the stream."""

    type: Literal["voice_audio"]
    chat_id: str
    turn_id: str
    language: str
    seq: int
    # Base64.
    data: str
    final: bool


VoiceFrame = (
    CallIncomingFrame
    | CallAcceptedFrame
    | CallDeclinedFrame
    | CallCancelledFrame
    | CallMissedFrame
    | CallLeftFrame
    | CallEndedFrame
    | CallStatusFrame
    | VoiceTurnFrame
    | VoiceAudioFrame
)

# --- Frames a client sends --------------------------------------------------------------------


class CallStartRequest(TypedDict):
    """Ring every other member."""

    type: Literal["call_start"]
    chat_id: str


class CallAcceptRequest(TypedDict):
    type: Literal["call_accept"]
    chat_id: str
    call_id: str


class CallDeclineRequest(TypedDict):
    type: Literal["call_decline"]
    chat_id: str
    call_id: str


class CallCancelRequest(TypedDict):
    type: Literal["call_cancel"]
    chat_id: str
    call_id: str


class CallEndRequest(TypedDict):
    """Hang up (cancels or declines a call still ringing)."""

    type: Literal["call_end"]
    chat_id: str
    call_id: str


class CallStatusRequest(TypedDict):
    """Answered by `call_status`."""

    type: Literal["call_status"]
    chat_id: str


class PttStartRequest(TypedDict):
    """Take the turn (needs an answered call you are in); the recording follows as binary
    frames, or as `ptt_audio` frames."""

    type: Literal["ptt_start"]
    chat_id: str
    format: NotRequired[AudioFormat]


class PttAudioRequest(TypedDict):
    """Part of the recording, for clients that cannot send binary frames."""

    type: Literal["ptt_audio"]
    chat_id: str
    # Base64.
    data: str


class PttStopRequest(TypedDict):
    """End the recording: the turn is processed."""

    type: Literal["ptt_stop"]
    chat_id: str


class PttCancelRequest(TypedDict):
    """Abandon the turn: everyone back to idle."""

    type: Literal["ptt_cancel"]
    chat_id: str


VoiceRequest = (
    CallStartRequest
    | CallAcceptRequest
    | CallDeclineRequest
    | CallCancelRequest
    | CallEndRequest
    | CallStatusRequest
    | PttStartRequest
    | PttAudioRequest
    | PttStopRequest
    | PttCancelRequest
)

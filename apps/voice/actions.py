"""Voice's use cases, one `do_*` function each: it validates, writes through
apps.voice.services, then tells whoever must know through apps.voice.events, after the
write. The socket layer's voice handlers (apps.realtime.voice_handlers) and the views call
only these.

Calls. A chat has at most one call at a time. Its state lives in Redis, so any instance can
handle any frame of it; every change is a compare-and-set, so when two things happen at once
(an answer as the ring times out, say) exactly one wins. Every member of the chat hears of
each change. The media itself goes through LiveKit (room `chat-{chat_id}`, tokens from
`do_issue_voice_token`). A call that ends without an answer (missed after
VOICE_RING_TIMEOUT_SECONDS, declined, or cancelled) and an answered call when it ends (with
its duration) become a message of kind "call" in the chat history. In a group chat, any
member may answer; others may join the call while it is active, and it ends when fewer than
two participants remain. A member declining a group call ends it only once every member but
the caller has declined.

Push-to-talk turns (the pipeline is apps.voice.turns). Any failure, the speaker or a listener
leaving, the speaker cancelling, or VOICE_TURN_TIMEOUT_SECONDS without completion returns
everyone to IDLE with the reason. Whoever frees the turn lock first (a compare-and-delete in
Redis) is the one that says so, so every participant sees exactly one IDLE per turn. An abort
decided elsewhere (a listener's socket closed on another instance) reaches the speaker's
instance as a `voice.signal`. The turn's words are stored as a chat message of kind "voice",
so the conversation survives the call.

Voice notes are transcribed, then sent through the chat's own send path; any message can be
read aloud in the reader's language (apps.voice.notes, apps.voice.speech_cache).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from django.conf import settings

from apps.accounts.models import User
from apps.accounts.selectors import user_display_name
from apps.chats import actions as chat_actions
from apps.chats import push_notifications, sending
from apps.chats.models import Message, MessageKind, message_deleted
from apps.chats.presenters import message_text_for
from apps.chats.selectors import map_as_dict, message_get
from apps.chats.services import MessageDraft
from apps.core.background import background_task_cancel, background_task_start
from apps.core.concurrency import run_blocking
from apps.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    Unavailable,
)
from apps.core.ratelimit import rate_limit_hit
from apps.voice import events, limits, services, turns
from apps.voice.errors import (
    CALL_GONE,
    CALL_IN_PROGRESS,
    CallGone,
    CallInProgress,
    RecordingTooLong,
    TurnTaken,
)
from apps.voice.notes import MessageAudio, voice_note_size_check
from apps.voice.phrases import (
    CALL_CANCELLED,
    CALL_DECLINED,
    CALL_ENDED,
    CALL_INCOMING,
    CALL_MISSED,
    call_phrase,
)
from apps.voice.protocol import CallEndReason, TurnEndReason, VoiceTokenReply
from apps.voice.selectors import (
    call_get,
    call_get_for_member,
    turn_lock_get,
    voice_chat_get,
)
from apps.voice.speech import (
    AUDIO_FORMATS,
    SpeechUnavailable,
    speech_transcribe,
    synthesized_content_type,
)
from apps.voice.speech_cache import speech_cached_stream
from apps.voice.turns import Turn
from apps.voice.types import (
    CALL_ACTIVE,
    CALL_RINGING,
    LEFT_REASON_DISCONNECTED,
    LEFT_REASON_HANGUP,
    TURN_CANCELLED,
    TURN_ERROR,
    Call,
    TurnLock,
)

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "Voice calls are not configured on this server (LIVEKIT_API_KEY and LIVEKIT_API_SECRET are unset)"
# A hang-up retried this often when the call changes between its read and its change.
LEAVE_ATTEMPTS = 3


def _now() -> datetime:
    return datetime.now(UTC)


# --- Call tokens -----------------------------------------------------------------------------


async def do_issue_voice_token(*, user: User, chat_id: str) -> VoiceTokenReply:
    """A LiveKit access token for the chat's room: 404 "Chat not found" for anyone not a
    member (whether or not the chat exists), 503 when LiveKit is not configured."""
    await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user.user_id)
    if not (settings.LIVEKIT_API_KEY and settings.LIVEKIT_API_SECRET):
        raise Unavailable(NOT_CONFIGURED)
    return services.call_token_issue(user=user, chat_id=chat_id)


# --- Calls -----------------------------------------------------------------------------------


async def do_start_call(*, user: User, chat_id: str) -> Call:
    """Ring the chat's other members. Limited per caller and per chat (apps.voice.limits); a
    refused start stores nothing and rings nobody. Outsiders get 404 "Chat not found" whether
    or not the chat exists or has a call."""
    await rate_limit_hit(limit=limits.CALL_START, subject=user.user_id)
    chat = await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user.user_id)
    current = await call_get(chat_id=chat_id)
    if current is not None:
        # Before the chat's limit: pressing "call" during a call costs the chat nothing.
        raise CallInProgress(CALL_IN_PROGRESS, call=current)
    await rate_limit_hit(limit=limits.CHAT_CALL_START, subject=chat_id)
    call = services.call_new(
        caller=user, chat_id=chat_id, member_languages=map_as_dict(chat.member_languages)
    )
    if not await services.call_state_create(call=call):
        current = await call_get(chat_id=chat_id)
        raise CallInProgress(CALL_IN_PROGRESS, call=current)
    background_task_start(_ring_timeout(call), name=_ring_timer_name(call.call_id))
    await events.call_incoming_broadcast(
        call=call,
        caller_name=user_display_name(user=user),
        caller_username=user.username,
        ring_timeout_seconds=settings.VOICE_RING_TIMEOUT_SECONDS,
    )
    push_notifications.call_push_offer(
        chat_id=chat_id,
        call_id=call.call_id,
        caller_id=user.user_id,
        caller_name=user_display_name(user=user),
        bodies={
            member_id: call_phrase(outcome=CALL_INCOMING, language=language)
            for member_id, language in call.member_languages.items()
        },
        ring_timeout_seconds=settings.VOICE_RING_TIMEOUT_SECONDS,
    )
    return call


async def do_get_call_status(*, user: User, chat_id: str) -> Call | None:
    """The chat's call, for a member; outsiders get 404 "Chat not found" as for no chat."""
    return await call_get_for_member(chat_id=chat_id, user_id=user.user_id)


def _member_check(call: Call, user_id: str) -> None:
    """Someone who was not a member when the call started is told what they would be told
    if there were no call at all."""
    if user_id not in call.member_languages:
        raise CallGone(CALL_GONE)


async def do_accept_call(*, user: User, chat_id: str, call_id: str) -> Call:
    """Answer, or join a group call under way. Only a member of the chat now may: joining
    hears every turn's words."""
    await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user.user_id)
    moment = _now().isoformat()

    def accept(current: Call) -> Call:
        _member_check(current, user.user_id)
        if user.user_id in current.participants:
            raise Conflict("You are already in this call")
        if current.state == CALL_RINGING:
            return current.changed(
                state=CALL_ACTIVE,
                participants=(*current.participants, user.user_id),
                answered_at=moment,
            )
        # A group call that is under way: join it.
        return current.changed(participants=(*current.participants, user.user_id))

    _, after = await services.call_state_change(chat_id=chat_id, call_id=call_id, change=accept)
    assert after is not None  # accepting never ends a call
    _ring_timer_stop(call_id)
    await events.call_accepted_broadcast(call=after, user_id=user.user_id)
    return after


async def do_decline_call(*, user: User, chat_id: str, call_id: str) -> Call | None:
    """Decline a ringing call. Returns the call still ringing for others (a group), or None
    when the call is over."""

    def decline(current: Call) -> Call | None:
        _member_check(current, user.user_id)
        if current.state != CALL_RINGING:
            raise Conflict("The call was already answered")
        if user.user_id == current.caller_id:
            raise Conflict("The caller cancels a call, not declines it")
        declined = tuple(sorted({*current.declined, user.user_id}))
        others = set(current.member_languages) - {current.caller_id}
        if others <= set(declined):
            return None
        return current.changed(declined=declined)

    before, after = await services.call_state_change(
        chat_id=chat_id, call_id=call_id, change=decline
    )
    final = after is None
    await events.call_declined_broadcast(call=before, user_id=user.user_id, final=final)
    if final:
        _ring_timer_stop(call_id)
        await do_store_call(call=before, outcome=CALL_DECLINED)
    return after


async def do_cancel_call(*, user: User, chat_id: str, call_id: str) -> None:
    """The caller hangs up before anyone answered."""

    def cancel(current: Call) -> None:
        _member_check(current, user.user_id)
        if current.caller_id != user.user_id:
            raise Forbidden("Only the caller can cancel a call")
        if current.state != CALL_RINGING:
            raise Conflict("The call was already answered; end it instead")
        return None

    before, _ = await services.call_state_change(chat_id=chat_id, call_id=call_id, change=cancel)
    _ring_timer_stop(call_id)
    await events.call_cancelled_broadcast(call=before, user_id=user.user_id)
    await do_store_call(call=before, outcome=CALL_CANCELLED)


async def do_leave_call(
    *, user: User, chat_id: str, call_id: str, reason: CallEndReason = LEFT_REASON_HANGUP
) -> Call | None:
    """Hang up. A ringing call is cancelled (the caller) or declined (anyone else); an active
    one loses this participant, and ends when fewer than two remain. A push-to-talk turn
    under way in the call returns to idle: someone it was for has gone. Returns the call as
    it goes on, or None when it is over for this user."""
    error: Conflict | None = None
    for _ in range(LEAVE_ATTEMPTS):
        current = await call_get(chat_id=chat_id)
        if current is None or current.call_id != call_id:
            raise CallGone(CALL_GONE)
        _member_check(current, user.user_id)
        try:
            if current.state == CALL_RINGING:
                if current.caller_id == user.user_id:
                    await do_cancel_call(user=user, chat_id=chat_id, call_id=call_id)
                    return None
                return await do_decline_call(user=user, chat_id=chat_id, call_id=call_id)
            return await _call_hang_up(user=user, chat_id=chat_id, call_id=call_id, reason=reason)
        except Conflict as conflict:
            # The call changed between the read and the change (answered as the caller
            # hung up, say): look again.
            error = conflict
    assert error is not None
    raise error


async def _call_hang_up(
    *, user: User, chat_id: str, call_id: str, reason: CallEndReason
) -> Call | None:
    def leave(current: Call) -> Call | None:
        if current.state != CALL_ACTIVE:
            raise Conflict("The call was not answered yet")
        if user.user_id not in current.participants:
            raise Conflict("You are not in this call")
        remaining = tuple(uid for uid in current.participants if uid != user.user_id)
        if len(remaining) < 2:
            return None
        return current.changed(participants=remaining)

    before, after = await services.call_state_change(chat_id=chat_id, call_id=call_id, change=leave)
    await do_abort_turn(
        chat_id=chat_id,
        call_id=call_id,
        error=f"{user_display_name(user=user)} left the call",
        error_code="participant_left",
    )
    if after is not None:
        await events.call_left_broadcast(call=after, user_id=user.user_id)
        return after
    duration = _duration_seconds(before)
    await events.call_ended_broadcast(
        call=before, user_id=user.user_id, reason=reason, duration_seconds=duration
    )
    await do_store_call(call=before, outcome=CALL_ENDED, duration_seconds=duration)
    return None


def _duration_seconds(call: Call) -> int:
    if not call.answered_at:
        return 0
    answered = datetime.fromisoformat(call.answered_at)
    return max(0, round((_now() - answered).total_seconds()))


async def do_miss_call(*, call: Call) -> None:
    """Nobody answered in time: unless the call was answered, declined or cancelled
    meanwhile, it is over and missed."""

    def miss(current: Call) -> None:
        if current.state != CALL_RINGING:
            raise Conflict("answered")
        return None

    try:
        before, _ = await services.call_state_change(
            chat_id=call.chat_id, call_id=call.call_id, change=miss
        )
    except (CallGone, Conflict):
        return
    await events.call_missed_broadcast(call=before)
    await do_store_call(call=before, outcome=CALL_MISSED)


def _ring_timer_name(call_id: str) -> str:
    return f"ring-{call_id}"


async def _ring_timeout(call: Call) -> None:
    await asyncio.sleep(settings.VOICE_RING_TIMEOUT_SECONDS)
    await do_miss_call(call=call)


def _ring_timer_stop(call_id: str) -> None:
    """The call was answered or is over: this process's timer for it need not fire (one
    that fires anyway, on another instance, finds the call no longer ringing)."""
    background_task_cancel(name=_ring_timer_name(call_id))


async def do_store_call(
    *, call: Call, outcome: str, duration_seconds: int | None = None
) -> Message | None:
    """The call's outcome in the chat history, from the caller, in every member's language."""
    return await _message_store(
        draft=partial(
            services.call_message_draft,
            call=call,
            outcome=outcome,
            duration_seconds=duration_seconds,
        ),
        chat_id=call.chat_id,
        what=f"the {outcome} call message",
    )


# --- Messages nobody typed -------------------------------------------------------------------


async def _message_store(
    *, draft: Callable[[], MessageDraft], chat_id: str, what: str
) -> Message | None:
    """Store a message nobody typed (a call's outcome, a spoken turn) and broadcast it
    (apps.chats.actions.do_store_message). A failure is logged, not raised: what caused the
    message (a hang-up, a turn) has happened either way. None when nothing was stored."""
    try:
        return await chat_actions.do_store_message(draft=await run_blocking(draft)())
    except Exception:
        logger.exception("%s for chat %s could not be stored", what, chat_id)
        return None


# --- Push-to-talk turns ----------------------------------------------------------------------


async def do_start_turn(*, user: User, chat_id: str, audio_format: str) -> Turn:
    """Take the chat's turn for `user`: everyone in the call sees RECORDING."""
    if audio_format not in AUDIO_FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(AUDIO_FORMATS)}")
    call = await call_get(chat_id=chat_id)
    # Someone who was not a member when the call started hears what they would hear if
    # there were no call.
    if call is None or call.state != CALL_ACTIVE or user.user_id not in call.member_languages:
        raise Conflict("There is no call in progress in this chat")
    if user.user_id not in call.participants:
        raise Forbidden("You are not in this chat's call")
    await rate_limit_hit(limit=limits.TURN_START, subject=user.user_id)
    lock = TurnLock(
        turn_id=uuid.uuid4().hex,
        chat_id=chat_id,
        call_id=call.call_id,
        speaker_id=user.user_id,
        participants=tuple(call.participants),
    )
    lock = TurnLock.decode(lock.encode())
    if not await services.turn_lock_acquire(lock=lock):
        raise TurnTaken("Someone else is speaking; wait for them to finish")
    turn = turns.turn_begin(lock=lock, speaker=user, call=call, audio_format=audio_format)
    turn.watchdog = background_task_start(_turn_timeout(turn), name=f"turn-watchdog-{turn.turn_id}")
    await events.voice_turn_recording_broadcast(lock=lock)
    return turn


async def do_add_turn_audio(*, turn: Turn, data: bytes) -> None:
    """More of the recording; past VOICE_TURN_MAX_AUDIO_BYTES the turn fails."""
    try:
        turns.turn_audio_add(turn=turn, data=data)
    except RecordingTooLong as error:
        await do_fail_turn(turn=turn, error=error.detail, error_code="too_long")


async def do_stop_turn(*, turn: Turn) -> None:
    """The speaker stopped: everyone sees PROCESSING while the pipeline runs."""
    turns.turn_recording_end(turn=turn)
    if not turn.audio:
        await do_fail_turn(turn=turn, error="Nothing was recorded", error_code="no_audio")
        return
    # The speech-to-text request goes out before the PROCESSING broadcast, not after it.
    turns.turn_pipeline_start(turn=turn, steps=_TURN_STEPS)
    await events.voice_turn_processing_broadcast(lock=turn.lock)
    turn.processing_sent.set()


async def do_cancel_turn(*, turn: Turn) -> None:
    """The speaker changed their mind: everyone back to IDLE, nothing stored."""
    await do_finish_turn(turn=turn, reason=TURN_CANCELLED)


async def do_fail_turn(*, turn: Turn, error: str, error_code: str) -> None:
    await do_finish_turn(turn=turn, reason=TURN_ERROR, error=error, error_code=error_code)


async def do_finish_turn(
    *,
    turn: Turn,
    reason: TurnEndReason,
    error: str | None = None,
    error_code: str | None = None,
    message: Message | None = None,
) -> bool:
    """Back to IDLE: the turn stops here, frees the chat's turn lock and, if it still held
    it, tells everyone in the call. False when someone else ended it first."""
    if not turns.turn_close(turn=turn):
        return False
    released = await services.turn_lock_release(lock=turn.lock)
    if released:
        await events.voice_turn_idle_broadcast(
            lock=turn.lock,
            reason=reason,
            error=error,
            error_code=error_code,
            message_id=message.message_id if message is not None else None,
            seq=int(message.seq) if message is not None else None,
        )
    turns.turn_log(turn=turn, outcome=reason if reason != TURN_ERROR else f"failed ({error_code})")
    return released


async def do_abort_turn(
    *, chat_id: str, error: str, error_code: str, call_id: str | None = None
) -> bool:
    """End the chat's turn, whoever runs it (a participant left): everyone back to IDLE, and
    the speaker's instance stops its pipeline. False when there was no turn to end."""
    lock = await turn_lock_get(chat_id=chat_id)
    if lock is None or (call_id is not None and lock.call_id != call_id):
        return False
    if not await services.turn_lock_release(lock=lock):
        return False
    await events.voice_turn_idle_broadcast(
        lock=lock, reason=TURN_ERROR, error=error, error_code=error_code
    )
    await events.voice_turn_aborted_signal(lock=lock)
    # The speaker's instance logs the turn's timings when it stops.
    logger.info("voice turn %s in chat %s aborted (%s)", lock.turn_id, lock.chat_id, error_code)
    return True


def do_drop_turn(*, turn: Turn) -> None:
    """The turn was ended elsewhere (who told everyone): stop working on it here."""
    turns.turn_drop(turn=turn)


async def do_store_turn(
    *,
    turn: Turn,
    text: str,
    source: str,
    translations: dict[str, str],
    pending_languages: frozenset[str],
) -> Message | None:
    """The turn as a chat message (kind "voice") in every member's language; the languages
    whose translation failed are owed."""
    return await _message_store(
        draft=partial(
            services.voice_message_draft,
            chat_id=turn.chat_id,
            from_user_id=turn.speaker.user_id,
            kind=MessageKind.VOICE,
            original_text=text,
            original_language=source,
            translations=translations,
            pending_languages=pending_languages,
            meta={"call_id": turn.lock.call_id, "turn_id": turn.turn_id},
        ),
        chat_id=turn.chat_id,
        what=f"voice turn {turn.turn_id}",
    )


async def _turn_timeout(turn: Turn) -> None:
    timeout = settings.VOICE_TURN_TIMEOUT_SECONDS
    await asyncio.sleep(timeout)
    await do_fail_turn(
        turn=turn, error=f"The turn took longer than {timeout:g} seconds", error_code="timeout"
    )


_TURN_STEPS = turns.TurnSteps(
    playing=events.voice_turn_playing_broadcast,
    audio=events.voice_audio_broadcast,
    store=do_store_turn,
    finish=do_finish_turn,
)


# --- A socket closing ------------------------------------------------------------------------


async def do_leave_on_disconnect(*, user: User, turn: Turn | None, calls: dict[str, str]) -> None:
    """A socket closed: the turn it was speaking ends, and it leaves the calls it started or
    answered (`calls`: chat id -> call id)."""
    if turn is not None:
        await do_fail_turn(
            turn=turn, error=f"{user_display_name(user=user)} left", error_code="participant_left"
        )
    for chat_id, call_id in calls.items():
        try:
            await do_leave_call(
                user=user, chat_id=chat_id, call_id=call_id, reason=LEFT_REASON_DISCONNECTED
            )
        except ServiceError:
            continue  # already over, or never answered by this socket's user
        except Exception:
            logger.exception("leaving the call in chat %s after a socket closed failed", chat_id)


# --- Voice notes and message audio -----------------------------------------------------------


async def do_store_voice_note(
    *, user: User, chat_id: str, audio: bytes, audio_format: str, client_msg_id: str | None = None
) -> sending.SendOutcome:
    """Transcribe the recording and send its text as the sender's voice note, through the
    chat's send path (translated, streamed, rate-limited, stored once per client id)."""
    client_msg_id = sending.client_msg_id_validate(client_msg_id)
    await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user.user_id)
    if client_msg_id is not None:
        # A resend of a note already stored: no second transcription.
        resent = await chat_actions.do_resend_message(
            chat_id=chat_id, user=user, client_msg_id=client_msg_id
        )
        if resent is not None:
            return resent
    if not audio:
        raise InvalidInput("The voice note is empty")
    voice_note_size_check(size=len(audio))
    # Before speech-to-text, which is what costs; the send limit comes after it.
    await rate_limit_hit(limit=limits.VOICE_NOTE, subject=user.user_id)
    try:
        transcript = await speech_transcribe(
            audio=audio, language=user.native_language, audio_format=audio_format
        )
    except SpeechUnavailable as error:
        raise Unavailable("Speech recognition is unavailable; try again later") from error
    if not transcript.text:
        raise InvalidInput("No speech was recognised in the voice note")
    return await chat_actions.do_send_message(
        user=user,
        chat_id=chat_id,
        text=transcript.text,
        client_msg_id=client_msg_id,
        kind=MessageKind.VOICE_NOTE,
    )


async def do_open_message_audio(*, user: User, chat_id: str, seq: int) -> MessageAudio:
    """The message as speech in the reader's language, once its first bytes are in: 429 over
    the reader's limits (requests; new syntheses a day), 404 "Chat not found" for anyone not
    a member, 404 for no such message, 503 when synthesis fails before it starts. Audio is
    bought once per message, language and text (apps.voice.speech_cache)."""
    await rate_limit_hit(limit=limits.SPEECH, subject=user.user_id)
    await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user.user_id)
    message = await run_blocking(message_get)(chat_id=chat_id, seq=seq)
    if message is None or message_deleted(message):
        # A message deleted for everyone has no text left to read aloud.
        raise NotFound("Message not found")
    language = user.native_language
    # A message written before this reader had their language is translated now, once.
    (message,) = await chat_actions.do_translate_messages(
        messages=[message], language=language, reader_id=user.user_id
    )
    text, text_language, _ = message_text_for(
        message=message, language=language, reader_id=user.user_id
    )
    stream = speech_cached_stream(
        chat_id=chat_id, seq=seq, text=text, language=text_language, user_id=user.user_id
    )
    try:
        first = await anext(stream)
    except (SpeechUnavailable, StopAsyncIteration) as error:
        await stream.aclose()
        raise Unavailable("Speech synthesis is unavailable; try again later") from error
    return MessageAudio(
        language=text_language,
        content_type=synthesized_content_type(),
        first_chunk=first,
        rest=stream,
    )

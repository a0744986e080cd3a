"""Push-to-talk turns in a call: one speaker at a time, heard by everyone else in their own
language.

A turn goes RECORDING (the speaker holds the chat's turn lock in Redis, and streams audio
over their chat socket) -> PROCESSING (after the speaker's stop: speech-to-text in the
speaker's language, then translation into each listener's language) -> PLAYING (everyone
sees the transcript and its translations; each listener receives synthesized speech in
their language, streamed chunk by chunk as the provider produces it) -> IDLE (complete).

Any failure, the speaker or a listener leaving, the speaker cancelling, or
VOICE_TURN_TIMEOUT_SECONDS (30 s) without completion returns everyone to IDLE with the
reason. Whoever frees the turn lock first (a compare-and-delete in Redis) is the one that
says so, so every participant sees exactly one IDLE per turn.

The instance whose socket received the speaker's audio runs the whole turn; an abort decided
elsewhere (a listener's socket closed on another instance) reaches it as a `voice.signal`.
The turn's transcript and translations are stored as a chat message of kind "voice", so the
conversation survives the call. Each turn logs its stage timings, never its text.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings

from apps.accounts.models import User
from apps.chats import events as chat_events
from apps.chats.models import Message
from apps.chats.selectors import chat_get, map_as_dict
from apps.chats.translation import TranslationUnavailable, translate_text
from apps.core.concurrency import run_blocking
from apps.core.errors import Conflict, Forbidden, InvalidInput, ServiceError
from apps.voice import events, limits, services
from apps.voice.background import background_run
from apps.voice.selectors import CALL_ACTIVE, Call, TurnLock, call_get, turn_lock_get
from apps.voice.speech import (
    AUDIO_FORMATS,
    SpeechUnavailable,
    speech_synthesize,
    speech_transcribe,
    synthesized_content_type,
)

logger = logging.getLogger(__name__)

REASON_COMPLETE = "complete"
REASON_CANCELLED = "cancelled"
REASON_ERROR = "error"


class TurnTaken(Conflict):
    pass


class RecordingTooLong(ServiceError):
    status = 413


@dataclass
class TurnTimings:
    """Seconds, from the speaker's stop unless said otherwise (None: not reached)."""

    stt: float | None = None  # the speech-to-text request
    translate: float | None = None  # waiting for the listeners' translations, after stt
    tts_first_byte: float | None = None  # the first text-to-speech request to its first byte
    first_audio: float | None = None  # stop -> first audio chunk handed to the channel layer
    total: float | None = None  # stop -> complete


@dataclass(eq=False)
class Turn:
    lock: TurnLock
    speaker: User
    call: Call
    audio_format: str
    started: float
    audio: bytearray = field(default_factory=bytearray)
    recording: bool = True
    finished: bool = False
    stopped: float | None = None
    timings: TurnTimings = field(default_factory=TurnTimings)
    processing_sent: asyncio.Event = field(default_factory=asyncio.Event)
    chat_task: asyncio.Task | None = None
    pipeline: asyncio.Task | None = None
    watchdog: asyncio.Task | None = None

    @property
    def turn_id(self) -> str:
        return self.lock.turn_id

    @property
    def chat_id(self) -> str:
        return self.lock.chat_id


# --- The speaker's side ------------------------------------------------------------------------


async def turn_start(*, user: User, chat_id: str, audio_format: str) -> Turn:
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
    await limits.turn_start_limit_check(user_id=user.user_id)
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
    turn = Turn(
        lock=lock, speaker=user, call=call, audio_format=audio_format, started=time.monotonic()
    )
    # The chat (its members' languages, for the stored message) is read while the speaker
    # talks, not after.
    turn.chat_task = background_run(
        run_blocking(chat_get)(chat_id=chat_id), name=f"turn-chat-{turn.turn_id}"
    )
    turn.watchdog = background_run(_turn_watchdog(turn), name=f"turn-watchdog-{turn.turn_id}")
    await events.voice_turn_recording_broadcast(lock=lock)
    return turn


def turn_audio_add(*, turn: Turn, data: bytes) -> None:
    if not turn.recording:
        raise Conflict("Not recording")
    if len(turn.audio) + len(data) > settings.VOICE_TURN_MAX_AUDIO_BYTES:
        raise RecordingTooLong(
            f"The recording is longer than {settings.VOICE_TURN_MAX_AUDIO_BYTES} bytes"
        )
    turn.audio += data


async def turn_stop(*, turn: Turn) -> None:
    """The speaker stopped: everyone sees PROCESSING while the pipeline runs."""
    if not turn.recording:
        raise Conflict("Not recording")
    turn.recording = False
    turn.stopped = time.monotonic()
    if not turn.audio:
        await turn_fail(turn=turn, error="Nothing was recorded", error_code="no_audio")
        return
    # The speech-to-text request goes out before the PROCESSING broadcast, not after it.
    turn.pipeline = background_run(_turn_pipeline(turn), name=f"turn-{turn.turn_id}")
    await events.voice_turn_processing_broadcast(lock=turn.lock)
    turn.processing_sent.set()


async def turn_cancel(*, turn: Turn) -> None:
    """The speaker changed their mind: everyone back to IDLE, nothing stored."""
    await _turn_finish(turn, reason=REASON_CANCELLED)


async def turn_fail(*, turn: Turn, error: str, error_code: str) -> None:
    await _turn_finish(turn, reason=REASON_ERROR, error=error, error_code=error_code)


def turn_drop(*, turn: Turn) -> None:
    """Stop working on a turn that was ended elsewhere (who already told everyone)."""
    if turn.finished:
        return
    turn.finished = True
    turn.recording = False
    _tasks_cancel(turn)
    if turn.stopped is not None:
        turn.timings.total = time.monotonic() - turn.stopped
    _log_turn(lock=turn.lock, outcome="aborted", audio_bytes=len(turn.audio), timings=turn.timings)


async def turn_abort(
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
        lock=lock, reason=REASON_ERROR, error=error, error_code=error_code
    )
    await events.voice_turn_aborted_signal(lock=lock)
    # The speaker's instance logs the turn's timings when it stops.
    logger.info("voice turn %s in chat %s aborted (%s)", lock.turn_id, lock.chat_id, error_code)
    return True


async def _turn_finish(
    turn: Turn,
    *,
    reason: str,
    error: str | None = None,
    error_code: str | None = None,
    message: Message | None = None,
) -> bool:
    if turn.finished:
        return False
    turn.finished = True
    turn.recording = False
    _tasks_cancel(turn)
    if turn.stopped is not None:
        turn.timings.total = time.monotonic() - turn.stopped
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
    outcome = reason if reason != REASON_ERROR else f"failed ({error_code})"
    _log_turn(lock=turn.lock, outcome=outcome, audio_bytes=len(turn.audio), timings=turn.timings)
    return released


def _tasks_cancel(turn: Turn) -> None:
    current = asyncio.current_task()
    for task in (turn.watchdog, turn.pipeline):
        if task is not None and task is not current and not task.done():
            task.cancel()


async def _turn_watchdog(turn: Turn) -> None:
    timeout = settings.VOICE_TURN_TIMEOUT_SECONDS
    await asyncio.sleep(timeout)
    await turn_fail(
        turn=turn, error=f"The turn took longer than {timeout:g} seconds", error_code="timeout"
    )


# --- The pipeline ----------------------------------------------------------------------------


async def _translate(*, text: str, source: str, target: str) -> str:
    try:
        return await translate_text(text=text, source_language=source, target_language=target)
    except ValueError as error:  # not a language code
        raise TranslationUnavailable(str(error)) from error


async def _turn_pipeline(turn: Turn) -> None:
    lock = turn.lock
    timings = turn.timings
    source = turn.speaker.native_language
    subtasks: list[asyncio.Task] = []
    try:
        began = time.monotonic()
        try:
            transcript = await speech_transcribe(
                audio=bytes(turn.audio), language=source, audio_format=turn.audio_format
            )
        except SpeechUnavailable:
            await turn_fail(
                turn=turn, error="Speech recognition failed; try again", error_code="stt_failed"
            )
            return
        timings.stt = time.monotonic() - began
        text = transcript.text
        if not text:
            await turn_fail(
                turn=turn, error="No speech was recognised; try again", error_code="no_speech"
            )
            return

        languages = await _member_languages(turn)
        participant_languages = {uid: languages.get(uid, source) for uid in lock.participants}
        listeners_by_language: dict[str, list[str]] = {}
        for uid in lock.listener_ids:
            listeners_by_language.setdefault(participant_languages[uid], []).append(uid)
        # Every member's language, not only the listeners': the stored message has them all.
        targets = sorted((set(languages.values()) | set(listeners_by_language)) - {source})
        translating = {
            target: asyncio.get_running_loop().create_task(
                _translate(text=text, source=source, target=target)
            )
            for target in targets
        }
        subtasks += translating.values()

        began = time.monotonic()
        spoken: dict[str, str] = {}
        try:
            for language in listeners_by_language:
                spoken[language] = text if language == source else await translating[language]
        except TranslationUnavailable:
            await turn_fail(
                turn=turn, error="Translation failed; try again", error_code="translation_failed"
            )
            return
        timings.translate = time.monotonic() - began
        if turn.finished:
            return

        playing_sent = asyncio.Event()
        speaking = [
            asyncio.get_running_loop().create_task(
                _turn_speak(
                    turn,
                    language=language,
                    text=spoken[language],
                    listener_ids=listener_ids,
                    playing_sent=playing_sent,
                )
            )
            for language, listener_ids in listeners_by_language.items()
        ]
        subtasks += speaking
        await turn.processing_sent.wait()
        await events.voice_turn_playing_broadcast(
            lock=lock,
            original_text=text,
            original_language=source,
            translations={lang: value for lang, value in spoken.items() if lang != source},
            participant_languages=participant_languages,
            audio_format=synthesized_content_type(),
        )
        playing_sent.set()
        # Stored whatever happens to the audio from here on: the words were said and shown.
        storing = background_run(
            _turn_message_store(turn, text=text, source=source, translating=translating),
            name=f"turn-store-{turn.turn_id}",
        )
        subtasks = [task for task in subtasks if task not in translating.values()]
        try:
            await asyncio.gather(*speaking)
        except SpeechUnavailable:
            # The words were shown and are stored: IDLE says which message holds them.
            await _turn_finish(
                turn,
                reason=REASON_ERROR,
                error="Speech synthesis failed; try again",
                error_code="tts_failed",
                message=await asyncio.shield(storing),
            )
            return
        message = await asyncio.shield(storing)
        await _turn_finish(turn, reason=REASON_COMPLETE, message=message)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("voice turn %s failed", turn.turn_id)
        await turn_fail(
            turn=turn, error="Voice processing failed; try again", error_code="internal"
        )
    finally:
        for task in subtasks:
            if not task.done():
                task.cancel()


async def _member_languages(turn: Turn) -> dict[str, str]:
    """Every member's language: the chat as read when the turn began (the call's snapshot if
    that read failed)."""
    try:
        chat = await asyncio.shield(turn.chat_task) if turn.chat_task is not None else None
    except Exception:
        chat = None
    if chat is not None:
        languages = map_as_dict(chat.member_languages)
        if languages:
            return {**turn.call.member_languages, **languages}
    return dict(turn.call.member_languages)


async def _turn_speak(
    turn: Turn, *, language: str, text: str, listener_ids: list[str], playing_sent: asyncio.Event
) -> None:
    """Stream synthesized speech to the listeners of one language, chunk by chunk."""
    began = time.monotonic()
    seq = 0
    async for chunk in speech_synthesize(text=text, language=language):
        if seq == 0:
            if turn.timings.tts_first_byte is None:
                turn.timings.tts_first_byte = time.monotonic() - began
            await playing_sent.wait()
        await events.voice_audio_broadcast(
            lock=turn.lock, language=language, listener_ids=listener_ids, seq=seq, data=chunk
        )
        if seq == 0 and turn.timings.first_audio is None and turn.stopped is not None:
            turn.timings.first_audio = time.monotonic() - turn.stopped
        seq += 1
    await events.voice_audio_broadcast(
        lock=turn.lock, language=language, listener_ids=listener_ids, seq=seq, data=b"", final=True
    )


async def _turn_message_store(
    turn: Turn, *, text: str, source: str, translating: dict[str, asyncio.Task]
) -> Message | None:
    """The turn as a chat message (kind "voice"), in every member's language."""
    translations: dict[str, str] = {}
    pending: set[str] = set()
    for language, task in translating.items():
        try:
            translations[language] = await task
        except (TranslationUnavailable, asyncio.CancelledError):
            pending.add(language)
    try:
        committed = await run_blocking(services.voice_message_commit)(
            chat_id=turn.chat_id,
            from_user_id=turn.speaker.user_id,
            kind="voice",
            original_text=text,
            original_language=source,
            translations=translations,
            pending_languages=frozenset(pending),
            meta={"call_id": turn.lock.call_id, "turn_id": turn.turn_id},
        )
    except Exception:
        logger.exception("voice turn %s could not be stored in chat %s", turn.turn_id, turn.chat_id)
        return None
    if committed is None:
        return None
    await chat_events.message_broadcast(
        message=committed.message, member_languages=committed.member_languages
    )
    return committed.message


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def _log_turn(
    *, lock: TurnLock, outcome: str, audio_bytes: int | None, timings: TurnTimings | None
) -> None:
    """One line per turn: sizes and stage timings, never what was said."""
    timings = timings or TurnTimings()
    logger.info(
        "voice turn %s in chat %s %s: audio %s bytes, stt %s ms, translate %s ms, "
        "tts first byte %s ms, first audio out %s ms, total %s ms",
        lock.turn_id,
        lock.chat_id,
        outcome,
        "-" if audio_bytes is None else audio_bytes,
        _ms(timings.stt),
        _ms(timings.translate),
        _ms(timings.tts_first_byte),
        _ms(timings.first_audio),
        _ms(timings.total),
        extra={
            "turn_id": lock.turn_id,
            "chat_id": lock.chat_id,
            "outcome": outcome,
            "audio_bytes": audio_bytes,
            "stt_ms": None if timings.stt is None else round(timings.stt * 1000, 1),
            "translate_ms": None
            if timings.translate is None
            else round(timings.translate * 1000, 1),
            "tts_first_byte_ms": None
            if timings.tts_first_byte is None
            else round(timings.tts_first_byte * 1000, 1),
            "first_audio_ms": None
            if timings.first_audio is None
            else round(timings.first_audio * 1000, 1),
            "total_ms": None if timings.total is None else round(timings.total * 1000, 1),
        },
    )

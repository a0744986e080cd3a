"""The push-to-talk pipeline: what a turn does between the speaker's stop and IDLE.

A turn goes RECORDING (the speaker holds the chat's turn lock in Redis, and streams audio
over their chat socket) -> PROCESSING (after the speaker's stop: speech-to-text in the
speaker's language, then translation into each listener's language) -> PLAYING (everyone
sees the transcript and its translations; each listener receives synthesized speech in
their language, streamed chunk by chunk as the provider produces it) -> IDLE.

This module is the machinery: the turn's in-memory state, the recording, the provider
calls and their concurrency, and the one log line per turn. It sends no event and writes
nothing; what the turn must tell everyone or store, it asks of `TurnSteps`, which
apps.voice.actions supplies (there are the use cases: start, stop, cancel, finish, abort).

The instance whose socket received the speaker's audio runs the whole turn. Each turn logs
its stage timings, never its text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.conf import settings

from apps.accounts.models import User
from apps.chats.models import Chat, Message
from apps.chats.selectors import chat_get, map_as_dict
from apps.chats.translation import TranslationUnavailable, translate_text
from apps.chats.translation_context import (
    NO_MESSAGE_CONTEXT,
    MessageContext,
    message_context_for_send,
)
from apps.core.background import background_task_start
from apps.core.concurrency import run_blocking
from apps.core.errors import Conflict
from apps.voice.errors import RecordingTooLong
from apps.voice.speech import (
    SpeechUnavailable,
    speech_synthesize,
    speech_transcribe,
    synthesized_content_type,
)
from apps.voice.types import TURN_COMPLETE, TURN_ERROR, Call, TurnLock

logger = logging.getLogger(__name__)


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
    audio: bytearray = field(default_factory=bytearray)
    recording: bool = True
    finished: bool = False
    stopped: float | None = None
    timings: TurnTimings = field(default_factory=TurnTimings)
    processing_sent: asyncio.Event = field(default_factory=asyncio.Event)
    chat_task: asyncio.Task[Chat | None] | None = None
    pipeline: asyncio.Task | None = None
    watchdog: asyncio.Task | None = None

    @property
    def turn_id(self) -> str:
        return self.lock.turn_id

    @property
    def chat_id(self) -> str:
        return self.lock.chat_id


@dataclass(frozen=True)
class TurnSteps:
    """What a running turn asks of its owner, who tells everyone and stores:

    - `playing(lock=, original_text=, original_language=, translations=,
      participant_languages=, audio_format=)`
    - `audio(lock=, language=, listener_ids=, seq=, data=, final=)`: one chunk to the
      listeners of one language (an empty `final` chunk ends their stream)
    - `store(turn=, text=, source=, translations=, pending_languages=)` -> the stored message
    - `finish(turn=, reason=, error=, error_code=, message=)`: back to IDLE
    """

    playing: Callable[..., Awaitable[None]]
    audio: Callable[..., Awaitable[None]]
    store: Callable[..., Awaitable[Message | None]]
    finish: Callable[..., Awaitable[bool]]


def turn_begin(*, lock: TurnLock, speaker: User, call: Call, audio_format: str) -> Turn:
    """A turn whose lock is taken. The chat (its members' languages, for the stored message)
    is read while the speaker talks, not after."""
    turn = Turn(lock=lock, speaker=speaker, call=call, audio_format=audio_format)
    turn.chat_task = background_task_start(
        run_blocking(chat_get)(chat_id=lock.chat_id), name=f"turn-chat-{turn.turn_id}"
    )
    return turn


def turn_audio_add(*, turn: Turn, data: bytes) -> None:
    if not turn.recording:
        raise Conflict("Not recording")
    if len(turn.audio) + len(data) > settings.VOICE_TURN_MAX_AUDIO_BYTES:
        raise RecordingTooLong(
            f"The recording is longer than {settings.VOICE_TURN_MAX_AUDIO_BYTES} bytes"
        )
    turn.audio += data


def turn_recording_end(*, turn: Turn) -> None:
    if not turn.recording:
        raise Conflict("Not recording")
    turn.recording = False
    turn.stopped = time.monotonic()


def turn_close(*, turn: Turn) -> bool:
    """Stop working on the turn here: its timers and pipeline end. False if it was already
    closed (whoever closed it first reports it)."""
    if turn.finished:
        return False
    turn.finished = True
    turn.recording = False
    current = asyncio.current_task()
    for task in (turn.watchdog, turn.pipeline):
        if task is not None and task is not current and not task.done():
            task.cancel()
    if turn.stopped is not None:
        turn.timings.total = time.monotonic() - turn.stopped
    return True


def turn_drop(*, turn: Turn) -> None:
    """Stop working on a turn that was ended elsewhere (who already told everyone)."""
    if turn_close(turn=turn):
        turn_log(turn=turn, outcome="aborted")


# --- The pipeline ----------------------------------------------------------------------------


def turn_pipeline_start(*, turn: Turn, steps: TurnSteps) -> None:
    """Run the turn from the speaker's stop to IDLE, in the background. The speech-to-text
    request goes out at once; PLAYING waits for `turn.processing_sent`."""
    turn.pipeline = background_task_start(_turn_pipeline(turn, steps), name=f"turn-{turn.turn_id}")


async def _translate(*, text: str, source: str, target: str, context: MessageContext) -> str:
    try:
        return await translate_text(
            text=text,
            source_language=source,
            target_language=target,
            context=context.for_target(target),
        )
    except ValueError as error:  # not a language code
        raise TranslationUnavailable(str(error)) from error


async def _turn_context(turn: Turn, text: str) -> MessageContext:
    """What a spoken turn's translations are told, as a typed message's are: the chat's last
    turns, its glossary terms and names, formality (none when the chat could not be read)."""
    chat = await _turn_chat(turn)
    if chat is None:
        return NO_MESSAGE_CONTEXT
    return await message_context_for_send(chat=chat, text=text)


async def _turn_fail(turn: Turn, steps: TurnSteps, *, error: str, error_code: str) -> None:
    await steps.finish(turn=turn, reason=TURN_ERROR, error=error, error_code=error_code)


async def _turn_pipeline(turn: Turn, steps: TurnSteps) -> None:
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
            await _turn_fail(
                turn, steps, error="Speech recognition failed; try again", error_code="stt_failed"
            )
            return
        timings.stt = time.monotonic() - began
        text = transcript.text
        if not text:
            await _turn_fail(
                turn, steps, error="No speech was recognised; try again", error_code="no_speech"
            )
            return

        languages = await _member_languages(turn)
        context = await _turn_context(turn, text)
        participant_languages = {uid: languages.get(uid, source) for uid in lock.participants}
        listeners_by_language: dict[str, list[str]] = {}
        for uid in lock.listener_ids:
            listeners_by_language.setdefault(participant_languages[uid], []).append(uid)
        # Every member's language, not only the listeners': the stored message has them all.
        targets = sorted((set(languages.values()) | set(listeners_by_language)) - {source})
        translating = {
            target: asyncio.get_running_loop().create_task(
                _translate(text=text, source=source, target=target, context=context)
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
            await _turn_fail(
                turn, steps, error="Translation failed; try again", error_code="translation_failed"
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
                    steps,
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
        await steps.playing(
            lock=turn.lock,
            original_text=text,
            original_language=source,
            translations={lang: value for lang, value in spoken.items() if lang != source},
            participant_languages=participant_languages,
            audio_format=synthesized_content_type(),
        )
        playing_sent.set()
        # Stored whatever happens to the audio from here on: the words were said and shown.
        storing = background_task_start(
            _turn_store(turn, steps, text=text, source=source, translating=translating),
            name=f"turn-store-{turn.turn_id}",
        )
        subtasks = [task for task in subtasks if task not in translating.values()]
        try:
            await asyncio.gather(*speaking)
        except SpeechUnavailable:
            # The words were shown and are stored: IDLE says which message holds them.
            await steps.finish(
                turn=turn,
                reason=TURN_ERROR,
                error="Speech synthesis failed; try again",
                error_code="tts_failed",
                message=await asyncio.shield(storing),
            )
            return
        message = await asyncio.shield(storing)
        await steps.finish(turn=turn, reason=TURN_COMPLETE, message=message)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("voice turn %s failed", turn.turn_id)
        await _turn_fail(
            turn, steps, error="Voice processing failed; try again", error_code="internal"
        )
    finally:
        for task in subtasks:
            if not task.done():
                task.cancel()


async def _turn_chat(turn: Turn) -> Chat | None:
    """The chat as read when the turn began; None if that read failed."""
    try:
        return await asyncio.shield(turn.chat_task) if turn.chat_task is not None else None
    except Exception:
        return None


async def _member_languages(turn: Turn) -> dict[str, str]:
    """Every member's language: the chat as read when the turn began (the call's snapshot if
    that read failed)."""
    chat = await _turn_chat(turn)
    if chat is not None:
        languages = map_as_dict(chat.member_languages)
        if languages:
            return {**turn.call.member_languages, **languages}
    return dict(turn.call.member_languages)


async def _turn_speak(
    turn: Turn,
    steps: TurnSteps,
    *,
    language: str,
    text: str,
    listener_ids: list[str],
    playing_sent: asyncio.Event,
) -> None:
    """Stream synthesized speech to the listeners of one language, chunk by chunk."""
    began = time.monotonic()
    seq = 0
    async for chunk in speech_synthesize(text=text, language=language):
        if seq == 0:
            if turn.timings.tts_first_byte is None:
                turn.timings.tts_first_byte = time.monotonic() - began
            await playing_sent.wait()
        await steps.audio(
            lock=turn.lock,
            language=language,
            listener_ids=listener_ids,
            seq=seq,
            data=chunk,
            final=False,
        )
        if seq == 0 and turn.timings.first_audio is None and turn.stopped is not None:
            turn.timings.first_audio = time.monotonic() - turn.stopped
        seq += 1
    await steps.audio(
        lock=turn.lock, language=language, listener_ids=listener_ids, seq=seq, data=b"", final=True
    )


async def _turn_store(
    turn: Turn, steps: TurnSteps, *, text: str, source: str, translating: dict[str, asyncio.Task]
) -> Message | None:
    """Store the turn once every member's translation is in (those that failed are owed)."""
    translations: dict[str, str] = {}
    pending: set[str] = set()
    for language, task in translating.items():
        try:
            translations[language] = await task
        except (TranslationUnavailable, asyncio.CancelledError):
            pending.add(language)
    return await steps.store(
        turn=turn,
        text=text,
        source=source,
        translations=translations,
        pending_languages=frozenset(pending),
    )


# --- The log line ----------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def _rounded_ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def turn_log(*, turn: Turn, outcome: str) -> None:
    """One line per turn: sizes and stage timings, never what was said."""
    lock, timings, audio_bytes = turn.lock, turn.timings, len(turn.audio)
    logger.info(
        "voice turn %s in chat %s %s: audio %s bytes, stt %s ms, translate %s ms, "
        "tts first byte %s ms, first audio out %s ms, total %s ms",
        lock.turn_id,
        lock.chat_id,
        outcome,
        audio_bytes,
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
            "stt_ms": _rounded_ms(timings.stt),
            "translate_ms": _rounded_ms(timings.translate),
            "tts_first_byte_ms": _rounded_ms(timings.tts_first_byte),
            "first_audio_ms": _rounded_ms(timings.first_audio),
            "total_ms": _rounded_ms(timings.total),
        },
    )

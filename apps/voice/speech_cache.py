"""Message audio bought once: synthesized speech for a message in a language is kept in the
shared key-value store (Redis) and served from there, and readers who ask for it while it is
being synthesized share that one synthesis.

Why Redis and not DynamoDB: audio of an ordinary message (tens to a few hundred KB) often
passes DynamoDB's 400 KB item limit, so it would need splitting across items and a table of
its own, while Redis already holds short-lived shared state with expiry. The price is memory,
so it is bounded three ways (settings "Voice: per-user limits"): entries expire after
VOICE_SPEECH_CACHE_TTL_SECONDS, audio above VOICE_SPEECH_CACHE_MAX_BYTES is served but not
kept, and at most VOICE_SPEECH_CACHE_MAX_ENTRIES are stored per TTL (a sliding window shared
by every instance), so the cache never holds more than about MAX_ENTRIES x MAX_BYTES x 4/3
(base64, as the store holds text). Past any bound, audio is synthesized again: dearer, never
wrong.

The key names the chat, the message, the language and a digest of the text and the voice
settings, so edited text, a new voice or another format is never served stale audio, and one
chat's audio is never served (nor timed) for another's request.

Readers on one instance share the synthesis as it streams: it runs to its end in the
background, even if the reader who started it goes away, so what was paid for is kept. Across
instances, a lock in the store (one per key) names the instance synthesizing; a reader on
another instance waits for the audio to be cached (so it hears it once it is whole, not as it
streams) and synthesizes itself only if that does not happen within
VOICE_PROVIDER_TIMEOUT_SECONDS (the other instance failed, died, or the audio was too big to
keep).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator

from django.conf import settings

from apps.core.background import background_task_start
from apps.core.keyvalue import keyvalue_store
from apps.core.ratelimit import rate_limit_hit
from apps.voice import limits
from apps.voice.speech import SpeechUnavailable, speech_synthesize

logger = logging.getLogger(__name__)

KEY_PREFIX = "voice:speech:"
LOCK_PREFIX = "voice:speech-lock:"
# Who holds a synthesis lock: this process (one event loop serves it under Daphne).
INSTANCE_ID = uuid.uuid4().hex
LOCK_POLL_SECONDS = 0.1
LOCK_GRACE_SECONDS = 5.0
ADMISSIONS_KEY = "voice:speech-cache-admissions"
# Cached audio goes out in pieces this big, so a reader starts playing before it is all sent.
SERVE_CHUNK_BYTES = 64 * 1024


def speech_cache_key(*, chat_id: str, seq: int, text: str, language: str) -> str:
    digest = hashlib.sha256(
        "\n".join(
            (
                text,
                settings.ELEVENLABS_TTS_VOICE_ID,
                settings.ELEVENLABS_TTS_MODEL,
                settings.ELEVENLABS_TTS_OUTPUT_FORMAT,
            )
        ).encode()
    ).hexdigest()[:32]
    return f"{KEY_PREFIX}{chat_id}:{seq}:{language}:{digest}"


class _Synthesis:
    """One synthesis under way, read by every reader who asked for it meanwhile."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.finished = False
        self.failure: SpeechUnavailable | None = None
        self._changed = asyncio.Event()

    def changed(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def read(self) -> AsyncIterator[bytes]:
        index = 0
        while True:
            if index < len(self.chunks):
                yield self.chunks[index]
                index += 1
            elif self.finished:
                if self.failure is not None:
                    raise self.failure
                return
            else:
                await self._changed.wait()


_under_way: dict[tuple[asyncio.AbstractEventLoop, str], _Synthesis] = {}


async def speech_cached_stream(
    *, chat_id: str, seq: int, text: str, language: str, user_id: str
) -> AsyncGenerator[bytes, None]:
    """Speech for message `seq` of the chat, read as `text` in `language`: from the cache,
    from a synthesis already under way (here or on another instance), or from a new one,
    which counts against `user_id`'s daily synthesis limit (RateLimited). Raises
    SpeechUnavailable as `speech_synthesize` does."""
    key = speech_cache_key(chat_id=chat_id, seq=seq, text=text, language=language)
    loop = asyncio.get_running_loop()
    audio = await _cached_audio(key)
    synthesis = _under_way.get((loop, key))
    if audio is None and synthesis is None:
        audio = await _another_instances_audio(key)
        synthesis = _under_way.get((loop, key))
        if audio is None and synthesis is None:
            # This instance holds the key's lock now: start the synthesis, or let go of it.
            try:
                await rate_limit_hit(limit=limits.SPEECH_SYNTHESIS, subject=user_id)
            except BaseException:
                await _lock_release(key)
                raise
            synthesis = _under_way[(loop, key)] = _Synthesis()
            background_task_start(
                _synthesize(synthesis, key=key, text=text, language=language),
                name="speech-synthesis",
            )
    if audio is not None:
        for offset in range(0, len(audio), SERVE_CHUNK_BYTES):
            yield audio[offset : offset + SERVE_CHUNK_BYTES]
        return
    assert synthesis is not None  # no audio came from the cache, so a synthesis is under way
    async for chunk in synthesis.read():
        yield chunk


def _lock_key(key: str) -> str:
    return f"{LOCK_PREFIX}{key[len(KEY_PREFIX) :]}"


async def _another_instances_audio(key: str) -> bytes | None:
    """The audio, if another instance is synthesizing it and caches it within
    VOICE_PROVIDER_TIMEOUT_SECONDS. None when this instance is to synthesize it: it holds the
    key's lock then, unless a synthesis here started meanwhile (see `_under_way`) or the
    store is out of reach."""
    store = keyvalue_store()
    lock = _lock_key(key)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.VOICE_PROVIDER_TIMEOUT_SECONDS
    try:
        while not await store.put_if_absent(lock, INSTANCE_ID, ttl_seconds=_lock_ttl()):
            await asyncio.sleep(LOCK_POLL_SECONDS)
            audio = await _cached_audio(key)
            if audio is not None or any(entry == (loop, key) for entry in _under_way):
                return audio
            if loop.time() >= deadline:
                # The other instance failed, died, or could not keep its audio.
                return None
    except Exception:
        logger.warning("the speech synthesis lock could not be taken", exc_info=True)
        return None
    # Taken: the instance that held it may have cached the audio just before letting go.
    audio = await _cached_audio(key)
    if audio is not None:
        await _lock_release(key)
    return audio


def _lock_ttl() -> float:
    # The lock outlives a synthesis that runs to its provider timeout; an instance that dies
    # holding it frees it by expiry.
    return settings.VOICE_PROVIDER_TIMEOUT_SECONDS + LOCK_GRACE_SECONDS


async def _cached_audio(key: str) -> bytes | None:
    try:
        stored = await keyvalue_store().get(key)
    except Exception:
        # The cache is a saving, not a dependency: without it, synthesize.
        logger.warning("the speech cache could not be read", exc_info=True)
        return None
    if not stored:
        return None
    try:
        return base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        return None


async def _synthesize(synthesis: _Synthesis, *, key: str, text: str, language: str) -> None:
    loop = asyncio.get_running_loop()
    try:
        async for chunk in speech_synthesize(text=text, language=language):
            synthesis.chunks.append(chunk)
            synthesis.changed()
        # Kept before the readers hear the end, so whoever asks next finds it.
        await _cache_store(key, b"".join(synthesis.chunks))
    except SpeechUnavailable as error:
        synthesis.failure = error
    except BaseException as error:
        synthesis.failure = SpeechUnavailable(f"text-to-speech unavailable: {type(error).__name__}")
        raise
    finally:
        synthesis.finished = True
        synthesis.changed()
        _under_way.pop((loop, key), None)
        await _lock_release(key)


async def _lock_release(key: str) -> None:
    try:
        await keyvalue_store().delete_if_value(_lock_key(key), INSTANCE_ID)
    except Exception:
        logger.warning("the speech synthesis lock could not be released", exc_info=True)


async def _cache_store(key: str, audio: bytes) -> None:
    if len(audio) > settings.VOICE_SPEECH_CACHE_MAX_BYTES:
        return
    store = keyvalue_store()
    ttl = settings.VOICE_SPEECH_CACHE_TTL_SECONDS
    try:
        if await store.sliding_window_hit(
            ADMISSIONS_KEY, limit=settings.VOICE_SPEECH_CACHE_MAX_ENTRIES, window_seconds=ttl
        ):
            logger.info("speech cache full for now: %s bytes of audio not kept", len(audio))
            return
        await store.put(key, base64.b64encode(audio).decode("ascii"), ttl_seconds=ttl)
    except Exception:
        logger.warning("the speech cache could not be written", exc_info=True)

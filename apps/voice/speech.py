"""Speech through ElevenLabs (the official `elevenlabs` SDK, async client).

`speech_transcribe` turns recorded audio into text in the speaker's language (speech-to-text,
`ELEVENLABS_STT_MODEL`). `speech_synthesize` streams synthesized speech for a text in a
listener's language (text-to-speech streaming with `ELEVENLABS_TTS_VOICE_ID`,
`ELEVENLABS_TTS_MODEL`, `ELEVENLABS_TTS_OUTPUT_FORMAT`), yielding audio bytes as the provider
sends them, so playback can start before synthesis ends. `ELEVENLABS_BASE_URL` is honoured
(the tests and the benchmark point it at a loopback server speaking ElevenLabs' wire format).

Every provider failure (no key, unreachable, an HTTP error, a timeout, a reply that is not
what the SDK expects, no audio) is raised as `SpeechUnavailable`; the SDK's own retries are
off, the caller decides. Logs carry sizes, languages and error classes, never text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.core.request_options import RequestOptions

from apps.core.loop_local import LoopLocal

logger = logging.getLogger(__name__)

# Recorded audio formats accepted, by name: (file extension, MIME type).
AUDIO_FORMATS: dict[str, tuple[str, str]] = {
    "webm": ("webm", "audio/webm"),
    "ogg": ("ogg", "audio/ogg"),
    "wav": ("wav", "audio/wav"),
    "mp3": ("mp3", "audio/mpeg"),
    "mp4": ("m4a", "audio/mp4"),
    "flac": ("flac", "audio/flac"),
    # Raw 16-bit little-endian PCM, 16 kHz mono: ElevenLabs' lowest-latency input.
    "pcm_s16le_16": ("pcm", "audio/L16"),
}
DEFAULT_AUDIO_FORMAT = "webm"
_FORMATS_BY_MIME = {
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "mp4",
    "audio/m4a": "mp4",
    "audio/x-m4a": "mp4",
    "audio/aac": "mp4",
    "audio/flac": "flac",
    "audio/l16": "pcm_s16le_16",
}


class SpeechUnavailable(Exception):
    """The provider could not transcribe or synthesize (not configured, unreachable, failed,
    slow, or answered with nothing usable)."""


def speech_configured() -> bool:
    return bool(settings.ELEVENLABS_API_KEY)


def audio_format_from_content_type(content_type: str | None) -> str | None:
    """The format name for an upload's Content-Type (None when it is not audio we take)."""
    if not content_type:
        return DEFAULT_AUDIO_FORMAT
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in ("application/octet-stream", ""):
        return DEFAULT_AUDIO_FORMAT
    return _FORMATS_BY_MIME.get(mime)


def synthesized_content_type() -> str:
    """The MIME type of what `speech_synthesize` yields, from ELEVENLABS_TTS_OUTPUT_FORMAT."""
    codec = settings.ELEVENLABS_TTS_OUTPUT_FORMAT.split("_", 1)[0].lower()
    return {
        "mp3": "audio/mpeg",
        "opus": "audio/ogg",
        "pcm": "audio/L16",
        "ulaw": "audio/basic",
        "alaw": "audio/x-alaw-basic",
        "wav": "audio/wav",
    }.get(codec, "application/octet-stream")


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str


def _request_options(**extra: Any) -> RequestOptions:
    timeout = settings.VOICE_PROVIDER_TIMEOUT_SECONDS
    # `extra` is checked by the SDK at run time only: its type has chunk_size an int, where
    # None (the stream as it comes) works too.
    return {"max_retries": 0, "timeout_in_seconds": timeout, **extra}  # type: ignore[typeddict-item]


def _unavailable(action: str, error: BaseException) -> SpeechUnavailable:
    if isinstance(error, ApiError):
        reason = f"provider answered {error.status_code}"
    elif isinstance(error, TimeoutError | httpx.TimeoutException):
        reason = "provider too slow"
    else:
        reason = f"provider failed with {type(error).__name__}"
    logger.warning("%s failed: %s", action, reason)
    return SpeechUnavailable(f"{action} unavailable: {reason}")


async def speech_transcribe(
    *, audio: bytes, language: str, audio_format: str = DEFAULT_AUDIO_FORMAT
) -> Transcript:
    """The text spoken in `audio`, in `language` (the speaker's). Raises SpeechUnavailable."""
    if not speech_configured():
        raise SpeechUnavailable("speech is not configured (ELEVENLABS_API_KEY is unset)")
    extension, mime = AUDIO_FORMATS.get(audio_format, AUDIO_FORMATS[DEFAULT_AUDIO_FORMAT])
    extra: dict[str, Any] = (
        {"file_format": "pcm_s16le_16"} if audio_format == "pcm_s16le_16" else {}
    )
    try:
        async with asyncio.timeout(settings.VOICE_PROVIDER_TIMEOUT_SECONDS):
            reply = await _client().speech_to_text.convert(
                model_id=settings.ELEVENLABS_STT_MODEL,
                language_code=language,
                file=(f"speech.{extension}", audio, mime),
                tag_audio_events=False,
                request_options=_request_options(),
                **extra,
            )
        text = getattr(reply, "text", None)
        if not isinstance(text, str):
            raise ValueError("the reply has no transcript")
    except (ApiError, httpx.HTTPError, TimeoutError, ValueError, TypeError) as error:
        raise _unavailable("speech-to-text", error) from error
    return Transcript(text=text.strip(), language=getattr(reply, "language_code", None) or language)


async def speech_synthesize(*, text: str, language: str) -> AsyncIterator[bytes]:
    """Synthesized speech for `text` in `language`, chunk by chunk as the provider streams it.
    Raises SpeechUnavailable (before the first chunk, or midway if the stream breaks)."""
    if not speech_configured():
        raise SpeechUnavailable("speech is not configured (ELEVENLABS_API_KEY is unset)")
    produced = 0
    try:
        stream = _client().text_to_speech.stream(
            settings.ELEVENLABS_TTS_VOICE_ID,
            text=text,
            model_id=settings.ELEVENLABS_TTS_MODEL,
            language_code=language,
            output_format=settings.ELEVENLABS_TTS_OUTPUT_FORMAT,
            # chunk_size None: hand each chunk on as it arrives instead of re-cutting it.
            request_options=_request_options(chunk_size=None),
        )
        async for chunk in stream:
            if chunk:
                produced += len(chunk)
                yield chunk
    except (ApiError, httpx.HTTPError, TimeoutError, ValueError, TypeError) as error:
        raise _unavailable("text-to-speech", error) from error
    if not produced:
        raise _unavailable("text-to-speech", ValueError("no audio"))


def _client_build() -> tuple[AsyncElevenLabs, httpx.AsyncClient]:
    http = httpx.AsyncClient(timeout=settings.VOICE_PROVIDER_TIMEOUT_SECONDS, follow_redirects=True)
    client = AsyncElevenLabs(
        api_key=settings.ELEVENLABS_API_KEY,
        base_url=settings.ELEVENLABS_BASE_URL,  # None: ElevenLabs' own
        httpx_client=http,
    )
    return client, http


# One client (so one connection pool) per event loop.
_clients = LoopLocal(
    build=_client_build,
    settings_key=lambda: (settings.ELEVENLABS_API_KEY, settings.ELEVENLABS_BASE_URL),
)


def _client() -> AsyncElevenLabs:
    return _clients.get()[0]


async def speech_clients_close() -> None:
    """Close the clients of the running event loop (at shutdown, or after a test)."""
    for _, http in _clients.take_running():
        await http.aclose()

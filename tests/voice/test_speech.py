"""The ElevenLabs wrapper through the real SDK client against the loopback fake, and the fake
itself run standalone as the benchmark runs it."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from apps.voice.speech import (
    SpeechUnavailable,
    audio_format_from_content_type,
    speech_synthesize,
    speech_transcribe,
    synthesized_content_type,
)
from tests.support.fake_elevenlabs import (
    MP3_SILENT_FRAME,
    FakeElevenLabs,
    fake_speech,
    speech_decode,
)
from tests.support.servers import ROOT
from tests.voice.conftest import ELEVENLABS_TEST_KEY


async def _all(stream) -> list[bytes]:
    return [chunk async for chunk in stream]


async def test_transcribe_sends_the_audio_in_the_speakers_language_with_the_key(speech):
    transcript = await speech_transcribe(
        audio=b"say:Hola a todos", language="es", audio_format="ogg"
    )

    assert (transcript.text, transcript.language) == ("Hola a todos", "es")
    (request,) = speech.received("stt")
    assert request["path"] == "/v1/speech-to-text"
    assert request["fields"]["language_code"] == "es"
    assert request["fields"]["tag_audio_events"] == "false"
    assert (request["filename"], request["file_content_type"]) == ("speech.ogg", "audio/ogg")


async def test_raw_pcm_is_declared_to_the_provider(speech):
    await speech_transcribe(audio=b"say:pcm", language="en", audio_format="pcm_s16le_16")
    (request,) = speech.received("stt")
    assert request["fields"]["file_format"] == "pcm_s16le_16"


async def test_synthesize_streams_chunks_as_they_come(speech):
    speech.tts_chunks = 3
    speech.tts_chunk_delay_seconds = 0.2
    started = time.monotonic()
    arrivals = []
    async for chunk in speech_synthesize(text="Bonjour", language="fr"):
        arrivals.append((time.monotonic() - started, chunk))

    assert len(arrivals) == 3
    assert arrivals[0][0] < 0.15 and arrivals[-1][0] >= 0.4
    assert speech_decode(b"".join(chunk for _, chunk in arrivals)) == {
        "language": "fr",
        "text": "Bonjour",
    }
    assert synthesized_content_type() == "audio/mpeg"


@pytest.mark.parametrize("failure", ["stt_status", "wrong_key", "slow", "unreachable"])
async def test_transcription_failures_are_speech_unavailable(speech, settings, failure):
    if failure == "stt_status":
        speech.stt_fail_status = 429
    elif failure == "wrong_key":
        settings.ELEVENLABS_API_KEY = "not-the-key"
    elif failure == "slow":
        settings.VOICE_PROVIDER_TIMEOUT_SECONDS = 0.3
        speech.stt_delay_seconds = 1.0
    else:
        settings.ELEVENLABS_BASE_URL = "http://127.0.0.1:9"

    with pytest.raises(SpeechUnavailable):
        await speech_transcribe(audio=b"say:x", language="en")
    if failure == "stt_status":
        assert len(speech.received("stt")) == 1  # the SDK's own retries are off


@pytest.mark.parametrize("failure", ["status", "cut", "slow"])
async def test_synthesis_failures_are_speech_unavailable(speech, settings, failure):
    if failure == "status":
        speech.tts_fail_status = 500
    elif failure == "cut":
        speech.tts_cut_after_chunks = 1
    else:
        settings.VOICE_PROVIDER_TIMEOUT_SECONDS = 0.3
        speech.tts_delay_seconds = 1.0

    with pytest.raises(SpeechUnavailable):
        await _all(speech_synthesize(text="Hello", language="en"))


async def test_without_a_key_nothing_is_sent(speech, settings):
    settings.ELEVENLABS_API_KEY = None
    with pytest.raises(SpeechUnavailable, match="not configured"):
        await speech_transcribe(audio=b"say:x", language="en")
    with pytest.raises(SpeechUnavailable, match="not configured"):
        await _all(speech_synthesize(text="x", language="en"))
    assert speech.received() == []


def test_audio_formats_from_content_types():
    assert audio_format_from_content_type("audio/webm;codecs=opus") == "webm"
    assert audio_format_from_content_type("audio/ogg") == "ogg"
    assert audio_format_from_content_type("audio/x-wav") == "wav"
    assert audio_format_from_content_type(None) == "webm"
    assert audio_format_from_content_type("application/octet-stream") == "webm"
    assert audio_format_from_content_type("text/plain") is None


def test_the_fake_runs_standalone_and_speaks_the_wire_format():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_elevenlabs", "--port", "0", "--tts-chunks", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        base_url = line.removeprefix("listening on ")
        stt = httpx.post(
            f"{base_url}/v1/speech-to-text",
            data={"model_id": "scribe_v2", "language_code": "de"},
            files={"file": ("a.webm", b"say:Guten Tag", "audio/webm")},
            headers={"xi-api-key": ELEVENLABS_TEST_KEY},
        )
        assert stt.status_code == 200
        assert stt.json()["text"] == "Guten Tag" and stt.json()["language_code"] == "de"
        with httpx.stream(
            "POST",
            f"{base_url}/v1/text-to-speech/voice/stream",
            json={"text": "Hallo", "language_code": "de"},
        ) as tts:
            assert tts.headers["content-type"] == "audio/mpeg"
            assert tts.headers.get("transfer-encoding") == "chunked"
            audio = b"".join(tts.iter_bytes())
        assert speech_decode(audio) == {"language": "de", "text": "Hallo"}
    finally:
        process.terminate()
        process.wait(10)


async def test_the_fake_answers_errors_in_elevenlabs_shape():
    fake = FakeElevenLabs(api_key="right")
    base_url = fake.start()
    try:
        async with httpx.AsyncClient() as client:
            refused = await client.post(
                f"{base_url}/v1/text-to-speech/v/stream", json={"text": "x"}
            )
        assert refused.status_code == 401
        assert refused.json()["detail"]["status"] == "invalid_api_key"
    finally:
        fake.stop()


async def test_the_fakes_playable_audio_is_its_header_then_whole_silent_mp3_frames():
    """What the browser tests play: the recognisable header, then MPEG audio frames."""
    fake = FakeElevenLabs(playable_audio=True, tts_min_bytes=4000, tts_chunks=3)
    base_url = fake.start()
    try:
        async with httpx.AsyncClient() as client:
            reply = await client.post(
                f"{base_url}/v1/text-to-speech/voice/stream",
                json={"text": "[es] Hola", "language_code": "es"},
            )
    finally:
        fake.stop()
    audio = reply.content
    assert reply.headers["content-type"] == "audio/mpeg"
    assert speech_decode(audio) == {"language": "es", "text": "[es] Hola"}
    frames = audio[audio.index(b"\n") + 1 :]
    assert len(audio) >= 4000 and len(frames) % len(MP3_SILENT_FRAME) == 0
    assert frames == MP3_SILENT_FRAME * (len(frames) // len(MP3_SILENT_FRAME))
    # MPEG-1 Layer III sync, 128 kbit/s at 44.1 kHz: 144 * 128000 / 44100 = 417 bytes a frame.
    assert MP3_SILENT_FRAME[:2] == b"\xff\xfb" and len(MP3_SILENT_FRAME) == 417
    # Without the option the padding stays zeros, and a short text still gets one frame.
    assert fake_speech("x", "en", min_bytes=64).endswith(b"\x00")
    assert fake_speech("x", "en", playable=True).endswith(MP3_SILENT_FRAME)

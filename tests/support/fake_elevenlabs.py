"""A loopback stand-in for ElevenLabs speech-to-text and text-to-speech, speaking its wire format.

What the official `elevenlabs` SDK sends (checked against elevenlabs 2.78.0), and what this
answers:

- `POST /v1/speech-to-text`: multipart form with `model_id`, `language_code` (and other
  optional fields) and the audio as `file`. Answers the SDK's `SpeechToTextChunkResponseModel`
  JSON: `{"language_code", "language_probability", "text", "words": [...],
  "transcription_id"}`. By default the transcript comes from the audio itself: audio that
  reads `say:<text>` is transcribed as `<text>` (up to a NUL byte, so the recording can be
  padded to a realistic size), anything else as `DEFAULT_TRANSCRIPT`.
- `POST /v1/text-to-speech/{voice_id}/stream` (`?output_format=`): JSON `{"text",
  "model_id", "language_code", ...}`. Answers `audio/mpeg` with chunked transfer encoding,
  `tts_chunks` chunks, `tts_chunk_delay_seconds` apart, after `tts_delay_seconds` before
  the first byte. The audio is `fake_speech(text, language_code)`, so a test can tell which
  text, in which language, it carries. `POST /v1/text-to-speech/{voice_id}` answers the same
  bytes in one piece. With `playable_audio` (`--playable-audio`) the padding after that
  header is silent MP3 frames instead of zeros, so a browser can decode and play it (the
  browser tests listen to it); decoders skip the leading header as junk before the first frame.

Errors are ElevenLabs' shape: `{"detail": {"status": "...", "message": "..."}}`. With
`api_key` set, requests without that `xi-api-key` header get a 401.

In a test:

    fake = FakeElevenLabs()
    base_url = fake.start()          # "http://127.0.0.1:PORT" (the SDK adds /v1/...)
    fake.stt_delay_seconds = 0.2
    fake.tts_fail_status = 500
    ...
    fake.stop()

Standalone (benchmarks, browser tests); prints "listening on http://127.0.0.1:PORT":

    python -m tests.support.fake_elevenlabs --port 0 --stt-delay 0.3 --tts-delay 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.support.loopback_server import LoopbackServer

DEFAULT_TRANSCRIPT = "Hello from the fake transcriber"
SAY_PREFIX = b"say:"
SPEECH_MAGIC = b"FAKEMP3 "
# One silent MPEG-1 Layer III frame: 128 kbit/s, 44.1 kHz, mono, no CRC (header FF FB 90 C0),
# 417 bytes in all; zero side information and main data decode as 26 ms of silence.
MP3_SILENT_FRAME = bytes([0xFF, 0xFB, 0x90, 0xC0]) + bytes(413)

# (audio bytes, language_code or None) -> transcript
Transcriber = Callable[[bytes, str | None], str]


def fake_transcript(audio: bytes, language_code: str | None) -> str:
    """`say:<text>` -> `<text>` (up to a NUL byte, so a recording can be padded to a realistic
    size); anything else -> DEFAULT_TRANSCRIPT."""
    if audio.startswith(SAY_PREFIX):
        said = audio[len(SAY_PREFIX) :].split(b"\x00", 1)[0]
        return said.decode("utf-8", errors="replace").strip()
    return DEFAULT_TRANSCRIPT


def fake_speech(
    text: str, language_code: str | None, *, min_bytes: int = 0, playable: bool = False
) -> bytes:
    """The "audio" synthesized for a text: recognisable, padded to at least `min_bytes` (with
    `playable`, by whole silent MP3 frames, at least one, so that a browser plays it)."""
    body = SPEECH_MAGIC + json.dumps({"language": language_code, "text": text}).encode() + b"\n"
    if playable:
        frames = max(1, -(-(min_bytes - len(body)) // len(MP3_SILENT_FRAME)))
        return body + MP3_SILENT_FRAME * frames
    if len(body) < min_bytes:
        body += b"\x00" * (min_bytes - len(body))
    return body


def speech_decode(audio: bytes) -> dict[str, Any]:
    """{"language", "text"} from what `fake_speech` made (a test's view of the audio)."""
    assert audio.startswith(SPEECH_MAGIC), audio[:40]
    line = audio[len(SPEECH_MAGIC) :].split(b"\n", 1)[0]
    return json.loads(line)


class FakeElevenLabs(LoopbackServer):
    base_path = ""
    name = "fake ElevenLabs server"

    def __init__(
        self,
        *,
        stt_delay_seconds: float = 0.0,
        tts_delay_seconds: float = 0.0,
        tts_chunk_delay_seconds: float = 0.0,
        tts_chunks: int = 4,
        tts_min_bytes: int = 8192,
        api_key: str | None = None,
        transcriber: Transcriber = fake_transcript,
        playable_audio: bool = False,
    ) -> None:
        super().__init__()
        self.stt_delay_seconds = stt_delay_seconds  # before the transcript
        self.stt_fail_status: int | None = None  # answer speech-to-text with this HTTP error
        self.tts_delay_seconds = tts_delay_seconds  # before the first audio byte
        self.tts_chunk_delay_seconds = tts_chunk_delay_seconds  # between audio chunks
        self.tts_chunks = tts_chunks
        self.tts_min_bytes = tts_min_bytes  # audio is padded to this size
        self.playable_audio = playable_audio  # padded with silent MP3 frames, not zeros
        self.tts_fail_status: int | None = None  # answer text-to-speech with this HTTP error
        # Send this many chunks, then drop the connection (a stream cut off midway).
        self.tts_cut_after_chunks: int | None = None
        self.api_key = api_key
        self.transcriber = transcriber
        # One dict per request: kind ("stt" or "tts"), path, query, fields or json, the audio
        # received (stt), times (monotonic) it arrived and was answered.
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    # --- serving -------------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/speech-to-text", self._speech_to_text)
        app.router.add_post("/v1/text-to-speech/{voice_id}/stream", self._text_to_speech_stream)
        app.router.add_post("/v1/text-to-speech/{voice_id}", self._text_to_speech)
        return app

    def received(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [request for request in self.requests if kind is None or request["kind"] == kind]

    def _record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(entry)
        return entry

    def _refused(self, request: web.Request) -> web.Response | None:
        if self.api_key is not None and request.headers.get("xi-api-key") != self.api_key:
            return _error(401, "invalid_api_key", "Invalid API key")
        return None

    # --- speech to text ------------------------------------------------------------------

    async def _speech_to_text(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        if not request.content_type.startswith("multipart/"):
            return _error(422, "invalid_content_type", "expected multipart/form-data")
        fields: dict[str, str] = {}
        audio = b""
        filename = None
        file_content_type = None
        reader = await request.multipart()
        async for part in reader:
            if part.name == "file":
                filename = part.filename
                file_content_type = part.headers.get("Content-Type")
                audio = bytes(await part.read())
            elif part.name:
                fields[part.name] = await part.text()
        entry = self._record(
            {
                "kind": "stt",
                "path": request.path,
                "query": dict(request.query),
                "fields": fields,
                "audio": audio,
                "filename": filename,
                "file_content_type": file_content_type,
                "arrived": arrived,
            }
        )
        refused = self._refused(request)
        if refused is not None:
            return refused
        if not fields.get("model_id"):
            return _error(422, "missing_model_id", "model_id is required")
        if not audio:
            return _error(422, "missing_file", "file is required")
        if self.stt_delay_seconds:
            await asyncio.sleep(self.stt_delay_seconds)
        if self.stt_fail_status:
            return _error(self.stt_fail_status, "server_error", "The fake server was told to fail")
        language = fields.get("language_code") or "en"
        text = self.transcriber(audio, fields.get("language_code"))
        words = []
        position = 0.0
        for word in text.split():
            words.append(
                {
                    "text": word,
                    "start": position,
                    "end": position + 0.3,
                    "type": "word",
                    "logprob": -0.05,
                }
            )
            position += 0.35
        entry["answered"] = time.monotonic()
        return web.json_response(
            {
                "language_code": language,
                "language_probability": 0.98,
                "text": text,
                "words": words,
                "transcription_id": uuid.uuid4().hex,
            }
        )

    # --- text to speech ------------------------------------------------------------------

    async def _tts_request(
        self, request: web.Request
    ) -> tuple[dict[str, Any] | None, web.Response | None]:
        arrived = time.monotonic()
        try:
            body = await request.json()
        except ValueError:
            return None, _error(400, "invalid_json", "body is not JSON")
        entry = self._record(
            {
                "kind": "tts",
                "path": request.path,
                "voice_id": request.match_info["voice_id"],
                "query": dict(request.query),
                "json": body,
                "arrived": arrived,
            }
        )
        refused = self._refused(request)
        if refused is not None:
            return None, refused
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
            return None, _error(422, "missing_text", "text is required")
        if self.tts_delay_seconds:
            await asyncio.sleep(self.tts_delay_seconds)
        if self.tts_fail_status:
            return None, _error(
                self.tts_fail_status, "server_error", "The fake server was told to fail"
            )
        return entry, None

    def _speech(self, body: dict[str, Any]) -> bytes:
        return fake_speech(
            body["text"],
            body.get("language_code"),
            min_bytes=self.tts_min_bytes,
            playable=self.playable_audio,
        )

    async def _text_to_speech(self, request: web.Request) -> web.Response:
        entry, refused = await self._tts_request(request)
        if refused is not None:
            return refused
        body = entry["json"]
        audio = self._speech(body)
        entry["answered"] = time.monotonic()
        return web.Response(body=audio, content_type="audio/mpeg")

    async def _text_to_speech_stream(self, request: web.Request) -> web.StreamResponse:
        entry, refused = await self._tts_request(request)
        if refused is not None:
            return refused
        body = entry["json"]
        audio = self._speech(body)
        count = max(1, self.tts_chunks)
        size = -(-len(audio) // count)
        chunks = [audio[offset : offset + size] for offset in range(0, len(audio), size)]
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            for index, chunk in enumerate(chunks):
                if index and self.tts_chunk_delay_seconds:
                    await asyncio.sleep(self.tts_chunk_delay_seconds)
                if self.tts_cut_after_chunks is not None and index >= self.tts_cut_after_chunks:
                    # Drop the connection without the terminating chunk: a broken stream.
                    request.transport.close()
                    entry["cut"] = True
                    return response
                await response.write(chunk)
                if index == 0:
                    entry["first_byte"] = time.monotonic()
            await response.write_eof()
            entry["answered"] = time.monotonic()
        except ConnectionError:
            pass  # the client went away
        return response


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"detail": {"status": code, "message": message}}, status=status)


async def _serve(arguments: argparse.Namespace) -> None:
    fake = FakeElevenLabs(
        stt_delay_seconds=arguments.stt_delay,
        tts_delay_seconds=arguments.tts_delay,
        tts_chunk_delay_seconds=arguments.tts_chunk_delay,
        tts_chunks=arguments.tts_chunks,
        tts_min_bytes=arguments.tts_bytes,
        playable_audio=arguments.playable_audio,
    )
    fake.stt_fail_status = arguments.stt_fail_status
    fake.tts_fail_status = arguments.tts_fail_status
    await fake.serve_until_signalled(arguments.host, arguments.port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--stt-delay", type=float, default=0.0, help="seconds before a transcript")
    parser.add_argument(
        "--tts-delay", type=float, default=0.0, help="seconds before the first audio byte"
    )
    parser.add_argument(
        "--tts-chunk-delay", type=float, default=0.0, help="seconds between audio chunks"
    )
    parser.add_argument("--tts-chunks", type=int, default=4, help="audio chunks per synthesis")
    parser.add_argument(
        "--tts-bytes", type=int, default=8192, help="audio bytes per synthesis (at least)"
    )
    parser.add_argument(
        "--playable-audio",
        action="store_true",
        help="pad speech with silent MP3 frames a browser can play",
    )
    parser.add_argument("--stt-fail-status", type=int, default=None)
    parser.add_argument("--tts-fail-status", type=int, default=None)
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()

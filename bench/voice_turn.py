#!/usr/bin/env python3
"""Push-to-talk latency benchmark: from the speaker's "stop" to the first byte of translated
speech at the listener, over real WebSockets against Daphne + Redis + moto's DynamoDB server,
with loopback providers (ElevenLabs speech-to-text and streaming text-to-speech, OpenAI
translation) answering after configurable delays. Prints figures.

    .venv/bin/python bench/voice_turn.py
    .venv/bin/python bench/voice_turn.py --turns 30 --stt-delay 0.3 --translate-delay 0.2 \\
        --tts-delay 0.15 --tts-chunk-delay 0.1 --tts-chunks 5

An English speaker and a Spanish listener are in a call in a 1:1 chat. Each turn: the
speaker sends `ptt_start`, the recording as binary frames, then `ptt_stop`; the clock starts
as `ptt_stop` is written and stops when the listener's socket delivers the first
`voice_audio` frame.

The providers' own time is measured, not assumed: the same three requests a turn makes
(speech-to-text, a streamed translation to its end, text-to-speech to its first byte) are
sent back to back from this process through the same SDKs, to the same loopback servers.
The overhead is what a turn takes beyond that chain: the app's own work (socket frames,
Redis, the channel layer, the PLAYING broadcast, relaying the first chunk). Target: at most
150 ms. The turn's own stage timings, as Daphne logged them, are printed too, and whether
the speech streamed (the first byte reached the listener before synthesis ended).
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import websockets  # noqa: E402
from elevenlabs.client import AsyncElevenLabs  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from bench.chat_load import percentile  # noqa: E402
from bench.stack import stack_running  # noqa: E402
from tests.support.http import http_post, signup  # noqa: E402

TARGET_OVERHEAD_MS = 150.0
TURN_LOG = re.compile(
    r"voice turn \w+ in chat \w+ complete: audio (?P<audio>\d+) bytes, stt (?P<stt>[\d.]+) ms, "
    r"translate (?P<translate>[\d.]+) ms, tts first byte (?P<tts>[\d.]+) ms, "
    r"first audio out (?P<first>[\d.]+) ms, total (?P<total>[\d.]+) ms"
)


def speech_arguments(options: argparse.Namespace) -> list[str]:
    return [
        "--stt-delay",
        str(options.stt_delay),
        "--tts-delay",
        str(options.tts_delay),
        "--tts-chunk-delay",
        str(options.tts_chunk_delay),
        "--tts-chunks",
        str(options.tts_chunks),
        "--tts-bytes",
        str(options.tts_bytes),
    ]


def recording(number: int, size: int) -> bytes:
    said = f"say:This is turn number {number} of the voice benchmark".encode()
    return said + b"\x00" * max(0, size - len(said))


def ms(seconds: float) -> float:
    return seconds * 1000


def summary(values_ms: list[float]) -> str:
    return (
        f"p50 {percentile(values_ms, 0.5):.1f}  p95 {percentile(values_ms, 0.95):.1f}  "
        f"min {min(values_ms):.1f}  max {max(values_ms):.1f}"
    )


# --- the providers on their own -------------------------------------------------------------


async def provider_chain(options, speech_url: str, translator_url: str, runs: int) -> list[float]:
    """Seconds for STT -> whole translation -> TTS first byte, sent back to back, per run."""
    http = httpx.AsyncClient(timeout=30)
    eleven = AsyncElevenLabs(api_key="bench-key", base_url=speech_url, httpx_client=http)
    openai = AsyncOpenAI(api_key="bench-key", base_url=translator_url, max_retries=0)
    timings = []
    try:
        for number in range(runs):
            started = time.perf_counter()
            transcript = await eleven.speech_to_text.convert(
                model_id="scribe_v2",
                language_code="en",
                file=("speech.webm", recording(number, options.audio_bytes), "audio/webm"),
                request_options={"max_retries": 0},
            )
            async with openai.chat.completions.with_streaming_response.create(
                model="gpt-4o-mini",
                messages=[
                    {
                        "role": "system",
                        "content": "You are a translator from English (en) to Spanish (es).",
                    },
                    {"role": "user", "content": transcript.text},
                ],
                stream=True,
            ) as response:
                async for _ in response.iter_lines():
                    pass
            async for _ in eleven.text_to_speech.stream(
                "voice",
                text=transcript.text,
                model_id="eleven_flash_v2_5",
                language_code="es",
                request_options={"max_retries": 0, "chunk_size": None},
            ):
                break
            timings.append(time.perf_counter() - started)
    finally:
        await openai.close()
        await http.aclose()
    return timings


# --- turns over the sockets -----------------------------------------------------------------


async def until(socket, predicate, timeout: float = 30) -> tuple[dict, float]:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.recv())
            if predicate(frame):
                return frame, time.perf_counter()


def is_type(kind, **fields):
    return lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items())


async def one_turn(options, number, chat_id, speaker, listener) -> dict:
    await speaker.send(json.dumps({"type": "ptt_start", "chat_id": chat_id}))
    await until(speaker, is_type("voice_turn", state="recording"))
    await until(listener, is_type("voice_turn", state="recording"))
    audio = recording(number, options.audio_bytes)
    step = max(1, len(audio) // options.audio_frames)
    for offset in range(0, len(audio), step):
        await speaker.send(audio[offset : offset + step])
    stop = time.perf_counter()
    await speaker.send(json.dumps({"type": "ptt_stop", "chat_id": chat_id}))
    first_audio = last_audio = playing = None
    chunks = 0
    async with asyncio.timeout(30):
        while True:
            frame = json.loads(await listener.recv())
            now = time.perf_counter()
            if frame.get("type") == "voice_turn" and frame["state"] == "playing":
                playing = now
            elif frame.get("type") == "voice_audio" and not frame["final"]:
                chunks += 1
                first_audio = first_audio or now
                last_audio = now
            elif frame.get("type") == "voice_turn" and frame["state"] == "idle":
                if frame["reason"] != "complete":
                    raise RuntimeError(f"turn {number} failed: {frame}")
                idle = now
                break
    await until(speaker, is_type("voice_turn", state="idle"))
    return {
        "first_audio": first_audio - stop,
        "playing": playing - stop,
        "last_audio": last_audio - stop,
        "complete": idle - stop,
        "chunks": chunks,
    }


async def run(options: argparse.Namespace) -> None:
    with (
        stack_running() as stack,
        tempfile.NamedTemporaryFile(prefix="voice-bench-", suffix=".log", delete=False) as log_file,
    ):
        translator_url = stack.provider(
            "tests.support.fake_openai", "--delay", str(options.translate_delay)
        )
        speech_url = stack.provider("tests.support.fake_elevenlabs", *speech_arguments(options))
        stack.daphne_start(
            dynamo_url=stack.dynamo.url,
            settings=dict(
                OPENAI_BASE_URL=translator_url,
                OPENAI_API_KEY="bench-key",
                ELEVENLABS_BASE_URL=speech_url,
                ELEVENLABS_API_KEY="bench-key",
                LOG_LEVEL="INFO",
                LOG_FORMAT="plain",
            ),
            stderr=log_file,
        )
        base = stack.http
        configured = options.stt_delay + options.translate_delay + options.tts_delay
        print(
            f"setup: {options.turns} turns, en speaker -> es listener; provider delays: "
            f"speech-to-text {ms(options.stt_delay):.0f} ms, translation {ms(options.translate_delay):.0f} ms "
            f"to first token, text-to-speech {ms(options.tts_delay):.0f} ms to first byte then "
            f"{options.tts_chunks} chunks {ms(options.tts_chunk_delay):.0f} ms apart "
            f"(sum to first byte {ms(configured):.0f} ms); recording {options.audio_bytes} bytes "
            f"in {options.audio_frames} frames",
            flush=True,
        )
        stamp = int(time.time())
        bob = signup(base, f"bob{stamp}", "en")
        ana = signup(base, f"ana{stamp}", "es")
        chat_id = http_post(base, "/api/chats", {"username": f"ana{stamp}"}, token=bob)["chat_id"]
        async with (
            websockets.connect(f"{stack.ws}/api/ws/chat?token={bob}", max_queue=None) as speaker,
            websockets.connect(f"{stack.ws}/api/ws/chat?token={ana}", max_queue=None) as listener,
        ):
            await speaker.send(json.dumps({"type": "call_start", "chat_id": chat_id}))
            incoming, _ = await until(listener, is_type("call_incoming"))
            await listener.send(
                json.dumps(
                    {"type": "call_accept", "chat_id": chat_id, "call_id": incoming["call_id"]}
                )
            )
            await until(speaker, is_type("call_accepted"))
            for number in range(options.warmup):
                await one_turn(options, number, chat_id, speaker, listener)
            results = []
            for number in range(options.turns):
                results.append(
                    await one_turn(options, options.warmup + number, chat_id, speaker, listener)
                )
        chain = await provider_chain(
            options, speech_url, translator_url, max(5, options.turns // 2)
        )

    first = [ms(r["first_audio"]) for r in results]
    chain_ms = [ms(value) for value in chain]
    provider_ms = statistics.median(chain_ms)
    overheads = [value - provider_ms for value in first]
    streamed = sum(1 for r in results if r["chunks"] > 1 and r["last_audio"] > r["first_audio"])
    print(f"stop -> first translated audio byte at the listener, ms: {summary(first)}")
    print(f"stop -> PLAYING at the listener, ms: {summary([ms(r['playing']) for r in results])}")
    print(
        f"stop -> last audio byte, ms: {summary([ms(r['last_audio']) for r in results])}; "
        f"stop -> complete: {summary([ms(r['complete']) for r in results])}"
    )
    print(
        f"providers' own time (STT + whole translation + TTS first byte, called directly through "
        f"the same SDKs), ms: {summary(chain_ms)}"
    )
    print(
        f"overhead beyond the providers, ms: p50 {statistics.median(overheads):.1f}  "
        f"p95 {percentile(overheads, 0.95):.1f}  max {max(overheads):.1f}  "
        f"(target <= {TARGET_OVERHEAD_MS:.0f}: "
        f"{'met' if percentile(overheads, 0.95) <= TARGET_OVERHEAD_MS else 'NOT met'} at p95)"
    )
    print(
        f"streaming: {streamed}/{len(results)} turns delivered the first audio byte before synthesis "
        f"ended (first byte {statistics.median([ms(r['first_audio']) for r in results]):.0f} ms, last "
        f"byte {statistics.median([ms(r['last_audio']) for r in results]):.0f} ms after stop, median; "
        f"{statistics.median([r['chunks'] for r in results]):.0f} chunks)"
    )
    stages = [match.groupdict() for match in TURN_LOG.finditer(Path(log_file.name).read_text())]
    stages = stages[options.warmup :]
    if stages:

        def median_of(name):
            return statistics.median(float(stage[name]) for stage in stages)

        print(
            f"server-side stage timings (median of {len(stages)} turns, from Daphne's log), ms: "
            f"stt {median_of('stt'):.1f}, translate {median_of('translate'):.1f}, tts first byte "
            f"{median_of('tts'):.1f}, stop -> first chunk handed to the channel layer "
            f"{median_of('first'):.1f}, stop -> complete {median_of('total'):.1f}"
        )
    os.unlink(log_file.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2, help="turns run first and not counted")
    parser.add_argument("--stt-delay", type=float, default=0.3, help="seconds before a transcript")
    parser.add_argument(
        "--translate-delay", type=float, default=0.2, help="seconds to the first token"
    )
    parser.add_argument(
        "--tts-delay", type=float, default=0.15, help="seconds to the first audio byte"
    )
    parser.add_argument(
        "--tts-chunk-delay", type=float, default=0.1, help="seconds between audio chunks"
    )
    parser.add_argument("--tts-chunks", type=int, default=5)
    parser.add_argument("--tts-bytes", type=int, default=24000, help="synthesized audio per turn")
    parser.add_argument(
        "--audio-bytes", type=int, default=20000, help="recording size (5 s of opus)"
    )
    parser.add_argument("--audio-frames", type=int, default=20, help="binary frames per recording")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

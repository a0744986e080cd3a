"""Voice across two Daphne processes sharing one Redis: the call state and the turn lock are
in Redis, and events cross instances through the channel layer. The caller and speaker is
on one instance, the listener on the other, both over real WebSockets; the providers are the
loopback fakes, reached by the real SDK clients inside Daphne."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.request

import websockets

from tests.support.daphne import daphne_running
from tests.support.fake_elevenlabs import speech_decode


def _post(base: str, path: str, body: dict, token: str | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}{path}",
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _signup(base: str, username: str, language: str) -> str:
    return _post(
        base,
        "/api/auth/signup",
        {
            "username": username,
            "password": "a long password",
            "first_name": username.title(),
            "last_name": "Test",
            "native_language": language,
        },
    )["access_token"]


async def _until(socket, predicate, timeout: float = 10.0) -> list[dict]:
    frames = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.recv())
            frames.append(frame)
            if predicate(frame):
                return frames


def _type(kind, **fields):
    return lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items())


def _idle(frame):
    return frame.get("type") == "voice_turn" and frame.get("state") == "idle"


async def test_a_call_and_its_turns_span_two_instances(dynamo_tables, speech, translator):
    environment = {
        "DYNAMODB_TABLE_PREFIX": dynamo_tables,
        "OPENAI_BASE_URL": translator.base_url,
        "OPENAI_API_KEY": "test-key",
        "ELEVENLABS_BASE_URL": speech.base_url,
        "ELEVENLABS_API_KEY": speech.api_key,
        "LOG_LEVEL": "WARNING",
    }
    with daphne_running(environment) as first, daphne_running(environment) as second:
        bob = await asyncio.to_thread(_signup, first.url, "bob", "en")
        ana = await asyncio.to_thread(_signup, second.url, "ana", "es")
        chat_id = (
            await asyncio.to_thread(_post, first.url, "/api/chats", {"username": "ana"}, bob)
        )["chat_id"]
        ws_first = first.url.replace("http", "ws")
        ws_second = second.url.replace("http", "ws")
        async with (
            websockets.connect(f"{ws_first}/api/ws/chat?token={bob}") as bob_socket,
            websockets.connect(f"{ws_second}/api/ws/chat?token={ana}") as ana_socket,
        ):
            # Ring on one instance, answer on the other.
            await bob_socket.send(json.dumps({"type": "call_start", "chat_id": chat_id}))
            call_id = (await _until(ana_socket, _type("call_incoming")))[-1]["call_id"]
            await ana_socket.send(
                json.dumps({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})
            )
            await _until(bob_socket, _type("call_accepted"))

            # A whole turn: spoken on the first instance, heard on the second.
            await bob_socket.send(json.dumps({"type": "ptt_start", "chat_id": chat_id}))
            await _until(bob_socket, _type("voice_turn", state="recording"))
            await bob_socket.send(b"say:Good evening")
            await bob_socket.send(json.dumps({"type": "ptt_stop", "chat_id": chat_id}))
            ana_frames = await _until(ana_socket, _idle)
            assert [f["state"] for f in ana_frames if f.get("type") == "voice_turn"] == [
                "recording",
                "processing",
                "playing",
                "idle",
            ]
            assert ana_frames[-1]["reason"] == "complete"
            audio = b"".join(
                base64.b64decode(f["data"]) for f in ana_frames if f.get("type") == "voice_audio"
            )
            assert speech_decode(audio) == {"language": "es", "text": "[es] Good evening"}
            await _until(bob_socket, _idle)

            # The second instance's listener leaves mid-turn: the first instance's pipeline
            # stops, and the speaker is back to idle.
            speech.stt_delay_seconds = 1.0
            await bob_socket.send(json.dumps({"type": "ptt_start", "chat_id": chat_id}))
            await _until(ana_socket, _type("voice_turn", state="recording"))
            await bob_socket.send(b"say:Still there?")
            await bob_socket.send(json.dumps({"type": "ptt_stop", "chat_id": chat_id}))
            await _until(ana_socket, _type("voice_turn", state="processing"))
            await ana_socket.close()
            frames = await _until(bob_socket, _idle)
            assert frames[-1]["error_code"] == "participant_left"
            assert (await _until(bob_socket, _type("call_ended")))[-1]["reason"] == "left"
            await asyncio.sleep(1.5)
            assert len(speech.received("tts")) == 1  # only the first turn's


def _get_audio(base: str, path: str, token: str) -> bytes:
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 200
        return response.read()


async def test_a_message_read_aloud_on_two_instances_at_once_is_synthesized_once(
    dynamo_tables, speech, translator
):
    environment = {
        "DYNAMODB_TABLE_PREFIX": dynamo_tables,
        "OPENAI_BASE_URL": translator.base_url,
        "OPENAI_API_KEY": "test-key",
        "ELEVENLABS_BASE_URL": speech.base_url,
        "ELEVENLABS_API_KEY": speech.api_key,
        "LOG_LEVEL": "WARNING",
    }
    # Slow enough that both requests arrive while the first synthesis is under way.
    speech.tts_chunks = 4
    speech.tts_chunk_delay_seconds = 1.0
    with daphne_running(environment) as first, daphne_running(environment) as second:
        ana = await asyncio.to_thread(_signup, first.url, "ana", "es")
        bob = await asyncio.to_thread(_signup, first.url, "bob", "en")
        carl = await asyncio.to_thread(_signup, second.url, "carl", "en")
        chat_id = (
            await asyncio.to_thread(
                _post, first.url, "/api/chats", {"title": "Trio", "usernames": ["bob", "carl"]}, ana
            )
        )["chat_id"]
        seq = (
            await asyncio.to_thread(
                _post, first.url, f"/api/chats/{chat_id}/messages", {"text": "Hola"}, ana
            )
        )["message"]["seq"]
        path = f"/api/chats/{chat_id}/messages/{seq}/audio"

        heard = await asyncio.gather(
            asyncio.to_thread(_get_audio, first.url, path, bob),
            asyncio.to_thread(_get_audio, second.url, path, carl),
        )

        assert heard[0] == heard[1]
        assert speech_decode(heard[0]) == {"language": "en", "text": "[en] Hola"}
        assert len(speech.received("tts")) == 1

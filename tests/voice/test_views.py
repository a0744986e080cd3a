"""Voice REST endpoints through Django's ASGI test client: call tokens (checked with
livekit-api's own TokenVerifier), voice notes and message audio (through the real ElevenLabs
and OpenAI SDK clients to the loopback fakes)."""

from __future__ import annotations

import asyncio
import json
import time

import jwt
import pytest
from django.test import AsyncClient
from livekit.api import TokenVerifier

from apps.chats import services as chat_services
from apps.chats.selectors import map_as_dict, message_history
from apps.core.concurrency import run_blocking
from apps.voice import services, speech_cache
from tests.support.accounts import user_create, user_token
from tests.support.fake_elevenlabs import speech_decode
from tests.voice.conftest import LIVEKIT_TEST_KEY, LIVEKIT_TEST_SECRET

TOKEN = "/api/voice/token"


def _auth(token):
    return {"headers": {"Authorization": f"Bearer {token}"}} if token else {}


async def _post_json(client, path, body, token=None):
    return await client.post(
        path, json.dumps(body), content_type="application/json", **_auth(token)
    )


async def _people(*languages):
    users = [await run_blocking(user_create)(language=language) for language in languages]
    return users


async def _direct_chat(user, other) -> str:
    created = await run_blocking(chat_services.chat_direct_create)(
        user=user, other_username=other.username
    )
    return created.membership.chat_id


# --- POST /api/voice/token -------------------------------------------------------------------


async def test_token_carries_the_contract_claims_and_grants_audio_only(livekit):
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)

    response = await _post_json(AsyncClient(), TOKEN, {"chat_id": chat_id}, user_token(ana))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["room_name"] == f"chat-{chat_id}"
    assert body["url"] == "ws://127.0.0.1:7880"
    claims = TokenVerifier(LIVEKIT_TEST_KEY, LIVEKIT_TEST_SECRET).verify(body["token"])
    assert claims.identity == ana.user_id
    assert claims.name == "Test Person"
    assert json.loads(claims.metadata) == {"language": "es", "username": ana.username}
    grants = claims.video
    assert grants.room == f"chat-{chat_id}"
    assert grants.room_join is True
    assert grants.can_subscribe is True
    assert grants.can_publish is True
    assert grants.can_publish_sources == ["microphone"]  # no camera, no screen share
    assert grants.can_publish_data is True
    assert not grants.room_admin and not grants.room_create and not grants.room_list
    raw = jwt.decode(body["token"], options={"verify_signature": False})
    assert raw["iss"] == LIVEKIT_TEST_KEY
    assert raw["exp"] - raw["nbf"] == 3600
    assert abs(raw["nbf"] - time.time()) < 60


async def test_token_signed_with_another_secret_does_not_verify(livekit):
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)
    body = (await _post_json(AsyncClient(), TOKEN, {"chat_id": chat_id}, user_token(bob))).json()

    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(LIVEKIT_TEST_KEY, "another-secret-entirely-and-long-enough").verify(
            body["token"]
        )
    assert (
        TokenVerifier(LIVEKIT_TEST_KEY, LIVEKIT_TEST_SECRET).verify(body["token"]).identity
        == bob.user_id
    )


async def test_token_is_for_members_only(livekit):
    ana, bob, eve = await _people("es", "en", "fr")
    chat_id = await _direct_chat(ana, bob)
    client = AsyncClient()

    outsider = await _post_json(client, TOKEN, {"chat_id": chat_id}, user_token(eve))
    assert outsider.status_code == 404
    assert outsider.json() == {"detail": "Chat not found"}

    unknown = await _post_json(client, TOKEN, {"chat_id": "no-such-chat"}, user_token(ana))
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Chat not found"}

    anonymous = await _post_json(client, TOKEN, {"chat_id": chat_id})
    assert anonymous.status_code == 401

    missing = await _post_json(client, TOKEN, {}, user_token(ana))
    assert missing.status_code == 422
    assert missing.json() == {"detail": "chat_id is required"}

    wrong_method = await client.get(TOKEN, **_auth(user_token(ana)))
    assert wrong_method.status_code == 405

    # Strings that cannot be a chat id are refused as such, never a 500.
    for bad_id in ("", "\x00", "x" * 5000, "\ud800"):
        refused = await _post_json(client, TOKEN, {"chat_id": bad_id}, user_token(ana))
        assert refused.status_code == 422, (bad_id[:10], refused.content)


async def test_token_without_livekit_keys_is_503_with_a_clear_detail(settings):
    settings.LIVEKIT_API_KEY = None
    settings.LIVEKIT_API_SECRET = None
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)

    response = await _post_json(AsyncClient(), TOKEN, {"chat_id": chat_id}, user_token(ana))

    assert response.status_code == 503
    assert "LIVEKIT_API_KEY" in response.json()["detail"]
    assert "not configured" in response.json()["detail"]


# --- POST /api/chats/{id}/voice_notes --------------------------------------------------------


async def _post_audio(client, chat_id, audio: bytes, token, content_type="audio/webm", query=""):
    return await client.post(
        f"/api/chats/{chat_id}/voice_notes{query}", audio, content_type=content_type, **_auth(token)
    )


async def test_voice_note_is_transcribed_translated_and_stored_for_every_member(speech, translator):
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)

    response = await _post_audio(AsyncClient(), chat_id, b"say:Buenos dias", user_token(ana))

    assert response.status_code == 201, response.content
    message = response.json()["message"]
    assert message["kind"] == "voice_note"
    assert (message["text"], message["language"]) == ("Buenos dias", "es")
    assert message["from_user_id"] == ana.user_id
    (stt,) = speech.received("stt")
    assert stt["fields"]["language_code"] == "es"  # the sender's language
    assert stt["fields"]["model_id"] == "scribe_v2"
    assert stt["audio"] == b"say:Buenos dias"
    assert (stt["filename"], stt["file_content_type"]) == ("speech.webm", "audio/webm")
    # Bob reads it in English, like any message.
    history = await AsyncClient().get(f"/api/chats/{chat_id}/messages", **_auth(user_token(bob)))
    (stored,) = history.json()["messages"]
    assert stored["kind"] == "voice_note"
    assert (stored["text"], stored["language"]) == ("[en] Buenos dias", "en")
    assert stored["original_text"] == "Buenos dias"


async def test_voice_note_refusals(speech, translator, settings):
    settings.VOICE_NOTE_MAX_BYTES = 1000
    ana, bob, eve = await _people("es", "en", "fr")
    chat_id = await _direct_chat(ana, bob)
    client = AsyncClient()

    outsider = await _post_audio(client, chat_id, b"say:hola", user_token(eve))
    unknown = await _post_audio(client, "nope", b"say:hola", user_token(ana))
    assert (outsider.status_code, outsider.json()) == (404, {"detail": "Chat not found"})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Chat not found"})
    too_big = await _post_audio(client, chat_id, b"x" * 1001, user_token(ana))
    assert too_big.status_code == 413 and "1000 bytes" in too_big.json()["detail"]
    empty = await _post_audio(client, chat_id, b"", user_token(ana))
    assert empty.status_code == 422
    not_audio = await _post_audio(
        client, chat_id, b"say:hola", user_token(ana), content_type="text/plain"
    )
    assert not_audio.status_code == 422
    assert (await _post_audio(client, chat_id, b"say:hola", None)).status_code == 401
    for query in ("?client_msg_id=a%00b", "?client_msg_id=%1B"):
        bad_id = await _post_audio(client, chat_id, b"say:hola", user_token(ana), query=query)
        assert bad_id.status_code == 422 and "client_msg_id" in bad_id.json()["detail"]
    # None of these reached the provider.
    assert speech.received("stt") == []

    silent = await _post_audio(client, chat_id, b"say:   ", user_token(ana))
    assert silent.status_code == 422 and "No speech" in silent.json()["detail"]

    speech.stt_fail_status = 500
    failed = await _post_audio(client, chat_id, b"say:hola", user_token(ana))
    assert failed.status_code == 503
    page = await run_blocking(message_history)(chat_id=chat_id, limit=10, before_seq=None)
    assert page.messages == []


async def test_voice_note_resent_with_its_client_msg_id_is_stored_and_transcribed_once(
    speech, translator
):
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)
    client = AsyncClient()

    first = await _post_audio(
        client, chat_id, b"say:una vez", user_token(ana), query="?client_msg_id=vn-1"
    )
    again = await _post_audio(
        client, chat_id, b"say:una vez", user_token(ana), query="?client_msg_id=vn-1"
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True
    assert again.json()["message"]["message_id"] == first.json()["message"]["message_id"]
    assert len(speech.received("stt")) == 1


async def test_voice_note_in_wav_is_sent_to_the_provider_as_wav(speech, translator):
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)

    response = await _post_audio(
        AsyncClient(), chat_id, b"say:hola", user_token(ana), content_type="audio/wav"
    )

    assert response.status_code == 201
    (stt,) = speech.received("stt")
    assert (stt["filename"], stt["file_content_type"]) == ("speech.wav", "audio/wav")


# --- GET /api/chats/{id}/messages/{seq}/audio ------------------------------------------------


async def _read_stream(response) -> list[tuple[float, bytes]]:
    started = time.monotonic()
    chunks = []
    async for chunk in response.streaming_content:
        chunks.append((time.monotonic() - started, chunk))
    return chunks


async def test_message_audio_streams_speech_in_the_readers_language(speech, translator, settings):
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)
    sent = await _post_audio(AsyncClient(), chat_id, b"say:Buenos dias", user_token(ana))
    seq = sent.json()["message"]["seq"]
    speech.tts_chunks = 4
    speech.tts_chunk_delay_seconds = 0.2

    response = await AsyncClient().get(
        f"/api/chats/{chat_id}/messages/{seq}/audio", **_auth(user_token(bob))
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Content-Language"] == "en"
    assert "private" in response["Cache-Control"]
    chunks = await _read_stream(response)
    audio = b"".join(chunk for _, chunk in chunks)
    assert speech_decode(audio) == {"language": "en", "text": "[en] Buenos dias"}
    # Streamed: the first bytes came well before the provider finished.
    assert len(chunks) >= 2
    assert chunks[-1][0] - chunks[0][0] >= 0.4
    (tts,) = speech.received("tts")
    assert tts["voice_id"] == settings.ELEVENLABS_TTS_VOICE_ID
    assert tts["path"].endswith("/stream")
    assert tts["json"]["model_id"] == settings.ELEVENLABS_TTS_MODEL
    assert tts["json"]["language_code"] == "en"
    assert tts["query"]["output_format"] == settings.ELEVENLABS_TTS_OUTPUT_FORMAT

    # The sender hears her own words, in Spanish.
    own = await AsyncClient().get(
        f"/api/chats/{chat_id}/messages/{seq}/audio", **_auth(user_token(ana))
    )
    assert speech_decode(b"".join([c for _, c in await _read_stream(own)])) == {
        "language": "es",
        "text": "Buenos dias",
    }


async def test_message_audio_refusals_and_provider_failure(speech, translator):
    ana, bob, eve = await _people("es", "en", "fr")
    chat_id = await _direct_chat(ana, bob)
    sent = await _post_audio(AsyncClient(), chat_id, b"say:hola", user_token(ana))
    seq = sent.json()["message"]["seq"]
    client = AsyncClient()
    path = f"/api/chats/{chat_id}/messages/{seq}/audio"

    outsider = await client.get(path, **_auth(user_token(eve)))
    unknown = await client.get("/api/chats/nope/messages/1/audio", **_auth(user_token(ana)))
    assert (outsider.status_code, outsider.json()) == (404, {"detail": "Chat not found"})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Chat not found"})
    missing = await client.get(f"/api/chats/{chat_id}/messages/99/audio", **_auth(user_token(ana)))
    assert missing.status_code == 404 and missing.json() == {"detail": "Message not found"}
    assert (await client.get(path)).status_code == 401

    speech.tts_fail_status = 500
    failed = await client.get(path, **_auth(user_token(bob)))
    assert failed.status_code == 503
    assert failed.json() == {"detail": "Speech synthesis is unavailable; try again later"}


async def test_a_typed_message_can_be_heard_and_a_late_language_is_translated_once(
    speech, translator
):
    """Any message reads aloud; a reader whose language it lacks gets it translated first."""
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)
    response = await _post_json(
        AsyncClient(), f"/api/chats/{chat_id}/messages", {"text": "Hola"}, user_token(ana)
    )
    seq = response.json()["message"]["seq"]

    audio = await AsyncClient().get(
        f"/api/chats/{chat_id}/messages/{seq}/audio", **_auth(user_token(bob))
    )

    assert audio.status_code == 200
    chunks = await _read_stream(audio)
    assert speech_decode(b"".join(c for _, c in chunks)) == {"language": "en", "text": "[en] Hola"}
    page = await run_blocking(message_history)(chat_id=chat_id, limit=10, before_seq=None)
    assert map_as_dict(page.messages[0].translations) == {"en": "[en] Hola"}
    await asyncio.sleep(0)


# --- Limits, the speech cache, and privacy ----------------------------------------------------


async def _heard(client, chat_id, seq, user) -> bytes:
    response = await client.get(
        f"/api/chats/{chat_id}/messages/{seq}/audio", **_auth(user_token(user))
    )
    assert response.status_code == 200, response.content
    return b"".join(chunk for _, chunk in await _read_stream(response))


async def _typed(chat_id, author, text) -> int:
    response = await _post_json(
        AsyncClient(), f"/api/chats/{chat_id}/messages", {"text": text}, user_token(author)
    )
    return response.json()["message"]["seq"]


async def test_message_audio_is_bought_once_per_message_and_language(speech, translator):
    ana, bob, carl = await _people("es", "en", "en")
    created = await run_blocking(chat_services.chat_group_create)(
        user=ana, title="Trio", usernames=[bob.username, carl.username]
    )
    chat_id = created.membership.chat_id
    seq = await _typed(chat_id, ana, "Hola")
    client = AsyncClient()

    first = await _heard(client, chat_id, seq, bob)
    again = await _heard(client, chat_id, seq, bob)
    other_reader = await _heard(client, chat_id, seq, carl)

    assert speech_decode(first) == {"language": "en", "text": "[en] Hola"}
    assert again == other_reader == first
    assert len(speech.received("tts")) == 1
    # Another language is another synthesis, then kept too.
    own = await _heard(client, chat_id, seq, ana)
    assert speech_decode(own) == {"language": "es", "text": "Hola"}
    assert await _heard(client, chat_id, seq, ana) == own
    assert [tts["json"]["language_code"] for tts in speech.received("tts")] == ["en", "es"]


async def test_readers_asking_at_once_share_one_synthesis(speech, translator):
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)
    seq = await _typed(chat_id, ana, "Hola")
    speech.tts_chunks = 4
    speech.tts_chunk_delay_seconds = 0.15

    heard = await asyncio.gather(*[_heard(AsyncClient(), chat_id, seq, bob) for _ in range(3)])

    assert heard[0] == heard[1] == heard[2]
    assert speech_decode(heard[0]) == {"language": "en", "text": "[en] Hola"}
    assert len(speech.received("tts")) == 1


async def test_audio_over_the_cache_size_cap_is_served_but_not_kept(speech, translator, settings):
    settings.VOICE_SPEECH_CACHE_MAX_BYTES = 10
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)
    seq = await _typed(chat_id, ana, "Hola")

    assert await _heard(AsyncClient(), chat_id, seq, bob) == await _heard(
        AsyncClient(), chat_id, seq, bob
    )

    assert len(speech.received("tts")) == 2


async def test_message_audio_over_the_readers_limit_is_429_with_retry_after(
    speech, translator, settings
):
    settings.VOICE_SPEECH_LIMIT_COUNT = 2
    settings.VOICE_SPEECH_LIMIT_WINDOW_SECONDS = 60
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)
    first, second = await _typed(chat_id, ana, "Uno"), await _typed(chat_id, ana, "Dos")
    client = AsyncClient()
    await _heard(client, chat_id, first, bob)
    await _heard(client, chat_id, second, bob)
    third = await _typed(chat_id, ana, "Tres")

    refused = await client.get(
        f"/api/chats/{chat_id}/messages/{third}/audio", **_auth(user_token(bob))
    )

    assert refused.status_code == 429
    assert refused.json()["detail"].startswith(
        "too many audio requests: at most 2 every 60 seconds"
    )
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert len(speech.received("tts")) == 2
    # The limit is the reader's: the author still hears it.
    assert speech_decode(await _heard(client, chat_id, third, ana))["text"] == "Tres"


async def test_new_audio_has_a_daily_budget_per_reader_and_cached_audio_does_not_use_it(
    speech, translator, settings
):
    settings.VOICE_SPEECH_DAILY_LIMIT_COUNT = 1
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)
    first, second = await _typed(chat_id, ana, "Uno"), await _typed(chat_id, ana, "Dos")
    client = AsyncClient()
    heard = await _heard(client, chat_id, first, bob)

    refused = await client.get(
        f"/api/chats/{chat_id}/messages/{second}/audio", **_auth(user_token(bob))
    )

    assert refused.status_code == 429
    assert refused.json()["detail"].startswith(
        "too many audio syntheses today: at most 1 every 86400 seconds"
    )
    assert int(refused["Retry-After"]) > 86000
    assert await _heard(client, chat_id, first, bob) == heard
    assert len(speech.received("tts")) == 1


async def test_voice_notes_over_the_limit_are_refused_before_transcription(
    speech, translator, settings
):
    settings.VOICE_NOTE_LIMIT_COUNT = 1
    settings.VOICE_NOTE_LIMIT_WINDOW_SECONDS = 60
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)
    client = AsyncClient()
    assert (await _post_audio(client, chat_id, b"say:uno", user_token(ana))).status_code == 201

    refused = await _post_audio(client, chat_id, b"say:dos", user_token(ana))

    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("too many voice notes: at most 1 every 60 seconds")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert len(speech.received("stt")) == 1
    page = await run_blocking(message_history)(chat_id=chat_id, limit=10, before_seq=None)
    assert [message.original_text for message in page.messages] == ["uno"]


async def test_an_outsider_gets_the_same_token_answer_for_a_call_an_idle_chat_and_no_chat(livekit):
    ana, bob, carl, eve = await _people("es", "en", "en", "fr")
    busy_chat = await _direct_chat(ana, bob)
    idle_chat = await _direct_chat(ana, carl)
    call = services.call_new(
        caller=ana, chat_id=busy_chat, member_languages={ana.user_id: "es", bob.user_id: "en"}
    )
    assert await services.call_state_create(call=call)
    client = AsyncClient()

    answers = [
        await _post_json(client, TOKEN, {"chat_id": chat_id}, user_token(eve))
        for chat_id in (busy_chat, idle_chat, "no-such-chat")
    ]

    assert [(answer.status_code, answer.json()) for answer in answers] == [
        (404, {"detail": "Chat not found"})
    ] * 3
    assert (
        await _post_json(client, TOKEN, {"chat_id": busy_chat}, user_token(bob))
    ).status_code == 200


async def test_the_speech_cache_keeps_at_most_its_entries_per_ttl(
    speech, translator, settings, monkeypatch
):
    # A count of this test's own, so what other tests cached does not fill it.
    monkeypatch.setattr(
        speech_cache, "ADMISSIONS_KEY", f"{speech_cache.ADMISSIONS_KEY}:{time.time_ns()}"
    )
    settings.VOICE_SPEECH_CACHE_MAX_ENTRIES = 1
    ana, bob = await _people("es", "en")
    chat_id = await _direct_chat(ana, bob)
    kept, not_kept = await _typed(chat_id, ana, "Uno"), await _typed(chat_id, ana, "Dos")
    client = AsyncClient()

    for seq in (kept, kept, not_kept, not_kept):
        await _heard(client, chat_id, seq, bob)

    assert [tts["json"]["text"] for tts in speech.received("tts")] == [
        "[en] Uno",
        "[en] Dos",
        "[en] Dos",
    ]

"""Push-to-talk turns end to end: the speaker streams audio over the chat socket; the real
ElevenLabs SDK client transcribes it and synthesizes speech through the loopback ElevenLabs
fake (`speech`), the real OpenAI SDK client translates through the loopback OpenAI fake
(`translator`, "T" -> "[<lang>] T"); the listener receives the state sequence, both
transcripts and the audio; the speaker receives no audio.

The fake transcriber turns audio that reads "say:<text>" into "<text>"; the fake synthesizer's
audio names its text and language (tests/support/fake_elevenlabs.speech_decode).
"""

from __future__ import annotations

import logging
import time

import pytest

from apps.chats import actions as chat_actions
from apps.chats import services as chat_services
from apps.chats.presenters import message_view
from apps.chats.selectors import message_history
from apps.core.concurrency import run_blocking
from apps.voice.selectors import turn_lock_get
from tests.support.accounts import user_create
from tests.support.fake_elevenlabs import speech_decode
from tests.support.voice_clients import (
    audio_of,
    call_connect,
    is_type,
    of_type,
    speak,
    turn_state,
    turn_states,
)


def _idle(frame):
    return turn_state("idle")(frame)


async def _user(language="en"):
    return await run_blocking(user_create)(language=language)


async def _in_a_call(sockets, speaker_language="en", listener_language="es"):
    bob = await _user(speaker_language)
    ana = await _user(listener_language)
    created = await run_blocking(chat_services.chat_direct_create)(
        user=bob, other_username=ana.username
    )
    chat_id = created.membership.chat_id
    bob_socket, ana_socket = await sockets.open(bob), await sockets.open(ana)
    call_id = await call_connect(bob_socket, ana_socket, chat_id)
    return bob, ana, chat_id, call_id, bob_socket, ana_socket


async def _voice_messages(chat_id: str, language: str) -> list[dict]:
    page = await run_blocking(message_history)(chat_id=chat_id, limit=50, before_seq=None)
    return [
        message_view(message=message, language=language)
        for message in reversed(page.messages)
        if message.kind == "voice"
    ]


async def test_a_whole_turn_reaches_the_listener_in_their_language(
    speech, translator, sockets, settings, caplog
):
    caplog.set_level(logging.INFO, logger="apps.voice.turns")
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets)

    recording = await speak(bob_socket, chat_id, [b"say:", b"Good ", b"morning"])

    ana_frames = await ana_socket.until(_idle, timeout=10)
    bob_frames = [recording, *await bob_socket.until(_idle, timeout=10)]
    assert turn_states(ana_frames) == ["recording", "processing", "playing", "idle"]
    assert turn_states(bob_frames) == ["recording", "processing", "playing", "idle"]
    turns = of_type(ana_frames, "voice_turn")
    turn_id = turns[0]["turn_id"]
    assert all(
        (t["turn_id"], t["speaker_id"], t["chat_id"], t["call_id"])
        == (turn_id, bob.user_id, chat_id, call_id)
        for t in turns + of_type(bob_frames, "voice_turn")
    )
    (playing,) = [t for t in turns if t["state"] == "playing"]
    assert playing["original_text"] == "Good morning" and playing["original_language"] == "en"
    assert (playing["text"], playing["language"]) == ("[es] Good morning", "es")
    assert playing["translations"] == {"es": "[es] Good morning"}
    assert playing["audio_format"] == "audio/mpeg"
    (bob_playing,) = [t for t in of_type(bob_frames, "voice_turn") if t["state"] == "playing"]
    assert (bob_playing["text"], bob_playing["language"]) == ("Good morning", "en")
    assert bob_playing["translations"] == {"es": "[es] Good morning"}

    # The listener hears the translation; the audio came between PLAYING and IDLE.
    audio_frames = of_type(ana_frames, "voice_audio")
    assert audio_frames and all(
        f["turn_id"] == turn_id and f["language"] == "es" for f in audio_frames
    )
    assert audio_frames[-1]["final"] is True and audio_frames[-1]["data"] == ""
    assert ana_frames.index(playing) < ana_frames.index(audio_frames[0])
    assert speech_decode(audio_of(ana_frames)) == {"language": "es", "text": "[es] Good morning"}
    # The speaker hears nothing.
    assert not of_type(bob_frames, "voice_audio")

    idle = ana_frames[-1]
    assert idle["reason"] == "complete" and "error" not in idle
    # The providers got what the SDK sends: the audio in the speaker's language, then the
    # translation to speak in the listener's language.
    (stt,) = speech.received("stt")
    assert stt["audio"] == b"say:Good morning"
    assert stt["fields"]["language_code"] == "en"
    assert stt["fields"]["model_id"] == settings.ELEVENLABS_STT_MODEL
    assert (stt["filename"], stt["file_content_type"]) == ("speech.webm", "audio/webm")
    (tts,) = speech.received("tts")
    assert tts["voice_id"] == settings.ELEVENLABS_TTS_VOICE_ID
    assert tts["json"] == {
        "text": "[es] Good morning",
        "model_id": settings.ELEVENLABS_TTS_MODEL,
        "language_code": "es",
    }

    # The turn is in the chat history, in each member's language.
    (english,) = await _voice_messages(chat_id, "en")
    (spanish,) = await _voice_messages(chat_id, "es")
    assert english["text"] == "Good morning" and spanish["text"] == "[es] Good morning"
    assert english["from_user_id"] == bob.user_id
    assert english["meta"] == {"call_id": call_id, "turn_id": turn_id}
    assert (idle["message_id"], idle["seq"]) == (english["message_id"], english["seq"])
    message_frames = [
        f for f in ana_frames + await ana_socket.drain() if f.get("type") == "message"
    ]
    assert [f["message"]["text"] for f in message_frames] == ["[es] Good morning"]

    # One line of timings per turn, and never what was said.
    lines = [
        r for r in caplog.records if r.name == "apps.voice.turns" and turn_id in r.getMessage()
    ]
    assert len(lines) == 1
    line = lines[0].getMessage()
    assert "complete" in line and "stt" in line and "tts first byte" in line and "total" in line
    assert "morning" not in line
    assert lines[0].stt_ms is not None and lines[0].first_audio_ms is not None
    assert await turn_lock_get(chat_id=chat_id) is None


async def test_a_turn_is_translated_with_the_chats_last_turns_and_its_glossary(
    speech, translator, sockets
):
    """As a typed message is (tests/chats/test_translation_context.py): the chat's recent
    messages go with the request as context, and a glossary term said is kept."""
    bob, ana, chat_id, _call_id, bob_socket, ana_socket = await _in_a_call(sockets)
    await chat_actions.do_send_message(
        user=ana, chat_id=chat_id, text="¿Nos vemos en casa de Nico esta noche?"
    )
    await chat_actions.do_glossary_update(
        user=bob, chat_id=chat_id, version=0, entries=[{"term": "Nico", "rendering": None}]
    )

    await speak(bob_socket, chat_id, [b"say:", b"Yes, see you at Nico tonight"])
    await ana_socket.until(_idle, timeout=10)

    (body,) = [
        body
        for body in translator.received()
        if body["messages"][-1]["content"] == "Yes, see you at Nico tonight"
    ]
    assert [message["role"] for message in body["messages"]] == ["system", "user", "user"]
    assert "¿Nos vemos en casa de Nico esta noche?" in body["messages"][1]["content"]
    assert "Nico" in body["messages"][0]["content"]


async def test_audio_can_come_as_base64_frames_in_another_format(speech, translator, sockets):
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets, "en", "fr")

    await speak(bob_socket, chat_id, [b"say:Hi ", b"there"], binary=False, audio_format="wav")

    ana_frames = await ana_socket.until(_idle, timeout=10)
    assert ana_frames[-1]["reason"] == "complete"
    assert speech_decode(audio_of(ana_frames)) == {"language": "fr", "text": "[fr] Hi there"}
    (stt,) = speech.received("stt")
    assert stt["audio"] == b"say:Hi there"
    assert (stt["filename"], stt["file_content_type"]) == ("speech.wav", "audio/wav")


async def test_speech_streams_to_the_listener_before_synthesis_ends(speech, translator, sockets):
    speech.tts_chunks = 5
    speech.tts_chunk_delay_seconds = 0.25
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets)

    await speak(bob_socket, chat_id, [b"say:Streaming please"])

    arrivals = []
    while True:
        frame = await ana_socket.frame(timeout=10)
        arrivals.append((time.monotonic(), frame))
        if _idle(frame):
            break
    chunks = [(at, f) for at, f in arrivals if f.get("type") == "voice_audio" and not f["final"]]
    assert len(chunks) == 5
    # The first chunk reached the listener a second before the provider sent the last one.
    assert chunks[-1][0] - chunks[0][0] >= 0.9


async def test_one_speaker_at_a_time(speech, translator, sockets):
    speech.stt_delay_seconds = 0.5
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets)
    await bob_socket.send({"type": "ptt_start", "chat_id": chat_id})
    await ana_socket.until(turn_state("recording"))

    await ana_socket.send({"type": "ptt_start", "chat_id": chat_id})
    refused = (await ana_socket.until(lambda f: "error" in f))[-1]
    assert refused == {
        "error": "Someone else is speaking; wait for them to finish",
        "chat_id": chat_id,
    }
    # Her audio goes nowhere, and she is told once.
    await ana_socket.communicator.send_to(bytes_data=b"say:me too")
    await ana_socket.communicator.send_to(bytes_data=b"say:me too")
    errors = [f for f in await ana_socket.drain() if "error" in f]
    assert errors == [{"error": "No recording in progress; send ptt_start first"}]

    await bob_socket.communicator.send_to(bytes_data=b"say:Mine first")
    await bob_socket.send({"type": "ptt_stop", "chat_id": chat_id})
    # Still Bob's turn while it is processed.
    await ana_socket.until(turn_state("processing"))
    await ana_socket.send({"type": "ptt_start", "chat_id": chat_id})
    assert "Someone else" in (await ana_socket.until(lambda f: "error" in f))[-1]["error"]
    await ana_socket.until(_idle, timeout=10)

    # Then it is hers.
    await speak(ana_socket, chat_id, [b"say:Ahora yo"])
    bob_frames = await bob_socket.until(
        lambda f: _idle(f) and f["speaker_id"] == ana.user_id, timeout=10
    )
    assert speech_decode(audio_of(bob_frames)) == {"language": "en", "text": "[en] Ahora yo"}
    assert [m["text"] for m in await _voice_messages(chat_id, "en")] == [
        "Mine first",
        "[en] Ahora yo",
    ]


@pytest.mark.parametrize(
    "stage, error_code",
    [
        ("stt", "stt_failed"),
        ("translation", "translation_failed"),
        ("tts", "tts_failed"),
        ("tts_midway", "tts_failed"),
        ("no_speech", "no_speech"),
    ],
)
async def test_a_failure_at_any_stage_returns_everyone_to_idle_with_an_error(
    speech, translator, sockets, stage, error_code
):
    if stage == "stt":
        speech.stt_fail_status = 500
    elif stage == "translation":
        translator.fail_status = 500
    elif stage == "tts":
        speech.tts_fail_status = 503
    elif stage == "tts_midway":
        speech.tts_chunks = 4
        speech.tts_cut_after_chunks = 2
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets)

    await speak(bob_socket, chat_id, [b"say:   " if stage == "no_speech" else b"say:Hello"])

    for socket in (ana_socket, bob_socket):
        idle = (await socket.until(_idle, timeout=10))[-1]
        assert idle["reason"] == "error"
        assert idle["error_code"] == error_code
        assert idle["error"]
    assert await turn_lock_get(chat_id=chat_id) is None
    # A turn that failed before PLAYING leaves nothing; one whose words were shown is kept,
    # and IDLE says where.
    stored = await _voice_messages(chat_id, "en")
    if stage in ("tts", "tts_midway"):
        assert [(m["message_id"], m["text"]) for m in stored] == [(idle["message_id"], "Hello")]
    else:
        assert stored == [] and "message_id" not in idle

    # Everyone is free to speak again, and the next turn works.
    speech.stt_fail_status = speech.tts_fail_status = speech.tts_cut_after_chunks = None
    translator.fail_status = None
    await speak(ana_socket, chat_id, [b"say:Otra vez"])
    bob_frames = await bob_socket.until(
        lambda f: _idle(f) and f["speaker_id"] == ana.user_id, timeout=10
    )
    assert bob_frames[-1]["reason"] == "complete"


async def test_a_listener_leaving_mid_turn_frees_everyone_and_stops_the_pipeline(
    speech, translator, sockets
):
    speech.stt_delay_seconds = 0.8
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets)
    await speak(bob_socket, chat_id, [b"say:Are you there"])
    await bob_socket.until(turn_state("processing"))

    await ana_socket.close()

    idle = (await bob_socket.until(_idle))[-1]
    assert idle["reason"] == "error" and idle["error_code"] == "participant_left"
    assert "left" in idle["error"]
    assert (await bob_socket.until(is_type("call_ended")))[-1]["reason"] == "left"
    assert await turn_lock_get(chat_id=chat_id) is None
    # The pipeline on the speaker's side was stopped: no speech was synthesized. (A pipeline
    # left running would be waited for, through its transcription and synthesis.)
    bob_frames = await bob_socket.drain(after_background_tasks=True)
    assert speech.received("tts") == []
    assert not [f for f in bob_frames if f.get("type") == "voice_turn"]


async def test_the_speaker_leaving_mid_turn_frees_the_listener(speech, translator, sockets):
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets)
    await bob_socket.send({"type": "ptt_start", "chat_id": chat_id})
    await ana_socket.until(turn_state("recording"))
    await bob_socket.communicator.send_to(bytes_data=b"say:half a sent")

    await bob_socket.close()

    idle = (await ana_socket.until(_idle))[-1]
    assert idle["reason"] == "error" and idle["error_code"] == "participant_left"
    await ana_socket.until(is_type("call_ended"))
    assert await turn_lock_get(chat_id=chat_id) is None
    assert speech.received("stt") == []


async def test_a_turn_not_complete_within_the_safety_timeout_returns_everyone_to_idle(
    speech, translator, sockets, settings
):
    settings.VOICE_TURN_TIMEOUT_SECONDS = 1.0
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets)

    # A speaker who never lets go.
    started = time.monotonic()
    await bob_socket.send({"type": "ptt_start", "chat_id": chat_id})
    for socket in (ana_socket, bob_socket):
        idle = (await socket.until(_idle, timeout=5))[-1]
        assert idle["reason"] == "error" and idle["error_code"] == "timeout"
        assert "1 seconds" in idle["error"]
    assert 0.9 <= time.monotonic() - started < 3
    await bob_socket.communicator.send_to(bytes_data=b"say:too late")
    assert (await bob_socket.until(lambda f: "error" in f))[-1]["error"].startswith("No recording")

    # A provider too slow to finish in time.
    speech.stt_delay_seconds = 2.0
    await speak(bob_socket, chat_id, [b"say:slow"])
    idle = (await ana_socket.until(_idle, timeout=5))[-1]
    assert idle["error_code"] == "timeout"
    await ana_socket.drain(after_background_tasks=True)  # a pipeline left running is waited for
    assert speech.received("tts") == []  # the pipeline was stopped
    assert await turn_lock_get(chat_id=chat_id) is None


async def test_the_speaker_can_cancel_a_turn(speech, translator, sockets):
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets)
    await bob_socket.send({"type": "ptt_start", "chat_id": chat_id})
    await bob_socket.communicator.send_to(bytes_data=b"say:never mind")

    await bob_socket.send({"type": "ptt_cancel", "chat_id": chat_id})

    idle = (await ana_socket.until(_idle))[-1]
    assert idle["reason"] == "cancelled" and "error" not in idle
    assert speech.received("stt") == []
    assert await turn_lock_get(chat_id=chat_id) is None


async def test_push_to_talk_needs_an_answered_call_you_are_in(speech, translator, sockets):
    bob = await _user("en")
    ana = await _user("es")
    created = await run_blocking(chat_services.chat_direct_create)(
        user=bob, other_username=ana.username
    )
    chat_id = created.membership.chat_id
    bob_socket, ana_socket = await sockets.open(bob), await sockets.open(ana)

    await bob_socket.send({"type": "ptt_start", "chat_id": chat_id})
    assert (await bob_socket.until(lambda f: "error" in f))[-1] == {
        "error": "There is no call in progress in this chat",
        "chat_id": chat_id,
    }
    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    await ana_socket.until(is_type("call_incoming"))
    await bob_socket.send({"type": "ptt_start", "chat_id": chat_id})
    assert "no call in progress" in (await bob_socket.until(lambda f: "error" in f))[-1]["error"]
    await bob_socket.send({"type": "ptt_stop", "chat_id": chat_id})
    assert (await bob_socket.until(lambda f: "error" in f))[-1]["error"].startswith("No recording")
    await bob_socket.send({"type": "ptt_start", "chat_id": chat_id, "format": "aiff"})
    assert "format must be one of" in (await bob_socket.until(lambda f: "error" in f))[-1]["error"]
    await bob_socket.send({"type": "ptt_audio", "chat_id": chat_id, "data": "***"})
    assert "error" in (await bob_socket.until(lambda f: "error" in f))[-1]
    # JSON in a binary frame is still a chat frame, not audio.
    await bob_socket.communicator.send_to(bytes_data=b'{"type": "ping"}')
    await bob_socket.until(is_type("pong"))


async def test_a_recording_over_the_size_limit_ends_the_turn(speech, translator, sockets, settings):
    settings.VOICE_TURN_MAX_AUDIO_BYTES = 100
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets)
    await bob_socket.send({"type": "ptt_start", "chat_id": chat_id})

    await bob_socket.communicator.send_to(bytes_data=b"x" * 60)
    await bob_socket.communicator.send_to(bytes_data=b"x" * 60)

    idle = (await ana_socket.until(_idle))[-1]
    assert idle["error_code"] == "too_long"


async def test_a_group_turn_is_stored_in_every_members_language_and_heard_by_each_listener(
    speech, translator, sockets
):
    """Two listeners with different languages each hear their own; a member who is not in
    the call still reads the turn in history in her language."""
    bob = await _user("en")
    ana = await _user("es")
    kai = await _user("ja")
    cleo = await _user("fr")
    created = await run_blocking(chat_services.chat_group_create)(
        user=bob, title="Team", usernames=[ana.username, kai.username, cleo.username]
    )
    chat_id = created.membership.chat_id
    bob_socket, ana_socket, kai_socket = [await sockets.open(u) for u in (bob, ana, kai)]
    call_id = await call_connect(bob_socket, ana_socket, chat_id)
    await kai_socket.send({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})
    await bob_socket.until(is_type("call_accepted", user_id=kai.user_id))

    await speak(bob_socket, chat_id, [b"say:Hello team"])

    ana_frames = await ana_socket.until(_idle, timeout=10)
    kai_frames = await kai_socket.until(_idle, timeout=10)
    assert speech_decode(audio_of(ana_frames)) == {"language": "es", "text": "[es] Hello team"}
    assert speech_decode(audio_of(kai_frames)) == {"language": "ja", "text": "[ja] Hello team"}
    (kai_playing,) = [f for f in of_type(kai_frames, "voice_turn") if f["state"] == "playing"]
    assert kai_playing["translations"] == {"es": "[es] Hello team", "ja": "[ja] Hello team"}
    assert sorted(r["json"]["language_code"] for r in speech.received("tts")) == ["es", "ja"]
    (french,) = await _voice_messages(chat_id, "fr")
    assert (french["text"], french["language"], french["translated"]) == (
        "[fr] Hello team",
        "fr",
        True,
    )


async def test_turn_events_reach_only_the_calls_participants(speech, translator, sockets):
    bob = await _user("en")
    ana = await _user("es")
    cleo = await _user("fr")
    created = await run_blocking(chat_services.chat_group_create)(
        user=bob, title="Team", usernames=[ana.username, cleo.username]
    )
    chat_id = created.membership.chat_id
    bob_socket, ana_socket, cleo_socket = [await sockets.open(u) for u in (bob, ana, cleo)]
    await call_connect(bob_socket, ana_socket, chat_id)

    await speak(bob_socket, chat_id, [b"say:Just us"])
    await ana_socket.until(_idle, timeout=10)

    cleo_frames = await cleo_socket.drain(after_background_tasks=True)
    assert not of_type(cleo_frames, "voice_turn") and not of_type(cleo_frames, "voice_audio")
    # She still gets the message, in French.
    messages = [f for f in cleo_frames if f.get("type") == "message"]
    if not messages:
        messages = (await cleo_socket.until(lambda f: f.get("type") == "message"))[-1:]
    message = messages[-1]["message"]
    assert (message["kind"], message["text"]) == ("voice", "[fr] Just us")


async def test_push_to_talk_turns_over_the_speakers_limit_are_refused_with_retry_after(
    speech, translator, sockets, settings
):
    settings.VOICE_TURN_START_LIMIT_COUNT = 2
    settings.VOICE_TURN_START_LIMIT_WINDOW_SECONDS = 60
    bob, ana, chat_id, call_id, bob_socket, ana_socket = await _in_a_call(sockets)
    for _ in range(2):
        await bob_socket.send({"type": "ptt_start", "chat_id": chat_id})
        await ana_socket.until(turn_state("recording"))
        await bob_socket.send({"type": "ptt_cancel", "chat_id": chat_id})
        await ana_socket.until(_idle)

    await bob_socket.send({"type": "ptt_start", "chat_id": chat_id})

    refused = (await bob_socket.until(lambda f: "error" in f))[-1]
    assert refused["error"].startswith("too many push-to-talk turns: at most 2 every 60 seconds")
    assert refused["chat_id"] == chat_id
    assert 1 <= refused["retry_after"] <= 60
    assert turn_states(await ana_socket.drain()) == []
    assert await turn_lock_get(chat_id=chat_id) is None
    # The listener's own turns are theirs to spend.
    await ana_socket.send({"type": "ptt_start", "chat_id": chat_id})
    await bob_socket.until(is_type("voice_turn", state="recording", speaker_id=ana.user_id))

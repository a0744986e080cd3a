"""Voice's use cases called directly (apps/voice/actions.py): who is told what after each
write. A recording channel layer stands in for Redis pub/sub and the sockets; call and turn
state are in the real Redis, call messages in DynamoDB (moto server)."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.layers import get_channel_layer

from apps.chats import services as chat_services
from apps.chats.events import broadcasts_settle
from apps.core.background import background_tasks_cancel
from apps.core.concurrency import run_blocking
from apps.core.errors import Conflict, Forbidden, NotFound, Unavailable
from apps.voice import actions
from apps.voice.errors import CallInProgress, TurnTaken
from apps.voice.events import SIGNAL_HANDLER, SIGNAL_TURN_ABORTED
from apps.voice.selectors import call_get, turn_lock_get
from tests.support.accounts import user_create
from tests.support.channel_layers import RecordingChannelLayer


@pytest.fixture
async def layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "tests.support.channel_layers.RecordingChannelLayer"}
    }
    recording = get_channel_layer()
    assert isinstance(recording, RecordingChannelLayer)
    yield recording
    # Ring timers and turn watchdogs still waiting belong to this test alone.
    await background_tasks_cancel()


async def _users(*languages: str):
    return [await run_blocking(user_create)(language=language) for language in languages]


async def _direct_chat(user, other) -> str:
    created = await run_blocking(chat_services.chat_direct_create)(
        user=user, other_username=other.username
    )
    return created.membership.chat_id


async def _group_chat(user, *others) -> str:
    created = await run_blocking(chat_services.chat_group_create)(
        user=user, title="Group", usernames=[other.username for other in others]
    )
    return created.membership.chat_id


async def _message_frames(layer: RecordingChannelLayer, user_id: str) -> list[dict]:
    await broadcasts_settle(timeout=5)
    return layer.frames_to(user_id, "message")


async def _until(predicate, *, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def _ids(*users) -> set[str]:
    return {user.user_id for user in users}


# --- Calls -----------------------------------------------------------------------------------


async def test_starting_a_call_rings_every_member_the_caller_too(layer):
    bob, ana, cleo = await _users("en", "es", "fr")
    chat_id = await _group_chat(bob, ana, cleo)
    layer.group_sends.clear()

    call = await actions.do_start_call(user=bob, chat_id=chat_id)

    assert set(layer.receivers("call_incoming")) == _ids(bob, ana, cleo)
    (incoming,) = layer.frames_to(ana.user_id, "call_incoming")
    assert incoming["call_id"] == call.call_id and incoming["caller_id"] == bob.user_id
    assert incoming["caller_name"] == "Test Person" and incoming["room_name"] == f"chat-{chat_id}"
    assert (await call_get(chat_id=chat_id)).call_id == call.call_id


async def test_a_second_start_is_refused_with_the_call_and_rings_nobody(layer):
    bob, ana = await _users("en", "es")
    chat_id = await _direct_chat(bob, ana)
    call = await actions.do_start_call(user=bob, chat_id=chat_id)
    layer.group_sends.clear()

    with pytest.raises(CallInProgress) as refused:
        await actions.do_start_call(user=ana, chat_id=chat_id)

    assert refused.value.call.call_id == call.call_id
    assert layer.group_sends == []


async def test_an_outsider_cannot_ring_a_chat_and_nobody_hears_of_it(layer):
    bob, ana, eve = await _users("en", "es", "fr")
    chat_id = await _direct_chat(bob, ana)
    layer.group_sends.clear()

    with pytest.raises(NotFound, match="Chat not found"):
        await actions.do_start_call(user=eve, chat_id=chat_id)

    assert layer.group_sends == [] and await call_get(chat_id=chat_id) is None


async def test_answering_tells_every_member_and_stops_the_ring_timer(layer, settings):
    settings.VOICE_RING_TIMEOUT_SECONDS = 0.3
    bob, ana, cleo = await _users("en", "es", "fr")
    chat_id = await _group_chat(bob, ana, cleo)
    call = await actions.do_start_call(user=bob, chat_id=chat_id)

    active = await actions.do_accept_call(user=ana, chat_id=chat_id, call_id=call.call_id)
    await asyncio.sleep(0.6)

    assert active.participants == (bob.user_id, ana.user_id)
    assert set(layer.receivers("call_accepted")) == _ids(bob, ana, cleo)
    (accepted,) = layer.frames_to(cleo.user_id, "call_accepted")
    assert accepted["user_id"] == ana.user_id and accepted["participants"] == list(
        active.participants
    )
    assert set(layer.receivers("call_missed")) == set()


async def test_the_last_decline_ends_the_call_and_stores_it_for_everyone(layer):
    bob, ana = await _users("en", "es")
    chat_id = await _direct_chat(bob, ana)
    call = await actions.do_start_call(user=bob, chat_id=chat_id)

    assert await actions.do_decline_call(user=ana, chat_id=chat_id, call_id=call.call_id) is None

    assert set(layer.receivers("call_declined")) == _ids(bob, ana)
    assert all(frame["final"] for frame in layer.frames_to(bob.user_id, "call_declined"))
    for user, text in ((bob, "Call declined"), (ana, "Llamada rechazada")):
        (message,) = await _message_frames(layer, user.user_id)
        assert message["message"]["kind"] == "call" and message["message"]["text"] == text
        assert message["message"]["meta"] == {"call_id": call.call_id, "outcome": "declined"}
    assert await call_get(chat_id=chat_id) is None


async def test_one_decline_leaves_a_group_call_ringing_for_the_others(layer):
    bob, ana, cleo = await _users("en", "es", "fr")
    chat_id = await _group_chat(bob, ana, cleo)
    call = await actions.do_start_call(user=bob, chat_id=chat_id)

    ringing = await actions.do_decline_call(user=cleo, chat_id=chat_id, call_id=call.call_id)

    assert ringing is not None and ringing.declined == (cleo.user_id,)
    assert set(layer.receivers("call_declined")) == _ids(bob, ana, cleo)
    assert not layer.frames_to(ana.user_id, "call_declined")[0]["final"]
    assert await _message_frames(layer, bob.user_id) == []


async def test_only_the_caller_cancels_and_everyone_hears_of_it(layer):
    bob, ana = await _users("en", "es")
    chat_id = await _direct_chat(bob, ana)
    call = await actions.do_start_call(user=bob, chat_id=chat_id)
    layer.group_sends.clear()

    with pytest.raises(Forbidden):
        await actions.do_cancel_call(user=ana, chat_id=chat_id, call_id=call.call_id)
    assert layer.group_sends == []
    await actions.do_cancel_call(user=bob, chat_id=chat_id, call_id=call.call_id)

    assert set(layer.receivers("call_cancelled")) == _ids(bob, ana)
    (message,) = await _message_frames(layer, ana.user_id)
    assert message["message"]["meta"]["outcome"] == "cancelled"


async def test_nobody_answering_in_time_makes_a_missed_call(layer, settings):
    settings.VOICE_RING_TIMEOUT_SECONDS = 0.2
    bob, ana = await _users("en", "es")
    chat_id = await _direct_chat(bob, ana)
    call = await actions.do_start_call(user=bob, chat_id=chat_id)

    await _until(lambda: set(layer.receivers("call_missed")) == _ids(bob, ana))

    (missed,) = layer.frames_to(ana.user_id, "call_missed")
    assert missed["call_id"] == call.call_id and missed["caller_id"] == bob.user_id
    # Stored after the news, by the timer's own task.
    await _until(lambda: layer.frames_to(ana.user_id, "message"))
    (message,) = layer.frames_to(ana.user_id, "message")
    assert message["message"]["meta"]["outcome"] == "missed"
    assert await call_get(chat_id=chat_id) is None


async def test_hanging_up_ends_a_one_to_one_call_with_its_duration(layer):
    bob, ana = await _users("en", "es")
    chat_id = await _direct_chat(bob, ana)
    call = await actions.do_start_call(user=bob, chat_id=chat_id)
    await actions.do_accept_call(user=ana, chat_id=chat_id, call_id=call.call_id)

    assert await actions.do_leave_call(user=ana, chat_id=chat_id, call_id=call.call_id) is None

    assert set(layer.receivers("call_ended")) == _ids(bob, ana)
    (ended,) = layer.frames_to(bob.user_id, "call_ended")
    assert (ended["user_id"], ended["reason"], ended["duration_seconds"]) == (
        ana.user_id,
        "hangup",
        0,
    )
    (message,) = await _message_frames(layer, bob.user_id)
    assert message["message"]["meta"] == {
        "call_id": call.call_id,
        "outcome": "ended",
        "duration_seconds": 0,
    }


async def test_leaving_a_group_call_that_goes_on_tells_every_member(layer):
    bob, ana, cleo = await _users("en", "es", "fr")
    chat_id = await _group_chat(bob, ana, cleo)
    call = await actions.do_start_call(user=bob, chat_id=chat_id)
    for user in (ana, cleo):
        await actions.do_accept_call(user=user, chat_id=chat_id, call_id=call.call_id)

    going_on = await actions.do_leave_call(user=cleo, chat_id=chat_id, call_id=call.call_id)

    assert going_on is not None and going_on.participants == (bob.user_id, ana.user_id)
    assert set(layer.receivers("call_left")) == _ids(bob, ana, cleo)
    assert layer.frames_to(bob.user_id, "call_left")[0]["participants"] == [
        bob.user_id,
        ana.user_id,
    ]
    assert set(layer.receivers("call_ended")) == set()
    assert await _message_frames(layer, bob.user_id) == []


async def test_the_call_token_needs_a_member_and_livekit(layer, settings, livekit):
    bob, ana, eve = await _users("en", "es", "fr")
    chat_id = await _direct_chat(bob, ana)

    issued = await actions.do_issue_voice_token(user=ana, chat_id=chat_id)
    with pytest.raises(NotFound, match="Chat not found"):
        await actions.do_issue_voice_token(user=eve, chat_id=chat_id)
    settings.LIVEKIT_API_SECRET = ""
    with pytest.raises(Unavailable, match="not configured"):
        await actions.do_issue_voice_token(user=ana, chat_id=chat_id)

    assert issued["room_name"] == f"chat-{chat_id}" and issued["token"]


# --- Push-to-talk turns ----------------------------------------------------------------------


async def _call_of_three(layer):
    """Bob calls a group of three; Ana answers, Cleo does not: the call is Bob and Ana."""
    bob, ana, cleo = await _users("en", "es", "fr")
    chat_id = await _group_chat(bob, ana, cleo)
    call = await actions.do_start_call(user=bob, chat_id=chat_id)
    await actions.do_accept_call(user=ana, chat_id=chat_id, call_id=call.call_id)
    layer.group_sends.clear()
    return bob, ana, cleo, chat_id, call


def _turn_states(layer: RecordingChannelLayer, user_id: str) -> list[str]:
    return [frame["state"] for frame in layer.frames_to(user_id, "voice_turn")]


async def test_a_turn_is_seen_by_the_call_s_participants_only(layer):
    bob, ana, cleo, chat_id, call = await _call_of_three(layer)

    turn = await actions.do_start_turn(user=bob, chat_id=chat_id, audio_format="webm")
    await actions.do_cancel_turn(turn=turn)

    assert _turn_states(layer, bob.user_id) == _turn_states(layer, ana.user_id)
    assert _turn_states(layer, ana.user_id) == ["recording", "idle"]
    assert _turn_states(layer, cleo.user_id) == []
    idle = layer.frames_to(ana.user_id, "voice_turn")[-1]
    assert (idle["reason"], idle["speaker_id"], idle["call_id"]) == (
        "cancelled",
        bob.user_id,
        call.call_id,
    )
    assert await turn_lock_get(chat_id=chat_id) is None


async def test_a_second_speaker_is_refused_and_nobody_hears_of_it(layer):
    bob, ana, cleo, chat_id, call = await _call_of_three(layer)
    await actions.do_start_turn(user=bob, chat_id=chat_id, audio_format="webm")
    layer.group_sends.clear()

    with pytest.raises(TurnTaken):
        await actions.do_start_turn(user=ana, chat_id=chat_id, audio_format="webm")
    with pytest.raises(Forbidden):
        await actions.do_start_turn(user=cleo, chat_id=chat_id, audio_format="webm")

    assert layer.group_sends == []


async def test_stopping_with_nothing_recorded_fails_the_turn_for_everyone_in_it(layer):
    bob, ana, cleo, chat_id, call = await _call_of_three(layer)
    turn = await actions.do_start_turn(user=bob, chat_id=chat_id, audio_format="webm")

    await actions.do_stop_turn(turn=turn)

    for user in (bob, ana):
        idle = layer.frames_to(user.user_id, "voice_turn")[-1]
        assert (idle["state"], idle["reason"], idle["error_code"]) == ("idle", "error", "no_audio")
    with pytest.raises(Conflict, match="Not recording"):
        await actions.do_stop_turn(turn=turn)


async def test_a_recording_over_its_cap_fails_the_turn(layer, settings):
    settings.VOICE_TURN_MAX_AUDIO_BYTES = 4
    bob, ana, cleo, chat_id, call = await _call_of_three(layer)
    turn = await actions.do_start_turn(user=bob, chat_id=chat_id, audio_format="webm")

    await actions.do_add_turn_audio(turn=turn, data=b"1234")
    await actions.do_add_turn_audio(turn=turn, data=b"5")

    idle = layer.frames_to(ana.user_id, "voice_turn")[-1]
    assert (idle["state"], idle["error_code"]) == ("idle", "too_long")
    assert turn.finished and await turn_lock_get(chat_id=chat_id) is None


async def test_a_listener_leaving_aborts_the_turn_and_signals_only_the_speaker(layer):
    bob, ana, cleo, chat_id, call = await _call_of_three(layer)
    await actions.do_accept_call(user=cleo, chat_id=chat_id, call_id=call.call_id)
    await actions.do_start_turn(user=bob, chat_id=chat_id, audio_format="webm")
    layer.group_sends.clear()

    await actions.do_leave_call(user=cleo, chat_id=chat_id, call_id=call.call_id)

    assert set(layer.receivers("voice_turn")) == _ids(bob, ana, cleo)
    idle = layer.frames_to(ana.user_id, "voice_turn")[-1]
    assert (idle["state"], idle["error_code"], idle["error"]) == (
        "idle",
        "participant_left",
        "Test Person left the call",
    )
    (signal,) = layer.events_to(bob.user_id, SIGNAL_HANDLER)
    assert signal["signal"] == SIGNAL_TURN_ABORTED
    assert layer.events_to(ana.user_id, SIGNAL_HANDLER) == []
    assert set(layer.receivers("call_left")) == _ids(bob, ana, cleo)


async def test_a_closed_socket_ends_its_turn_and_leaves_its_call(layer):
    bob, ana, cleo, chat_id, call = await _call_of_three(layer)
    turn = await actions.do_start_turn(user=ana, chat_id=chat_id, audio_format="webm")
    layer.group_sends.clear()

    await actions.do_leave_on_disconnect(user=ana, turn=turn, calls={chat_id: call.call_id})

    idle = layer.frames_to(bob.user_id, "voice_turn")[-1]
    assert (idle["error_code"], idle["error"]) == ("participant_left", "Test Person left")
    (ended,) = layer.frames_to(cleo.user_id, "call_ended")
    assert (ended["user_id"], ended["reason"]) == (ana.user_id, "left")
    assert await call_get(chat_id=chat_id) is None

"""Calling over the chat socket: ring, accept, decline, cancel, miss, hang up, leave.

Real parts throughout: the ASGI app through WebsocketCommunicator, the Redis pub/sub channel
layer, call state in Redis, and DynamoDB (moto server) for the call messages.
"""

from __future__ import annotations

import asyncio
import time

from apps.chats import services as chat_services
from apps.chats.presenters import message_view
from apps.chats.selectors import message_history
from apps.core.concurrency import run_blocking
from apps.core.keyvalue import keyvalue_store
from apps.voice.selectors import call_get, call_key
from tests.support.accounts import user_create
from tests.support.voice_clients import call_connect, is_type, of_type


async def _user(language="en", username=None):
    return await run_blocking(user_create)(language=language, username=username)


async def _direct_chat(user, other) -> str:
    created = await run_blocking(chat_services.chat_direct_create)(
        user=user, other_username=other.username
    )
    return created.membership.chat_id


async def _call_messages(chat_id: str, language: str) -> list[dict]:
    page = await run_blocking(message_history)(chat_id=chat_id, limit=50, before_seq=None)
    return [
        message_view(message=message, language=language)
        for message in reversed(page.messages)
        if message.kind == "call"
    ]


async def _pair(sockets, caller_language="en", callee_language="es"):
    bob = await _user(caller_language)
    ana = await _user(callee_language)
    chat_id = await _direct_chat(bob, ana)
    return bob, ana, chat_id, await sockets.open(bob), await sockets.open(ana)


async def test_ring_then_accept_then_hang_up_leaves_the_call_in_history_with_its_duration(sockets):
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)

    await bob_socket.send({"type": "call_start", "chat_id": chat_id})

    incoming = (await ana_socket.until(is_type("call_incoming")))[-1]
    assert incoming["chat_id"] == chat_id
    assert incoming["caller_id"] == bob.user_id
    assert incoming["caller_name"] == "Test Person" and incoming["caller_username"] == bob.username
    assert incoming["room_name"] == f"chat-{chat_id}"
    assert incoming["ring_timeout_seconds"] == 5.0
    call_id = incoming["call_id"]
    # The caller's own tabs hear of it too (to show "ringing").
    assert (await bob_socket.until(is_type("call_incoming")))[-1]["call_id"] == call_id
    # The state is in Redis, where every instance sees it.
    stored = await call_get(chat_id=chat_id)
    assert (stored.call_id, stored.state, stored.participants) == (
        call_id,
        "ringing",
        (bob.user_id,),
    )

    await ana_socket.send({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})

    for socket in (ana_socket, bob_socket):
        accepted = (await socket.until(is_type("call_accepted")))[-1]
        assert accepted["call_id"] == call_id and accepted["user_id"] == ana.user_id
        assert accepted["participants"] == [bob.user_id, ana.user_id]
        assert accepted["room_name"] == f"chat-{chat_id}"
    assert (await call_get(chat_id=chat_id)).state == "active"

    await asyncio.sleep(1.1)
    await ana_socket.send({"type": "call_end", "chat_id": chat_id, "call_id": call_id})

    for socket in (ana_socket, bob_socket):
        ended = (await socket.until(is_type("call_ended")))[-1]
        assert ended["call_id"] == call_id and ended["user_id"] == ana.user_id
        assert ended["reason"] == "hangup"
        assert 1 <= ended["duration_seconds"] <= 3
        # The call message reaches both, each in their own language, like any message.
        message = (await socket.until(lambda f: f.get("type") == "message"))[-1]["message"]
        assert message["kind"] == "call"
    assert await call_get(chat_id=chat_id) is None

    (english,) = await _call_messages(chat_id, "en")
    (spanish,) = await _call_messages(chat_id, "es")
    duration = ended["duration_seconds"]
    assert english["text"] == f"Call ended · 0:{duration:02d}"
    assert spanish["text"] == f"Llamada finalizada · 0:{duration:02d}"
    assert english["from_user_id"] == bob.user_id
    assert english["meta"] == {"call_id": call_id, "outcome": "ended", "duration_seconds": duration}


async def test_declined_call_becomes_a_declined_call_message(sockets):
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)
    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    call_id = (await ana_socket.until(is_type("call_incoming")))[-1]["call_id"]

    await ana_socket.send({"type": "call_decline", "chat_id": chat_id, "call_id": call_id})

    for socket in (bob_socket, ana_socket):
        declined = (await socket.until(is_type("call_declined")))[-1]
        assert declined == {
            "type": "call_declined",
            "chat_id": chat_id,
            "call_id": call_id,
            "user_id": ana.user_id,
            "final": True,
        }
        await socket.until(lambda f: f.get("type") == "message")
    assert await call_get(chat_id=chat_id) is None
    assert [m["text"] for m in await _call_messages(chat_id, "en")] == ["Call declined"]
    assert [m["text"] for m in await _call_messages(chat_id, "es")] == ["Llamada rechazada"]
    assert (await _call_messages(chat_id, "en"))[0]["meta"]["outcome"] == "declined"


async def test_cancelled_call_becomes_a_cancelled_call_message(sockets):
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)
    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    call_id = (await ana_socket.until(is_type("call_incoming")))[-1]["call_id"]

    await bob_socket.send({"type": "call_cancel", "chat_id": chat_id, "call_id": call_id})

    cancelled = (await ana_socket.until(is_type("call_cancelled")))[-1]
    assert cancelled["call_id"] == call_id and cancelled["user_id"] == bob.user_id
    await ana_socket.until(lambda f: f.get("type") == "message")
    assert [m["text"] for m in await _call_messages(chat_id, "es")] == ["Llamada cancelada"]
    # Too late to answer now.
    await ana_socket.send({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})
    error = (await ana_socket.until(lambda f: "error" in f))[-1]
    assert error == {"error": "That call is over", "chat_id": chat_id, "call_id": call_id}


async def test_unanswered_call_is_missed_after_the_ring_timeout(sockets, settings):
    settings.VOICE_RING_TIMEOUT_SECONDS = 0.8
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)
    started = time.monotonic()
    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    call_id = (await ana_socket.until(is_type("call_incoming")))[-1]["call_id"]

    for socket in (ana_socket, bob_socket):
        missed = (await socket.until(is_type("call_missed"), timeout=5))[-1]
        assert missed == {
            "type": "call_missed",
            "chat_id": chat_id,
            "call_id": call_id,
            "caller_id": bob.user_id,
        }
    assert time.monotonic() - started >= 0.8
    message = (await ana_socket.until(lambda f: f.get("type") == "message"))[-1]["message"]
    assert (message["kind"], message["text"], message["language"]) == (
        "call",
        "Llamada perdida",
        "es",
    )
    assert [m["text"] for m in await _call_messages(chat_id, "en")] == ["Missed call"]
    assert await call_get(chat_id=chat_id) is None

    # Answering a missed call is refused; a new call can start.
    await ana_socket.send({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})
    assert (await ana_socket.until(lambda f: "error" in f))[-1]["error"] == "That call is over"
    await ana_socket.send({"type": "call_start", "chat_id": chat_id})
    assert (await bob_socket.until(is_type("call_incoming")))[-1]["caller_id"] == ana.user_id


async def test_an_answered_call_is_not_missed_when_the_ring_timeout_passes(sockets, settings):
    settings.VOICE_RING_TIMEOUT_SECONDS = 0.6
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)

    call_id = await call_connect(bob_socket, ana_socket, chat_id)

    # After the ring timer too, had answering left it running.
    frames = await ana_socket.drain(after_background_tasks=True)
    assert not of_type(frames, "call_missed")
    assert (await call_get(chat_id=chat_id)).call_id == call_id


async def test_one_call_per_chat_and_members_only(sockets):
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)
    eve = await _user("fr")
    eve_socket = await sockets.open(eve)
    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    call_id = (await ana_socket.until(is_type("call_incoming")))[-1]["call_id"]

    await ana_socket.send({"type": "call_start", "chat_id": chat_id})
    busy = (await ana_socket.until(lambda f: "error" in f))[-1]
    assert busy["error"] == "A call is already in progress in this chat"
    assert busy["call"]["call_id"] == call_id and busy["call"]["state"] == "ringing"

    await eve_socket.send({"type": "call_start", "chat_id": chat_id})
    # A chat one is not in looks like no chat at all (apps/chats/selectors.chat_get_for_member).
    assert (await eve_socket.until(lambda f: "error" in f))[-1] == {
        "error": "Chat not found",
        "chat_id": chat_id,
    }
    await eve_socket.send({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})
    assert (await eve_socket.until(lambda f: "error" in f))[-1]["error"] == "Chat not found"
    await eve_socket.send({"type": "call_start", "chat_id": "no-such-chat"})
    assert (await eve_socket.until(lambda f: "error" in f))[-1]["error"] == "Chat not found"
    await bob_socket.send({"type": "call_decline", "chat_id": chat_id, "call_id": call_id})
    assert "cancels" in (await bob_socket.until(lambda f: "error" in f))[-1]["error"]
    await ana_socket.send({"type": "call_cancel", "chat_id": chat_id, "call_id": call_id})
    assert (await ana_socket.until(lambda f: "error" in f))[-1][
        "error"
    ] == "Only the caller can cancel a call"
    await ana_socket.send({"type": "call_accept", "chat_id": chat_id})
    assert (await ana_socket.until(lambda f: "error" in f))[-1]["error"] == "call_id is required"
    # Nobody outside the chat heard the call.
    assert not of_type(await eve_socket.drain(), "call_incoming")

    await ana_socket.send({"type": "call_status", "chat_id": chat_id})
    status = (await ana_socket.until(is_type("call_status")))[-1]
    assert status["call"]["call_id"] == call_id and status["call"]["state"] == "ringing"
    await eve_socket.send({"type": "call_status", "chat_id": chat_id})
    assert (await eve_socket.until(lambda f: "error" in f))[-1] == {
        "error": "Chat not found",
        "chat_id": chat_id,
    }


async def test_the_callers_socket_closing_cancels_a_ringing_call(sockets):
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)
    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    call_id = (await ana_socket.until(is_type("call_incoming")))[-1]["call_id"]

    await bob_socket.close()

    cancelled = (await ana_socket.until(is_type("call_cancelled")))[-1]
    assert cancelled["call_id"] == call_id
    await ana_socket.until(lambda f: f.get("type") == "message")
    assert [m["text"] for m in await _call_messages(chat_id, "es")] == ["Llamada cancelada"]


async def test_a_participants_socket_closing_ends_the_call(sockets):
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)
    call_id = await call_connect(bob_socket, ana_socket, chat_id)

    await ana_socket.close()

    ended = (await bob_socket.until(is_type("call_ended")))[-1]
    assert ended["call_id"] == call_id and ended["user_id"] == ana.user_id
    assert ended["reason"] == "left"
    await bob_socket.until(lambda f: f.get("type") == "message")
    assert await call_get(chat_id=chat_id) is None
    assert [m["meta"]["outcome"] for m in await _call_messages(chat_id, "en")] == ["ended"]


async def test_an_accept_racing_the_ring_timeout_has_exactly_one_outcome(sockets, settings):
    """Compare-and-set in Redis: the answer or the timeout wins, never both."""
    settings.VOICE_RING_TIMEOUT_SECONDS = 0.5
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)
    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    call_id = (await ana_socket.until(is_type("call_incoming")))[-1]["call_id"]
    await asyncio.sleep(0.45)

    await ana_socket.send({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})

    await ana_socket.ping()  # the accept has been handled
    frames = await bob_socket.drain(after_background_tasks=True)  # and the ring timer has ended
    outcomes = of_type(frames, "call_accepted") + of_type(frames, "call_missed")
    assert len(outcomes) == 1, frames
    if outcomes[0]["type"] == "call_missed":
        assert len(await _call_messages(chat_id, "en")) == 1
    else:
        assert await _call_messages(chat_id, "en") == []
        assert (await call_get(chat_id=chat_id)).state == "active"


async def test_group_call_goes_on_until_fewer_than_two_remain(sockets):
    bob = await _user("en")
    ana = await _user("es")
    cleo = await _user("fr")
    created = await run_blocking(chat_services.chat_group_create)(
        user=bob, title="Trio", usernames=[ana.username, cleo.username]
    )
    chat_id = created.membership.chat_id
    bob_socket, ana_socket, cleo_socket = [await sockets.open(u) for u in (bob, ana, cleo)]

    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    call_id = (await cleo_socket.until(is_type("call_incoming")))[-1]["call_id"]
    await ana_socket.until(is_type("call_incoming"))
    # One member declining does not end a group call that rings for others.
    await cleo_socket.send({"type": "call_decline", "chat_id": chat_id, "call_id": call_id})
    assert (await bob_socket.until(is_type("call_declined")))[-1]["final"] is False
    await ana_socket.send({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})
    await bob_socket.until(is_type("call_accepted"))
    # Cleo changes her mind and joins the call under way.
    await cleo_socket.send({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})
    joined = (await bob_socket.until(is_type("call_accepted", user_id=cleo.user_id)))[-1]
    assert joined["participants"] == [bob.user_id, ana.user_id, cleo.user_id]

    await bob_socket.send({"type": "call_end", "chat_id": chat_id, "call_id": call_id})
    left = (await ana_socket.until(is_type("call_left")))[-1]
    assert left["user_id"] == bob.user_id and left["participants"] == [ana.user_id, cleo.user_id]
    await cleo_socket.send({"type": "call_end", "chat_id": chat_id, "call_id": call_id})
    ended = (await ana_socket.until(is_type("call_ended")))[-1]
    assert ended["user_id"] == cleo.user_id
    await ana_socket.until(lambda f: f.get("type") == "message")
    (french,) = await _call_messages(chat_id, "fr")
    assert french["text"].startswith("Appel terminé · ")


async def test_call_state_expires_by_itself_if_no_instance_is_left_to_miss_it(sockets, settings):
    """The ringing state carries a TTL a little past the ring timeout."""
    settings.VOICE_RING_TIMEOUT_SECONDS = 0.2
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)
    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    await ana_socket.until(is_type("call_incoming"))

    raw = await keyvalue_store().get(call_key(chat_id=chat_id))
    assert raw is not None
    store = keyvalue_store()
    ttl_ms = await store._redis.pttl(call_key(chat_id=chat_id))
    assert 0 < ttl_ms <= (0.2 + 5.0) * 1000
    await ana_socket.until(is_type("call_missed"))


# --- Limits and privacy ------------------------------------------------------------------------


def _is_error(frame: dict) -> bool:
    return "error" in frame


async def _ring_and_cancel(caller, callee, chat_id: str) -> None:
    await caller.send({"type": "call_start", "chat_id": chat_id})
    call_id = (await callee.until(is_type("call_incoming", chat_id=chat_id)))[-1]["call_id"]
    await caller.send({"type": "call_cancel", "chat_id": chat_id, "call_id": call_id})
    await callee.until(is_type("call_cancelled", call_id=call_id))
    await callee.until(is_type("message", chat_id=chat_id))


async def test_call_starts_over_the_callers_limit_ring_nobody_and_store_nothing(sockets, settings):
    settings.VOICE_CALL_START_LIMIT_COUNT = 2
    settings.VOICE_CALL_START_LIMIT_WINDOW_SECONDS = 60
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)
    await _ring_and_cancel(bob_socket, ana_socket, chat_id)
    await _ring_and_cancel(bob_socket, ana_socket, chat_id)

    for _ in range(3):
        await bob_socket.send({"type": "call_start", "chat_id": chat_id})
        refused = (await bob_socket.until(_is_error))[-1]
        assert refused["error"].startswith(
            "too many calls: at most 2 every 60 seconds; try again in "
        )
        assert refused["chat_id"] == chat_id
        assert isinstance(refused["retry_after"], int) and 1 <= refused["retry_after"] <= 60

    assert not of_type(await ana_socket.drain(), "call_incoming")
    assert await call_get(chat_id=chat_id) is None
    assert len(await _call_messages(chat_id, "es")) == 2
    # The limit is the caller's, in every chat.
    carl = await _user("fr")
    other_chat = await _direct_chat(bob, carl)
    carl_socket = await sockets.open(carl)
    await bob_socket.send({"type": "call_start", "chat_id": other_chat})
    assert (await bob_socket.until(_is_error))[-1]["error"].startswith("too many calls:")
    assert not of_type(await carl_socket.drain(), "call_incoming")


async def test_a_chats_members_share_its_call_limit_and_outsiders_cannot_use_it_up(
    sockets, settings
):
    settings.VOICE_CHAT_CALL_START_LIMIT_COUNT = 2
    settings.VOICE_CHAT_CALL_START_LIMIT_WINDOW_SECONDS = 600
    bob, ana, chat_id, bob_socket, ana_socket = await _pair(sockets)
    eve_socket = await sockets.open(await _user("fr"))
    for _ in range(3):
        await eve_socket.send({"type": "call_start", "chat_id": chat_id})
        assert (await eve_socket.until(_is_error))[-1]["error"] == "Chat not found"
    await _ring_and_cancel(bob_socket, ana_socket, chat_id)
    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    call_id = (await ana_socket.until(is_type("call_incoming")))[-1]["call_id"]
    # Pressing "call" during a call does not use up the chat's calls either.
    await ana_socket.send({"type": "call_start", "chat_id": chat_id})
    assert (await ana_socket.until(_is_error))[-1][
        "error"
    ] == "A call is already in progress in this chat"
    await bob_socket.send({"type": "call_cancel", "chat_id": chat_id, "call_id": call_id})
    await ana_socket.until(is_type("call_cancelled"))
    await ana_socket.until(is_type("message"))

    await ana_socket.send({"type": "call_start", "chat_id": chat_id})

    refused = (await ana_socket.until(_is_error))[-1]
    assert refused["error"].startswith("too many calls in this chat: at most 2 every 600 seconds")
    assert 1 <= refused["retry_after"] <= 600
    rung = of_type(await bob_socket.drain(), "call_incoming")
    assert [frame for frame in rung if frame["caller_id"] == ana.user_id] == []
    assert await call_get(chat_id=chat_id) is None
    assert len(await _call_messages(chat_id, "en")) == 2


def _answer(frame: dict) -> dict:
    """A reply without the ids the asker sent (which differ between the chats asked about)."""
    return {name: value for name, value in frame.items() if name not in ("chat_id", "call_id")}


async def test_an_outsider_gets_the_same_answers_for_a_call_an_idle_chat_and_no_chat(sockets):
    bob, ana, busy_chat, bob_socket, ana_socket = await _pair(sockets)
    call_id = await call_connect(bob_socket, ana_socket, busy_chat)
    carl = await _user("fr")
    idle_chat = await _direct_chat(bob, carl)
    eve_socket = await sockets.open(await _user("fr"))
    frames = [
        {"type": "call_status"},
        {"type": "call_start"},
        {"type": "call_accept", "call_id": call_id},
        {"type": "call_decline", "call_id": call_id},
        {"type": "call_cancel", "call_id": call_id},
        {"type": "call_end", "call_id": call_id},
        {"type": "ptt_start"},
    ]

    answers = {}
    for chat_id in (busy_chat, idle_chat, "no-such-chat"):
        answers[chat_id] = []
        for frame in frames:
            await eve_socket.send({**frame, "chat_id": chat_id})
            answers[chat_id].append(_answer((await eve_socket.until(_is_error))[-1]))

    assert answers[busy_chat] == answers[idle_chat] == answers["no-such-chat"]
    assert answers[busy_chat][:3] == [{"error": "Chat not found"}] * 3
    assert answers[busy_chat][3:6] == [{"error": "That call is over"}] * 3
    assert answers[busy_chat][6] == {"error": "There is no call in progress in this chat"}
    # The call went on untouched.
    call = await call_get(chat_id=busy_chat)
    assert call.call_id == call_id and call.state == "active"
    assert sorted(call.participants) == sorted([bob.user_id, ana.user_id])


async def test_someone_who_left_the_chat_can_neither_join_its_call_nor_see_it(sockets):
    bob, ana, carl = await _user("en"), await _user("es"), await _user("fr")
    created = await run_blocking(chat_services.chat_group_create)(
        user=bob, title="Trio", usernames=[ana.username, carl.username]
    )
    chat_id = created.membership.chat_id
    bob_socket, carl_socket = await sockets.open(bob), await sockets.open(carl)
    await bob_socket.send({"type": "call_start", "chat_id": chat_id})
    call_id = (await carl_socket.until(is_type("call_incoming")))[-1]["call_id"]
    await run_blocking(chat_services.chat_leave)(user=carl, chat_id=chat_id)

    await carl_socket.send({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})
    assert (await carl_socket.until(_is_error))[-1]["error"] == "Chat not found"
    await carl_socket.send({"type": "call_status", "chat_id": chat_id})
    assert (await carl_socket.until(_is_error))[-1]["error"] == "Chat not found"

    call = await call_get(chat_id=chat_id)
    assert call.state == "ringing" and call.participants == (bob.user_id,)

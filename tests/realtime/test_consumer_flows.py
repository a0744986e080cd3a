"""End-to-end flows over the chat socket: the contract's frames, streaming translations,
provider failures, idempotent sends, resume and gap filling, typing and read marks, limits,
and the ways a socket authenticates.

Everything runs for real: the ASGI application through Channels' WebsocketCommunicator, the
Redis pub/sub channel layer, DynamoDB (moto server) and a loopback OpenAI-compatible
translator (`translator` fixture) that answers "[<lang>] <text>".
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from django.test import AsyncClient

from apps.chats import services
from apps.chats.selectors import chat_get, map_as_dict, message_history
from apps.core.concurrency import run_blocking
from tests.support.accounts import user_create, user_token
from tests.support.chat_clients import ChatSocket
from tests.support.fake_openai import target_language

CONTRACT_MESSAGE_KEYS = {"message_id", "text", "from_user_id", "language", "timestamp"}


def _is(kind):
    return lambda frame: frame.get("type") == kind


def _message(message_id):
    return lambda frame: (
        frame.get("type") == "message" and frame["message"]["message_id"] == message_id
    )


def _ack(client_msg_id):
    return lambda frame: frame.get("type") == "ack" and frame.get("client_msg_id") == client_msg_id


def _error_for(client_msg_id):
    return lambda frame: "error" in frame and frame.get("client_msg_id") == client_msg_id


def _messages(frames):
    return [frame for frame in frames if frame.get("type") == "message"]


def _seqs(frames):
    return [frame["message"]["seq"] for frame in _messages(frames)]


async def _everything(socket: ChatSocket) -> list[dict]:
    """Every frame the socket has received in the test, once it has what is on its way
    (ChatSocket.drain)."""
    await socket.drain()
    return list(socket.frames)


async def _user(language="en"):
    return await run_blocking(user_create)(language=language)


async def _direct_chat(user, other) -> str:
    created = await run_blocking(services.chat_direct_create)(
        user=user, other_username=other.username
    )
    return created.membership.chat_id


async def _stored_seqs(chat_id) -> list[int]:
    page = await run_blocking(message_history)(chat_id=chat_id, limit=200, before_seq=None)
    return sorted(int(message.seq) for message in page.messages)


async def _translator_asked(translator, *, times: int, timeout: float = 5.0) -> None:
    """Returns once the translator has received `times` requests in all."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(translator.received()) < times:
        assert asyncio.get_running_loop().time() < deadline, translator.received()
        await asyncio.sleep(0.01)


async def _send_and_ack(socket: ChatSocket, chat_id: str, text: str, client_msg_id: str) -> dict:
    await socket.send(
        {"type": "send", "chat_id": chat_id, "text": text, "client_msg_id": client_msg_id}
    )
    frames = await socket.until(lambda f: _ack(client_msg_id)(f) or _error_for(client_msg_id)(f))
    assert frames[-1].get("type") == "ack", frames[-1]
    return frames[-1]


# --- The contract's frames ------------------------------------------------------------------


async def test_contract_frame_without_type_reaches_both_members_in_contract_shape(
    translator, sockets
):
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    # Exactly what a contract client sends: no "type", no client_msg_id.
    await bob_socket.send({"chat_id": chat_id, "text": "Hello!"})

    bob_frame = await bob_socket.wait_for(_is("message"))
    ana_frame = await ana_socket.wait_for(_is("message"))
    for frame in (bob_frame, ana_frame):
        assert frame["chat_id"] == chat_id
        assert set(frame["message"]) >= CONTRACT_MESSAGE_KEYS
        assert frame["message"]["from_user_id"] == bob.user_id
        assert (
            datetime.fromisoformat(frame["message"]["timestamp"]).utcoffset().total_seconds() == 0
        )
    assert bob_frame["message"]["message_id"] == ana_frame["message"]["message_id"]
    assert (bob_frame["message"]["text"], bob_frame["message"]["language"]) == ("Hello!", "en")
    assert (ana_frame["message"]["text"], ana_frame["message"]["language"]) == ("[es] Hello!", "es")
    assert await _stored_seqs(chat_id) == [1]


async def test_contract_client_gets_exactly_one_message_frame_per_message(translator, sockets):
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    for text in ("one", "two", "three"):
        await bob_socket.send({"chat_id": chat_id, "text": text})
        # One at a time, so each gets the next sequence number in this order.
        await bob_socket.until(_is("ack"))

    ana_frames, bob_frames = await asyncio.gather(_everything(ana_socket), _everything(bob_socket))
    for frames, expected in (
        (ana_frames, ["[es] one", "[es] two", "[es] three"]),
        (bob_frames, ["one", "two", "three"]),
    ):
        messages = _messages(frames)
        ids = [frame["message"]["message_id"] for frame in messages]
        assert len(ids) == len(set(ids)) == 3, messages
        assert [frame["message"]["text"] for frame in messages] == expected
        assert [frame["message"]["seq"] for frame in messages] == [1, 2, 3]


# --- Streaming translation ------------------------------------------------------------------


async def test_translation_streams_growing_partials_before_the_final_message(translator, sockets):
    translator.token_delay_seconds = 0.05
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)
    text = "the quick brown fox jumps over the lazy dog again and again"

    await bob_socket.send(
        {"type": "send", "chat_id": chat_id, "text": text, "client_msg_id": "c-1"}
    )

    ana_frames = await ana_socket.until(_is("message"), timeout=10)
    final = ana_frames[-1]["message"]
    assert final["text"] == f"[es] {text}" and final["translated"] is True
    message_id = final["message_id"]

    started = [frame for frame in ana_frames if frame.get("type") == "message_started"]
    assert len(started) == 1
    assert started[0]["message_id"] == message_id
    assert started[0]["original_text"] == text and started[0]["original_language"] == "en"

    partials = [frame for frame in ana_frames if frame.get("type") == "translation_partial"]
    assert partials, ana_frames
    assert all(p["message_id"] == message_id and p["language"] == "es" for p in partials)
    texts = [p["text"] for p in partials]
    # Each partial extends the one before and is a prefix of the final translation.
    for earlier, later in zip(texts, texts[1:]):
        assert later.startswith(earlier) and len(later) > len(earlier), texts
    assert all(final["text"].startswith(partial) for partial in texts), texts
    # The partials came while the translation was still streaming: the first is incomplete.
    assert texts[0] != final["text"]
    # message_started precedes the partials, which precede the message.
    assert ana_frames.index(started[0]) < ana_frames.index(partials[0])

    # The sender: an ack with its client_msg_id and its own copy; no message_started (its
    # client already shows the message) and no partials.
    bob_frames = await bob_socket.until(_ack("c-1"), timeout=10)
    bob_frames += await bob_socket.drain()
    assert not [frame for frame in bob_frames if frame.get("type") == "message_started"]
    ack = next(frame for frame in bob_frames if frame.get("type") == "ack")
    assert ack["client_msg_id"] == "c-1" and ack["message_id"] == message_id
    assert ack["seq"] == 1 and ack["duplicate"] is False and ack["chat_id"] == chat_id
    assert not [frame for frame in bob_frames if frame.get("type") == "translation_partial"]
    (bob_copy,) = _messages(bob_frames)
    assert bob_copy["message"]["text"] == text and bob_copy["message"]["message_id"] == message_id


# --- Provider failure -----------------------------------------------------------------------


async def test_provider_failure_delivers_original_now_and_translation_later(translator, sockets):
    translator.fail_status = 500
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    await bob_socket.send({"chat_id": chat_id, "text": "Good morning", "client_msg_id": "f-1"})

    untranslated = (await ana_socket.until(_is("message"), timeout=10))[-1]
    assert untranslated["message"]["text"] == "Good morning"
    assert untranslated["message"]["language"] == "en"
    assert untranslated["message"]["translated"] is False
    ack = (await bob_socket.until(_ack("f-1"), timeout=10))[-1]
    assert ack["message_id"] == untranslated["message"]["message_id"]
    # While the provider keeps failing, nothing more arrives. The follow-up attempts are made
    # one after another, so once the provider has been asked a third time, what the second
    # attempt sent (nothing) is on its way.
    await _translator_asked(translator, times=3)
    assert not [f for f in await ana_socket.drain() if f.get("type") == "message_updated"]

    translator.fail_status = None
    updated = (await ana_socket.until(_is("message_updated"), timeout=15))[-1]
    assert updated["chat_id"] == chat_id
    assert updated["message"]["message_id"] == untranslated["message"]["message_id"]
    assert updated["message"]["seq"] == untranslated["message"]["seq"]
    assert updated["message"]["text"] == "[es] Good morning"
    assert updated["message"]["language"] == "es"
    assert updated["message"]["translated"] is True

    # The sender reads the original; it is owed nothing.
    bob_frames = await _everything(bob_socket)
    assert not [f for f in bob_frames if f.get("type") == "message_updated"]
    # The translation is stored: history in Spanish now has it.
    page = await run_blocking(message_history)(chat_id=chat_id, limit=10, before_seq=None)
    assert map_as_dict(page.messages[0].translations) == {"es": "[es] Good morning"}


# --- Idempotent sends -----------------------------------------------------------------------


async def test_resending_a_client_msg_id_acks_the_same_message_and_delivers_it_once(
    translator, sockets
):
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    first = await _send_and_ack(bob_socket, chat_id, "Only once", "same-id")
    second = await _send_and_ack(bob_socket, chat_id, "Only once", "same-id")

    assert first["duplicate"] is False and second["duplicate"] is True
    assert second["message_id"] == first["message_id"] and second["seq"] == first["seq"] == 1
    ana_frames = await ana_socket.drain()
    assert [f["message"]["message_id"] for f in _messages(ana_frames)] == [first["message_id"]]
    assert await _stored_seqs(chat_id) == [1]


async def test_a_client_msg_id_sent_twice_at_once_is_stored_once(translator, sockets):
    translator.token_delay_seconds = 0.02
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    frame = {"chat_id": chat_id, "text": "a retried send", "client_msg_id": "twice"}
    await bob_socket.send(frame)
    await bob_socket.send(frame)  # both sends are in flight together

    acks = []
    while len(acks) < 2:
        acks.append((await bob_socket.until(_ack("twice"), timeout=10))[-1])
    assert acks[0]["message_id"] == acks[1]["message_id"]
    assert sorted(ack["duplicate"] for ack in acks) == [False, True]
    ana_frames = await ana_socket.drain()
    assert [f["message"]["message_id"] for f in _messages(ana_frames)] == [acks[0]["message_id"]]
    assert await _stored_seqs(chat_id) == [1]


async def test_a_duplicate_send_announces_no_message_that_never_comes(translator, sockets):
    """Every message_started a reader sees is followed by that message (no phantom bubble).

    The translation is slow enough that every send that translates is announced: the first
    send is, and a resend that went as far as translating would be too, and then be found a
    duplicate at the commit and never come."""
    translator.delay_seconds = 0.3  # well past messaging.PARTIAL_INTERVAL_SECONDS
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    await _send_and_ack(bob_socket, chat_id, "Hi", "dup")
    await _send_and_ack(bob_socket, chat_id, "Hi", "dup")

    # A resend's announcement would go out before its ack.
    ana_frames = await ana_socket.drain()
    started_ids = {f["message_id"] for f in ana_frames if f.get("type") == "message_started"}
    delivered_ids = {f["message"]["message_id"] for f in _messages(ana_frames)}
    assert started_ids, "nothing was announced: the test would show nothing"
    assert started_ids <= delivered_ids, (
        f"message_started announced {started_ids - delivered_ids}, which never arrived"
    )


# --- Resume and gap filling -----------------------------------------------------------------


async def test_resume_delivers_exactly_the_missed_messages_then_live_ones_continue(
    translator, sockets
):
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    await _send_and_ack(bob_socket, chat_id, "before", "r0")
    seen = (await ana_socket.until(_is("message")))[-1]
    last_seen = seen["message"]["seq"]
    assert last_seen == 1
    await ana_socket.close()

    for number in (1, 2, 3):
        await _send_and_ack(bob_socket, chat_id, f"missed {number}", f"r{number}")

    ana_socket = await sockets.open(ana)
    await ana_socket.send({"type": "resume", "chats": {chat_id: last_seen}})
    frames = await ana_socket.until(_is("resume_complete"))
    assert _seqs(frames) == [2, 3, 4]
    assert [f["message"]["text"] for f in _messages(frames)] == [
        "[es] missed 1",
        "[es] missed 2",
        "[es] missed 3",
    ]
    assert all(f["chat_id"] == chat_id for f in _messages(frames))
    assert frames[-1]["chats"] == {chat_id: 4}

    await _send_and_ack(bob_socket, chat_id, "live again", "r4")
    # The ack follows the hand-over of the message to the broadcaster, which drain waits out.
    after = await ana_socket.drain()
    assert _seqs(after) == [5]
    assert _messages(after)[0]["message"]["text"] == "[es] live again"


async def test_resume_still_delivers_the_missed_messages_when_a_live_one_came_first(
    translator, sockets
):
    """A reconnected socket can receive a live message before its client has sent "resume"
    (the socket joins the user's group on connect). Resuming from the last seq the client saw
    must still deliver what it missed, not report it as caught up."""
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    await _send_and_ack(bob_socket, chat_id, "seen", "s0")
    await ana_socket.until(_is("message"))
    await ana_socket.close()
    for number in (1, 2, 3):
        await _send_and_ack(bob_socket, chat_id, f"missed {number}", f"s{number}")

    ana_socket = await sockets.open(ana)
    await _send_and_ack(bob_socket, chat_id, "arrives before resume", "s4")
    live = (await ana_socket.until(_is("message")))[-1]
    assert live["message"]["seq"] == 5

    await ana_socket.send({"type": "resume", "chats": {chat_id: 1}})
    frames = await ana_socket.until(_is("resume_complete"))
    assert sorted(set(_seqs(frames))) == [2, 3, 4], (
        f"resume from seq 1 delivered {_seqs(frames)} and reported {frames[-1]['chats']}"
    )


async def test_resume_reports_bad_entries_and_still_completes(translator, sockets):
    ana = await _user("es")
    bob = await _user("en")
    outsider = await _user("fr")
    chat_id = await _direct_chat(bob, ana)
    outsider_socket = await sockets.open(outsider)

    await outsider_socket.send({"type": "resume", "chats": {chat_id: 0}})
    frames = await outsider_socket.until(_is("resume_complete"))
    assert {"error": "Chat not found", "chat_id": chat_id} in frames
    assert frames[-1]["chats"] == {}
    assert not _messages(frames)

    await outsider_socket.send({"type": "resume", "chats": "everything"})
    assert "error" in await outsider_socket.frame()

    ana_socket = await sockets.open(ana)
    await ana_socket.send({"type": "resume", "chats": {chat_id: -1}})
    frames = await ana_socket.until(_is("resume_complete"))
    assert any("error" in f and f.get("chat_id") == chat_id for f in frames)


async def test_a_gap_is_filled_from_dynamodb_before_a_later_live_message(translator, sockets):
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    await _send_and_ack(bob_socket, chat_id, "first", "g1")
    assert (await ana_socket.until(_is("message")))[-1]["message"]["seq"] == 1

    # Seq 2 is stored without any broadcast, as if its broadcast were lost.
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    draft = services.MessageDraft(
        chat_id=chat_id,
        message_id=uuid.uuid4().hex,
        from_user_id=bob.user_id,
        original_text="stored quietly",
        original_language="en",
        translations={"es": "[es] stored quietly"},
        pending_languages=frozenset(),
        client_msg_id=None,
        created_at=datetime.now(UTC),
    )
    committed = await run_blocking(services.message_commit)(draft=draft, chat=chat)
    assert int(committed.message.seq) == 2
    assert not _messages(await ana_socket.drain())

    await _send_and_ack(bob_socket, chat_id, "third", "g3")

    frames = await ana_socket.until(
        lambda f: f.get("type") == "message" and f["message"]["seq"] == 3
    )
    frames += await ana_socket.drain()
    assert _seqs(frames) == [2, 3]
    gap, live = _messages(frames)
    assert gap["message"]["message_id"] == draft.message_id
    assert gap["message"]["text"] == "[es] stored quietly" and gap["message"]["language"] == "es"
    assert live["message"]["text"] == "[es] third"

    # The sender's socket had delivered seq 1 too, so it is filled the same way.
    bob_frames = await _everything(bob_socket)
    assert _seqs(bob_frames) == [1, 2, 3]
    assert _messages(bob_frames)[1]["message"]["text"] == "stored quietly"


async def test_a_message_published_after_the_next_one_still_reaches_a_socket_new_to_the_chat(
    translator, sockets
):
    """Two instances commit seq 1 and seq 2 a moment apart, and the second publishes first.
    A socket that had no place in the chat yet (no resume, nothing delivered) takes seq 2 as
    its first; seq 1, arriving after it, was never sent on it and must not be dropped."""
    from apps.chats import events

    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    ana_socket = await sockets.open(ana)

    def commit(text: str) -> services.CommittedMessage:
        draft = services.MessageDraft(
            chat_id=chat_id,
            message_id=uuid.uuid4().hex,
            from_user_id=bob.user_id,
            original_text=text,
            original_language="en",
            translations={"es": f"[es] {text}"},
            pending_languages=frozenset(),
            client_msg_id=None,
            created_at=datetime.now(UTC),
        )
        return services.message_commit(draft=draft, chat=chat_get(chat_id=chat_id))

    first = await run_blocking(commit)("first")
    second = await run_blocking(commit)("second")
    for committed in (second, first):
        await events.message_broadcast(
            message=committed.message, member_languages=committed.member_languages
        )
        assert await events.broadcasts_settle(timeout=5)
        await ana_socket.until(_message(committed.message.message_id))

    frames = await _everything(ana_socket)
    assert _seqs(frames) == [2, 1]
    assert [f["message"]["text"] for f in _messages(frames)] == ["[es] second", "[es] first"]

    # Once it is there, a repeat of either is still dropped.
    await events.message_broadcast(message=first.message, member_languages=first.member_languages)
    assert await events.broadcasts_settle(timeout=5)
    assert not _messages(await ana_socket.drain())


def _counting_message_queries(monkeypatch) -> list[dict]:
    """Every Message.query from now on, as its keyword arguments."""
    from apps.chats.models import Message

    queries: list[dict] = []
    original_query = Message.query.__func__

    def counting_query(cls, *args, **kwargs):
        queries.append(kwargs)
        return original_query(cls, *args, **kwargs)

    monkeypatch.setattr(Message, "query", classmethod(counting_query))
    return queries


async def _store_quietly(chat_id, sender, count: int) -> None:
    """`count` messages stored without any broadcast, as if their broadcasts were lost."""

    def store():
        for number in range(count):
            draft = services.MessageDraft(
                chat_id=chat_id,
                message_id=uuid.uuid4().hex,
                from_user_id=sender.user_id,
                original_text=f"quiet {number}",
                original_language=sender.native_language,
                translations={"es": f"[es] quiet {number}"},
                pending_languages=frozenset(),
                client_msg_id=None,
                created_at=datetime.now(UTC),
            )
            services.message_commit(draft=draft, chat=chat_get(chat_id=chat_id))

    await run_blocking(store)()


async def test_a_resume_over_several_pages_delivers_every_missed_message_once_in_order(
    translator, sockets, settings, monkeypatch
):
    settings.SOCKET_CATCH_UP_PAGE_MESSAGES = 3
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    await _store_quietly(chat_id, bob, 11)
    ana_socket = await sockets.open(ana)
    queries = _counting_message_queries(monkeypatch)

    await ana_socket.send({"type": "resume", "chats": {chat_id: 1}})
    frames = await ana_socket.until(_is("resume_complete"))
    frames += await ana_socket.drain()

    assert _seqs(frames) == list(range(2, 12))
    assert [f["message"]["text"] for f in _messages(frames)] == [
        f"[es] quiet {number}" for number in range(1, 11)
    ]
    assert frames[len(_messages(frames))] == {"type": "resume_complete", "chats": {chat_id: 11}}
    # Pages of 3: seqs 2-4, 5-7, 8-10, then 11 alone, which ends it.
    assert [query["limit"] for query in queries] == [3, 3, 3, 3]


async def test_a_gap_of_several_pages_is_filled_in_order_before_the_live_message(
    translator, sockets, settings, monkeypatch
):
    settings.SOCKET_CATCH_UP_PAGE_MESSAGES = 2
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)
    await _send_and_ack(bob_socket, chat_id, "first", "p1")
    assert (await ana_socket.until(_is("message")))[-1]["message"]["seq"] == 1
    await _store_quietly(chat_id, bob, 5)
    queries = _counting_message_queries(monkeypatch)

    await _send_and_ack(bob_socket, chat_id, "live", "p7")

    frames = await ana_socket.until(
        lambda f: f.get("type") == "message" and f["message"]["seq"] == 7
    )
    frames += await ana_socket.drain()
    assert _seqs(frames) == [2, 3, 4, 5, 6, 7]
    assert _messages(frames)[-1]["message"]["text"] == "[es] live"
    # Each socket fills its gap up to seq 6 in pages of 2: 2-3, 4-5, then 6, which ends it.
    pages = [query for query in queries if query.get("limit") == 2]
    assert len(pages) == 6  # three for Ana's socket, three for Bob's
    assert len(queries) == len(pages)


# --- Typing and read marks ------------------------------------------------------------------


async def test_typing_reaches_the_other_member_only_and_non_members_get_an_error(
    translator, sockets
):
    ana = await _user("es")
    bob = await _user("en")
    outsider = await _user("fr")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)
    outsider_socket = await sockets.open(outsider)

    await bob_socket.send({"type": "typing", "chat_id": chat_id})

    typing = (await ana_socket.until(_is("typing")))[-1]
    assert typing == {"type": "typing", "chat_id": chat_id, "user_id": bob.user_id}
    # Bob's typing frame was handled (and broadcast) before his drain's ping.
    assert not [f for f in await bob_socket.drain() if f.get("type") == "typing"]

    await outsider_socket.send({"type": "typing", "chat_id": chat_id})
    assert await outsider_socket.frame() == {"error": "Chat not found", "chat_id": chat_id}
    assert not [f for f in await ana_socket.drain() if f.get("type") == "typing"]
    await outsider_socket.ping()


async def test_read_mark_reaches_both_members(translator, sockets):
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)
    await _send_and_ack(bob_socket, chat_id, "read me", "rd1")
    await ana_socket.until(_is("message"))

    await ana_socket.send({"type": "read", "chat_id": chat_id, "seq": 1})

    expected = {"type": "read", "chat_id": chat_id, "user_id": ana.user_id, "seq": 1}
    assert (await ana_socket.until(_is("read")))[-1] == expected
    assert (await bob_socket.until(_is("read")))[-1] == expected
    membership = await run_blocking(services.chat_membership_get)(
        user_id=ana.user_id, chat_id=chat_id
    )
    assert int(membership.last_read_seq) == 1 and int(membership.unread_count) == 0


# --- Limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t "])
async def test_empty_text_is_refused_with_the_client_msg_id_and_nothing_stored(
    translator, sockets, text
):
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    await bob_socket.send({"chat_id": chat_id, "text": text, "client_msg_id": "blank"})

    error = (await bob_socket.until(lambda f: "error" in f))[-1]
    assert error["client_msg_id"] == "blank" and error["chat_id"] == chat_id
    assert "empty" in error["error"]
    await bob_socket.ping()
    assert not [
        f for f in await ana_socket.drain() if f.get("type") in ("message", "message_started")
    ]
    assert await _stored_seqs(chat_id) == []
    assert int((await run_blocking(chat_get)(chat_id=chat_id)).last_seq) == 0


async def test_text_longer_than_the_limit_is_refused_and_the_limit_itself_is_accepted(
    translator, sockets, settings
):
    settings.MESSAGE_MAX_CHARS = 40
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)

    await bob_socket.send({"chat_id": chat_id, "text": "x" * 41, "client_msg_id": "long"})
    error = (await bob_socket.until(lambda f: "error" in f))[-1]
    assert error["client_msg_id"] == "long" and "40" in error["error"]
    await bob_socket.ping()
    assert await _stored_seqs(chat_id) == []

    ack = await _send_and_ack(bob_socket, chat_id, "y" * 40, "exact")
    assert ack["seq"] == 1
    assert await _stored_seqs(chat_id) == [1]


async def test_the_send_after_the_rate_limit_is_refused(translator, sockets, settings):
    settings.MESSAGE_RATE_LIMIT_COUNT = 2
    # A long window keeps all three sends inside one fixed window.
    settings.MESSAGE_RATE_LIMIT_WINDOW_SECONDS = 3600
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    await _send_and_ack(bob_socket, chat_id, "one", "rl1")
    await _send_and_ack(bob_socket, chat_id, "two", "rl2")
    await bob_socket.send({"chat_id": chat_id, "text": "three", "client_msg_id": "rl3"})
    error = (await bob_socket.until(lambda f: _ack("rl3")(f) or _error_for("rl3")(f)))[-1]
    assert "error" in error, error
    assert "too many messages" in error["error"]
    assert error["retry_after"] >= 1
    await bob_socket.ping()
    assert await _stored_seqs(chat_id) == [1, 2]
    ana_frames = await ana_socket.drain()
    assert _seqs(ana_frames) == [1, 2]


# --- Authentication -------------------------------------------------------------------------


async def _ticket(user) -> str:
    response = await AsyncClient().post(
        "/api/ws/ticket", headers={"Authorization": f"Bearer {user_token(user)}"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["expires_in"] > 0
    return body["ticket"]


async def test_a_ticket_opens_one_socket_and_is_refused_the_second_time(translator, sockets):
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    ticket = await _ticket(ana)

    ana_socket, connected, _ = await sockets.attempt(f"?ticket={ticket}")
    assert connected
    bob_socket = await sockets.open(bob)
    await _send_and_ack(bob_socket, chat_id, "via ticket", "t1")
    received = (await ana_socket.until(_is("message")))[-1]
    assert received["message"]["text"] == "[es] via ticket"

    # A used ticket closes with its own code, so the client asks for a new one rather than
    # taking the session for over.
    again, connected, _ = await sockets.attempt(f"?ticket={ticket}")
    assert await again.close_code() == 4001


async def test_a_ticket_request_needs_a_bearer_token():
    response = await AsyncClient().post("/api/ws/ticket")
    assert response.status_code == 401
    assert "detail" in response.json()


async def test_origin_must_be_allowed_when_present(translator, sockets, settings):
    settings.CORS_ORIGINS = ["https://app.example"]
    bob = await _user("en")
    token = user_token(bob)

    # Accepted only to be closed at once with 4003, so the page can tell why.
    refused, _, _ = await sockets.attempt(
        f"?token={token}", headers=[(b"origin", b"https://evil.example")]
    )
    assert await refused.close_code() == 4003

    allowed, connected, _ = await sockets.attempt(
        f"?token={token}", headers=[(b"origin", b"https://app.example")]
    )
    assert connected
    await allowed.ping()

    no_origin, connected, _ = await sockets.attempt(
        f"?token={token}", headers=[(b"host", b"testserver")]
    )
    assert connected
    await no_origin.ping()


async def test_a_refused_origin_does_not_open_a_socket_even_with_a_ticket(
    translator, sockets, settings
):
    settings.CORS_ORIGINS = ["https://app.example"]
    bob = await _user("en")
    ticket = await _ticket(bob)
    refused, _, _ = await sockets.attempt(
        f"?ticket={ticket}", headers=[(b"origin", b"https://evil.example")]
    )
    assert await refused.close_code() == 4003


# --- Languages ------------------------------------------------------------------------------


async def test_a_group_of_three_languages_each_reads_in_their_own(translator, sockets):
    amy = await _user("en")
    eva = await _user("es")
    fio = await _user("fr")
    flo = await _user("fr")
    created = await run_blocking(services.chat_group_create)(
        user=amy, title="Trio", usernames=[eva.username, fio.username, flo.username]
    )
    chat_id = created.membership.chat_id
    members = {user.user_id: await sockets.open(user) for user in (amy, eva, fio, flo)}

    ack = await _send_and_ack(members[amy.user_id], chat_id, "Good evening", "grp")

    expected = {
        amy.user_id: ("Good evening", "en"),
        eva.user_id: ("[es] Good evening", "es"),
        fio.user_id: ("[fr] Good evening", "fr"),
        flo.user_id: ("[fr] Good evening", "fr"),
    }
    everything = await asyncio.gather(*(_everything(socket) for socket in members.values()))
    for user_id, frames in zip(members, everything, strict=True):
        (message,) = _messages(frames)
        assert message["chat_id"] == chat_id
        assert message["message"]["message_id"] == ack["message_id"]
        assert message["message"]["from_user_id"] == amy.user_id
        assert (message["message"]["text"], message["message"]["language"]) == expected[user_id]
    # One translation per other language, none for the sender's own.
    assert sorted(target_language(body) for body in translator.received()) == ["es", "fr"]


async def test_members_sharing_a_language_need_no_translation(translator, sockets):
    ana = await _user("de")
    bob = await _user("de")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    await bob_socket.send({"chat_id": chat_id, "text": "Guten Tag"})
    message = (await ana_socket.until(_is("message")))[-1]["message"]
    assert (message["text"], message["language"], message["translated"]) == (
        "Guten Tag",
        "de",
        True,
    )
    assert translator.received() == []
    await bob_socket.until(_is("ack"))


# --- Other frames ---------------------------------------------------------------------------


async def test_ping_and_unknown_frame_types(translator, sockets):
    bob = await _user("en")
    bob_socket = await sockets.open(bob)
    await bob_socket.send({"type": "ping"})
    assert await bob_socket.frame() == {"type": "pong"}
    await bob_socket.send({"type": "dance"})
    assert await bob_socket.frame() == {"error": "unknown frame type: dance"}
    await bob_socket.send({"type": "read", "chat_id": "nope", "seq": 1})
    assert await bob_socket.frame() == {"error": "Chat not found", "chat_id": "nope"}
    await bob_socket.ping()


async def test_a_sender_with_two_tabs_gets_its_message_once_on_each(translator, sockets):
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    tab_one = await sockets.open(bob)
    tab_two = await sockets.open(bob)
    await sockets.open(ana)

    ack = await _send_and_ack(tab_one, chat_id, "from tab one", "tab")
    everything = await asyncio.gather(*(_everything(tab) for tab in (tab_one, tab_two)))
    for frames in everything:
        assert [f["message"]["message_id"] for f in _messages(frames)] == [ack["message_id"]]
    # The ack goes only to the socket that sent.
    assert not [f for f in tab_two.frames if f.get("type") == "ack"]


async def test_sends_keep_flowing_while_a_translation_is_slow(translator, sockets):
    """A send waits for its translation beside the socket: other frames are answered meanwhile."""
    translator.delay_seconds = 1.0
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    bob_socket = await sockets.open(bob)

    await bob_socket.send({"chat_id": chat_id, "text": "slow one", "client_msg_id": "slow"})
    started = asyncio.get_running_loop().time()
    await bob_socket.ping()
    assert asyncio.get_running_loop().time() - started < 0.8
    await bob_socket.until(_ack("slow"), timeout=10)


async def test_messages_sent_quickly_keep_their_order_when_translations_finish_out_of_order(
    translator, sockets
):
    """The first message's translation is the slowest; it is still stored first."""
    bob = await run_blocking(user_create)(language="en")
    ana = await run_blocking(user_create)(language="es")
    created = await run_blocking(services.chat_direct_create)(user=bob, other_username=ana.username)
    chat_id = created.membership.chat_id
    slow_words = "one two three four five six seven eight nine ten eleven twelve"
    translator.token_delay_seconds = 0.03
    bob_socket = await sockets.open(bob)
    for number, text in enumerate([slow_words, "short", "hi"]):
        await bob_socket.send({"chat_id": chat_id, "text": text, "client_msg_id": f"o{number}"})
    acks = []
    while len(acks) < 3:
        frame = await bob_socket.frame(timeout=10)
        if frame.get("type") == "ack":
            acks.append(frame)
    by_client_id = {ack["client_msg_id"]: ack["seq"] for ack in acks}
    assert by_client_id == {"o0": 1, "o1": 2, "o2": 3}


async def test_after_a_language_change_the_open_socket_replays_in_the_new_language(
    translator, sockets
):
    from datetime import UTC, datetime

    from django.test import AsyncClient

    from apps.chats.selectors import chat_get

    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    ana_socket = await sockets.open(ana)
    response = await AsyncClient().patch(
        "/api/auth/me",
        data={"native_language": "fr"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {user_token(ana)}"},
    )
    assert response.status_code == 200
    updated = (await ana_socket.until(_is("profile_updated")))[-1]
    assert updated["user"]["native_language"] == "fr"
    # Stored without a broadcast: it reaches the socket only through the resume.
    draft = services.MessageDraft(
        chat_id=chat_id,
        message_id="stored-quietly",
        from_user_id=bob.user_id,
        original_text="hello",
        original_language="en",
        translations={"es": "hola", "fr": "bonjour"},
        pending_languages=frozenset(),
        client_msg_id=None,
        created_at=datetime.now(UTC),
    )
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    await run_blocking(services.message_commit)(draft=draft, chat=chat)
    await ana_socket.send({"type": "resume", "chats": {chat_id: 0}})
    frames = await ana_socket.until(_is("resume_complete"))
    replayed = [f["message"] for f in frames if f.get("type") == "message"]
    assert [(m["text"], m["language"]) for m in replayed] == [("bonjour", "fr")]


async def test_a_chat_one_is_not_in_gets_the_same_socket_errors_as_no_chat(translator, sockets):
    ana = await _user("es")
    bob = await _user("en")
    outsider = await _user("fr")
    chat_id = await _direct_chat(bob, ana)
    missing_id = services.direct_chat_id(outsider.user_id, ana.user_id)
    outsider_socket = await sockets.open(outsider)

    def without_chat_id(frame: dict) -> dict:
        return {key: value for key, value in frame.items() if key != "chat_id"}

    for frame in (
        {"type": "send", "text": "hi", "client_msg_id": "c1"},
        {"type": "typing"},
        {"type": "read", "seq": 1},
    ):
        replies = []
        for target in (chat_id, missing_id):
            await outsider_socket.send({**frame, "chat_id": target})
            reply = await outsider_socket.frame()
            assert reply.get("chat_id") == target
            replies.append(without_chat_id(reply))
        assert replies[0] == replies[1] and replies[0]["error"] == "Chat not found", replies

    await outsider_socket.send({"type": "resume", "chats": {chat_id: 0, missing_id: 0}})
    frames = await outsider_socket.until(_is("resume_complete"))
    errors = [frame for frame in frames if "error" in frame]
    assert sorted(errors, key=lambda f: f["chat_id"]) == sorted(
        [
            {"error": "Chat not found", "chat_id": chat_id},
            {"error": "Chat not found", "chat_id": missing_id},
        ],
        key=lambda f: f["chat_id"],
    )
    assert await _stored_seqs(chat_id) == []


# --- Revocation: disable, password reset, log out everywhere --------------------------------

REVOKED_WITHIN_SECONDS = 1.0


async def _closes_within(socket: ChatSocket, seconds: float) -> int:
    started = asyncio.get_running_loop().time()
    code = await socket.close_code(timeout=seconds + 1)
    assert asyncio.get_running_loop().time() - started <= seconds
    return code


async def test_log_out_everywhere_closes_every_open_socket_and_kills_the_token(translator, sockets):
    ana = await _user("es")
    first, second = await sockets.open(ana), await sockets.open(ana)
    await first.ping()
    token = user_token(ana)

    response = await AsyncClient().post(
        "/api/auth/logout_all", headers={"Authorization": f"Bearer {token}"}
    )
    assert (response.status_code, response.json()) == (200, {"logged_out": True})

    assert await _closes_within(first, REVOKED_WITHIN_SECONDS) == 1008
    assert await _closes_within(second, REVOKED_WITHIN_SECONDS) == 1008
    me = await AsyncClient().get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    again, _, _ = await sockets.attempt(f"?token={token}")
    assert await again.close_code() == 1008


async def test_a_socket_opened_after_log_out_everywhere_stays_open(translator, sockets):
    from apps.accounts import actions as account_actions

    ana = await _user("es")
    ana = await account_actions.do_logout_all(user=ana)
    fresh = await sockets.open(ana)
    assert not await fresh.drain()
    await fresh.ping()


@pytest.mark.parametrize("revoke", ["disable", "password reset"])
async def test_disable_and_password_reset_close_open_sockets(translator, sockets, revoke):
    from apps.accounts import actions as account_actions

    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    ana_socket = await sockets.open(ana)
    bob_socket = await sockets.open(bob)
    await ana_socket.ping()

    if revoke == "disable":
        await account_actions.do_disable_user(user=ana)
    else:
        await account_actions.do_reset_password(user=ana, password="a new passphrase")

    assert await _closes_within(ana_socket, REVOKED_WITHIN_SECONDS) == 1008
    # Only that user's sockets.
    await _send_and_ack(bob_socket, chat_id, "still here", "r1")


async def test_a_revocation_the_socket_missed_still_closes_it_at_the_next_check(
    translator, sockets, settings
):
    from apps.accounts.models import User

    settings.SOCKET_RECHECK_SECONDS = 0.3
    ana = await _user("es")
    socket = await sockets.open(ana)
    await socket.ping()
    # The token version moves on with no broadcast at all (as if Redis had dropped it).
    await run_blocking(ana.update)(actions=[User.token_version.add(1)])
    assert await _closes_within(socket, 1.5) == 1008


async def test_a_ticket_issued_before_a_password_reset_opens_no_socket(translator, sockets):
    from apps.accounts import actions as account_actions

    ana = await _user("es")
    ticket = await _ticket(ana)
    await account_actions.do_reset_password(user=ana, password="a new passphrase")
    refused, _, _ = await sockets.attempt(f"?ticket={ticket}")
    assert await refused.close_code() == 4001


# --- Membership changes -----------------------------------------------------------------------


async def _group(owner, *others) -> str:
    created = await run_blocking(services.chat_group_create)(
        user=owner, title="Group", usernames=[other.username for other in others]
    )
    return created.membership.chat_id


async def _leave(user, chat_id) -> None:
    response = await AsyncClient().delete(
        f"/api/chats/{chat_id}/members/me", headers={"Authorization": f"Bearer {user_token(user)}"}
    )
    assert response.status_code == 200, response.content


async def test_after_leaving_a_group_resume_and_typing_are_refused_at_once(
    translator, sockets, monkeypatch
):
    from apps.realtime import chat_handlers

    monkeypatch.setattr(chat_handlers, "TYPING_MIN_INTERVAL_SECONDS", 0.0)
    ana = await _user("es")
    bob = await _user("en")
    cid = await _user("fr")
    chat_id = await _group(ana, bob, cid)
    ana_socket = await sockets.open(ana)
    cid_socket = await sockets.open(cid)
    # Cid's socket has used the chat (and so knows its members) before leaving.
    await cid_socket.send({"type": "resume", "chats": {chat_id: 0}})
    await cid_socket.until(_is("resume_complete"))
    await cid_socket.send({"type": "typing", "chat_id": chat_id})
    await ana_socket.until(_is("typing"))
    await ana_socket.send({"type": "typing", "chat_id": chat_id})
    await cid_socket.until(_is("typing"))

    await _leave(cid, chat_id)
    await _send_and_ack(ana_socket, chat_id, "after cid left", "l1")

    await cid_socket.send({"type": "resume", "chats": {chat_id: 0}})
    frames = await cid_socket.until(_is("resume_complete"))
    assert {"error": "Chat not found", "chat_id": chat_id} in frames
    assert not _messages(frames)
    assert frames[-1]["chats"] == {}

    await cid_socket.send({"type": "typing", "chat_id": chat_id})
    assert (await cid_socket.until(lambda f: "error" in f))[-1] == {
        "error": "Chat not found",
        "chat_id": chat_id,
    }
    await cid_socket.send({"type": "read", "chat_id": chat_id, "seq": 1})
    assert (await cid_socket.until(lambda f: "error" in f))[-1] == {
        "error": "Chat not found",
        "chat_id": chat_id,
    }
    # Nor do the others' typing frames reach the one who left.
    await ana_socket.send({"type": "typing", "chat_id": chat_id})
    # Ana's drain comes first: its ping is answered once her typing frame was broadcast.
    ana_frames = await ana_socket.drain()
    assert not [f for f in await cid_socket.drain() if f.get("type") in ("typing", "message")]
    assert not [f for f in ana_frames if f.get("type") == "typing" and f["user_id"] == cid.user_id]


# --- Per-user socket cap ------------------------------------------------------------------------


async def test_sockets_over_the_per_user_cap_are_closed_with_4029_until_one_closes(
    translator, sockets, settings
):
    settings.SOCKETS_PER_USER_MAX = 2
    ana = await _user("es")
    bob = await _user("en")
    first, second = await sockets.open(ana), await sockets.open(ana)

    third, _, _ = await sockets.attempt(f"?token={user_token(ana)}")
    frame = await third.frame()
    assert frame["code"] == "too_many_sockets" and "at most 2" in frame["error"]
    assert await third.close_code() == 4029
    # Another user is not affected.
    await (await sockets.open(bob)).ping()

    await first.close()
    fourth = await sockets.open(ana)
    await fourth.ping()
    await second.ping()


async def test_a_place_nobody_renews_is_given_up(translator, sockets, settings):
    """An instance that died never releases its sockets' places; they lapse."""
    from apps.core.keyvalue import keyvalue_store

    settings.SOCKETS_PER_USER_MAX = 1
    settings.SOCKET_RECHECK_SECONDS = 0.2
    ana = await _user("es")
    await keyvalue_store().lease_acquire(
        f"wsocks:{ana.user_id}", "dead-instance-channel", limit=1, ttl_seconds=0.5
    )
    refused, _, _ = await sockets.attempt(f"?token={user_token(ana)}")
    assert await refused.close_code() == 4029
    await asyncio.sleep(0.6)
    socket = await sockets.open(ana)
    # Its own place is renewed while it is open.
    await asyncio.sleep(1.0)
    await socket.ping()
    refused, _, _ = await sockets.attempt(f"?token={user_token(ana)}")
    assert await refused.close_code() == 4029


# --- Resume cost --------------------------------------------------------------------------------


async def test_resumes_are_rate_limited_per_user(translator, sockets, settings):
    settings.SOCKET_RESUME_RATE_LIMIT_COUNT = 2
    ana = await _user("es")
    bob = await _user("en")
    chat_id = await _direct_chat(bob, ana)
    first, second = await sockets.open(ana), await sockets.open(ana)
    for socket in (first, second):
        await socket.send({"type": "resume", "chats": {chat_id: 0}})
        await socket.until(_is("resume_complete"))
    await first.send({"type": "resume", "chats": {chat_id: 0}})
    refused = await first.frame()
    assert refused["error"].startswith("too many resumes") and refused["retry_after"] >= 1
    await first.ping()


async def test_a_resume_of_200_chats_reads_only_the_chats_with_missed_messages(translator, sockets):
    from apps.chats.models import Message

    ana = await _user("es")
    bob = await _user("en")
    cid = await _user("fr")
    chat_ids = [await _group(bob, ana, cid) for _ in range(RESUME_CHATS)]
    bob_socket = await sockets.open(bob)
    await _send_and_ack(bob_socket, chat_ids[0], "missed", "m1")

    queries = []
    original_query = Message.query.__func__

    def counting_query(cls, *args, **kwargs):
        queries.append(args[0] if args else kwargs.get("hash_key"))
        return original_query(cls, *args, **kwargs)

    ana_socket = await sockets.open(ana)
    Message.query = classmethod(counting_query)
    try:
        started = asyncio.get_running_loop().time()
        await ana_socket.send({"type": "resume", "chats": {chat_id: 0 for chat_id in chat_ids}})
        frames = await ana_socket.until(_is("resume_complete"), timeout=30)
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        Message.query = classmethod(original_query)
    assert [f["message"]["text"] for f in _messages(frames)] == ["[es] missed"]
    assert frames[-1]["chats"] == {
        chat_id: (1 if chat_id == chat_ids[0] else 0) for chat_id in chat_ids
    }
    assert not [f for f in frames if "error" in f]
    assert queries == [chat_ids[0]]
    assert elapsed < 5, elapsed


RESUME_CHATS = 200

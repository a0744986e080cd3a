"""Languages a reader also reads (the profile's read_languages): a message written in one of
them reaches that reader as written, everywhere it is shown (presenters.message_text_for),
and no provider request is made for a language whose readers all read the source
(presenters.languages_to_translate). The chat keeps its members' read languages
(Chat.member_read_languages) so a send reads nothing more than the chat's copy."""

from __future__ import annotations

import asyncio

import pytest
from django.test import AsyncClient
from pynamodb.connection.base import Connection
from pynamodb.exceptions import UpdateError, VerboseClientError

from apps.accounts import actions as account_actions
from apps.chats import actions, events
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.models import Chat, Message
from apps.chats.owed_translations import owed_retry_delay, owed_translation_get
from apps.chats.presenters import member_read_languages
from apps.chats.selectors import (
    chat_get,
    chat_membership_get,
    map_as_dict,
    message_get,
    message_history,
)
from apps.core.concurrency import run_blocking
from tests.support.accounts import user_create, user_token
from tests.support.fake_openai import target_language
from tests.support.loops import owed_translation_retries_cancel

# py3langid reads it as Spanish, whoever writes it.
SPANISH = "¿Vamos a cenar juntos mañana por la noche en el restaurante de siempre?"
SPANISH_TOO = "Perfecto, entonces nos vemos allí a las nueve de la noche, amigos."


@pytest.fixture(autouse=True)
async def _no_owed_retries_left():
    yield
    await owed_translation_retries_cancel()


async def _user(language="en", *, reads=()):
    user = await run_blocking(user_create)(language=language)
    if reads:
        user = await _reads(user, list(reads))
    return user


async def _amy_and_eva_in_a_chat(sockets):
    """Amy (English) and Eva (Spanish) in a 1:1 chat Eva made, Amy's socket open."""
    amy = await _user("en")
    eva = await _user("es")
    chat_id = (
        await actions.do_create_direct_chat(user=eva, other_username=amy.username)
    ).membership.chat_id
    return amy, eva, chat_id, await sockets.open(amy)


async def _reads(user, codes):
    update = await account_actions.do_update_profile(
        user=user, changes={"read_languages": list(codes)}
    )
    return update.user


async def _group(owner, *others) -> str:
    created = await actions.do_create_group_chat(
        user=owner, title="Team", usernames=[other.username for other in others]
    )
    return created.membership.chat_id


async def _stored(chat_id) -> list[Message]:
    page = await run_blocking(message_history)(chat_id=chat_id, limit=200, before_seq=None)
    return sorted(page.messages, key=lambda message: int(message.seq))


def _of(frames, kind, message_id):
    return [
        frame
        for frame in frames
        if frame.get("type") == kind
        and message_id in (frame.get("message_id"), frame.get("message", {}).get("message_id"))
    ]


async def _preview(user, chat_id) -> str | None:
    row = await run_blocking(chat_membership_get)(user_id=user.user_id, chat_id=chat_id)
    return row.last_message_preview


async def _history(user, chat_id) -> list[dict]:
    """What GET /api/chats/{id}/messages shows the user, newest first."""
    response = await AsyncClient().get(
        f"/api/chats/{chat_id}/messages", headers={"Authorization": f"Bearer {user_token(user)}"}
    )
    assert response.status_code == 200
    return response.json()["messages"]


async def test_a_reader_who_reads_spanish_gets_it_as_written_and_an_english_reader_the_translation(
    translator, sockets
):
    # Slow enough for partial translations to go out to the readers of the translation.
    translator.token_delay_seconds = 0.03
    amy = await _user("en", reads=["es"])
    bob = await _user("en")
    eva = await _user("es")
    chat_id = await _group(eva, amy, bob)
    amy_socket, bob_socket = await sockets.open(amy), await sockets.open(bob)

    sent = await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH)
    message_id = sent.message["message_id"]

    bob_frames = await bob_socket.until(lambda f: f.get("type") == "message", timeout=10)
    amy_frames = await amy_socket.until(lambda f: f.get("type") == "message", timeout=10)
    to_bob = bob_frames[-1]["message"]
    to_amy = amy_frames[-1]["message"]
    assert to_bob["text"] == f"[en] {SPANISH}"
    assert to_bob["language"] == "en" and to_bob["translated"] is True
    assert "translation_skipped" not in to_bob
    assert to_amy["text"] == SPANISH
    assert to_amy["language"] == "es" and to_amy["translated"] is True
    assert to_amy["translation_skipped"] == "reader_reads_language"
    # The translation was streamed to Bob, never to Amy.
    assert _of(bob_frames, "translation_partial", message_id)
    assert _of(amy_frames, "translation_partial", message_id) == []
    # One request, for Bob's English.
    assert [target_language(body) for body in translator.received()] == ["en"]
    # Inbox previews and history follow the same rule.
    assert await _preview(amy, chat_id) == SPANISH
    assert await _preview(bob, chat_id) == f"[en] {SPANISH}"
    (amy_row,) = await _history(amy, chat_id)
    assert (amy_row["text"], amy_row["translation_skipped"]) == (SPANISH, "reader_reads_language")
    (bob_row,) = await _history(bob, chat_id)
    assert bob_row["text"] == f"[en] {SPANISH}"


async def test_no_request_is_made_for_a_language_whose_readers_all_read_the_source(
    translator, sockets
):
    amy = await _user("en", reads=["es"])
    joe = await _user("en", reads=["fr", "es"])
    eva = await _user("es")
    chat_id = await _group(eva, amy, joe)
    amy_socket = await sockets.open(amy)

    await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH)

    to_amy = (await amy_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert to_amy["message"]["text"] == SPANISH
    assert to_amy["message"]["translated"] is True
    assert translator.received() == []
    (stored,) = await _stored(chat_id)
    assert map_as_dict(stored.translations) == {}
    assert stored.pending_languages in (None, set())
    # Nothing owed either: no reader lacks a translation.
    assert await run_blocking(owed_translation_get)(chat_id=chat_id, seq=1) is None
    # Amy's English is still translated into for what Amy reads only through it.
    await actions.do_send_message(user=amy, chat_id=chat_id, text="See you tomorrow at nine")
    assert [target_language(body) for body in translator.received()] == ["es"]


async def test_a_profile_change_takes_effect_for_the_next_message(translator, sockets):
    amy, eva, chat_id, amy_socket = await _amy_and_eva_in_a_chat(sockets)

    await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH)
    first = (await amy_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert first["message"]["text"] == f"[en] {SPANISH}"
    assert len(translator.received()) == 1

    amy = await _reads(amy, ["es"])
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert member_read_languages(chat) == {amy.user_id: ["es"]}
    await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH_TOO)

    second = (await amy_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert second["message"]["text"] == SPANISH_TOO
    assert second["message"]["translation_skipped"] == "reader_reads_language"
    assert len(translator.received()) == 1  # none for the second
    assert await _preview(amy, chat_id) == SPANISH_TOO
    # The earlier message reads as written now too (the rule is applied when shown).
    assert [row["text"] for row in await _history(amy, chat_id)] == [SPANISH_TOO, SPANISH]

    amy = await _reads(amy, [])
    await actions.do_send_message(user=eva, chat_id=chat_id, text="Hasta mañana, que descanses")
    third = (await amy_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert third["message"]["text"] == "[en] Hasta mañana, que descanses"
    assert len(translator.received()) == 2


async def test_a_send_from_a_copy_of_the_chat_older_than_the_profile_change_follows_it(
    translator, sockets
):
    """Another process's copy of the chat (chat_snapshots.py) does not know of the change;
    its commit is refused by the raised roster_version and the message reaches the reader
    as the chat now says."""
    amy, eva, chat_id, amy_socket = await _amy_and_eva_in_a_chat(sockets)
    await actions.do_send_message(user=eva, chat_id=chat_id, text="Hola")
    stale = chat_snapshots.get(chat_id)
    assert stale is not None

    amy = await _reads(amy, ["es"])
    chat_snapshots.put(stale)
    await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH)

    frames = await amy_socket.until(
        lambda f: f.get("type") == "message" and f["message"]["seq"] == 2, timeout=10
    )
    assert frames[-1]["message"]["text"] == SPANISH
    assert frames[-1]["message"]["translation_skipped"] == "reader_reads_language"
    assert await _preview(amy, chat_id) == SPANISH


async def test_a_member_who_joins_brings_the_languages_they_read(translator):
    eva, fio, gus = await _user("es"), await _user("es"), await _user("es")
    chat_id = await _group(eva, fio, gus)
    await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH)
    amy = await _user("en", reads=["es"])

    await actions.do_add_member(user=eva, chat_id=chat_id, username=amy.username)

    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert member_read_languages(chat) == {amy.user_id: ["es"]}
    # History from before she joined needs no translation for her.
    (row,) = await _history(amy, chat_id)
    assert row["text"] == SPANISH and row["translation_skipped"] == "reader_reads_language"
    await actions.do_send_message(user=fio, chat_id=chat_id, text=SPANISH_TOO)
    assert translator.received() == []
    assert await _preview(amy, chat_id) == SPANISH_TOO


async def test_a_translation_made_later_is_not_announced_to_a_reader_who_reads_the_original(
    translator, sockets
):
    amy = await _user("en", reads=["es"])
    bob = await _user("en")
    eva = await _user("es")
    chat_id = await _group(eva, amy, bob)
    translator.fail_status = 500
    await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH)
    await owed_translation_retries_cancel()
    translator.fail_status = None
    amy_socket = await sockets.open(amy)
    await asyncio.sleep(owed_retry_delay(1) + 0.05)  # the send's attempt's turn is over

    # Bob reads his history: his translation is made and announced.
    await actions.do_read_history(user=bob, chat_id=chat_id, limit=50, before_seq=None)
    assert await events.broadcasts_settle(timeout=5)

    assert map_as_dict((await run_blocking(message_get)(chat_id=chat_id, seq=1)).translations)
    assert [f for f in await amy_socket.collect(0.3) if f.get("type") == "message_updated"] == []
    assert await _preview(amy, chat_id) == SPANISH
    assert await _preview(bob, chat_id) == f"[en] {SPANISH}"


async def test_one_view_of_a_message_is_built_per_distinct_reading_not_per_reader(
    translator, monkeypatch
):
    eva = await _user("es")
    readers = [await _user("en") for _ in range(3)] + [
        await _user("en", reads=["es"]) for _ in range(2)
    ]
    chat_id = await _group(eva, *readers)
    built = []
    real_view = events.message_view

    def counting_view(**kwargs):
        built.append(kwargs["reader_id"])
        return real_view(**kwargs)

    monkeypatch.setattr(events, "message_view", counting_view)

    await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH)
    assert await events.broadcasts_settle(timeout=5)

    # Eva's own, the English translation's, and the original's for those who read Spanish.
    assert len(built) == 3


async def test_a_chat_item_from_before_read_languages_were_kept_takes_them_up():
    """Chats stored before Chat.member_read_languages have no map: a profile change, a
    newcomer and a leave all still work on them."""
    amy = await _user("en")
    bob = await _user("en")
    eva = await _user("es")
    cal = await _user("fr", reads=["es", "en"])
    chat_id = await _group(eva, amy, bob)
    await run_blocking(Chat(chat_id).update)(actions=[Chat.member_read_languages.remove()])
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert chat.attribute_values.get("member_read_languages") is None
    assert member_read_languages(chat) == {}

    # Someone who reads nothing else: nothing to record, and the update still succeeds.
    bob = (await account_actions.do_set_language(user=bob, language="de")).user
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert map_as_dict(chat.member_languages)[bob.user_id] == "de"

    update = await account_actions.do_update_profile(user=amy, changes={"read_languages": ["es"]})
    assert update.language_updates == 1
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert member_read_languages(chat) == {amy.user_id: ["es"]}

    await run_blocking(Chat(chat_id).update)(actions=[Chat.member_read_languages.remove()])
    dan = await _user("en")  # reads nothing else: nothing to record
    await actions.do_add_member(user=eva, chat_id=chat_id, username=dan.username)
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert dan.user_id in chat.member_ids
    assert chat.attribute_values.get("member_read_languages") is None
    await actions.do_add_member(user=eva, chat_id=chat_id, username=cal.username)
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert member_read_languages(chat) == {cal.user_id: ["en", "es"]}

    await actions.do_leave_chat(user=cal, chat_id=chat_id)
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert member_read_languages(chat) == {}
    await actions.do_leave_chat(user=bob, chat_id=chat_id)  # not listed: nothing to remove
    assert bob.user_id not in (await run_blocking(chat_get)(chat_id=chat_id)).member_ids


async def test_new_chats_record_what_their_members_read():
    amy = await _user("en", reads=["es"])
    eva = await _user("es")
    joe = await _user("fr", reads=["en"])

    direct = await actions.do_create_direct_chat(user=eva, other_username=amy.username)
    group_id = await _group(eva, amy, joe)

    direct_chat = await run_blocking(chat_get)(chat_id=direct.membership.chat_id)
    assert member_read_languages(direct_chat) == {amy.user_id: ["es"]}
    group = await run_blocking(chat_get)(chat_id=group_id)
    assert member_read_languages(group) == {amy.user_id: ["es"], joe.user_id: ["en"]}
    # A change of name is no change of languages: no chat is touched.
    update = await account_actions.do_update_profile(user=joe, changes={"first_name": "Jo"})
    assert update.language_updates == 0
    assert (await run_blocking(chat_get)(chat_id=group_id)).roster_version is None


async def test_deleting_an_account_removes_what_it_read_from_its_chats():
    amy = await _user("en", reads=["es"])
    eva, fio = await _user("es"), await _user("es")
    chat_id = await _group(eva, amy, fio)

    await actions.do_delete_user(user=amy)

    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert member_read_languages(chat) == {}


async def test_a_profile_change_meeting_a_message_in_flight_is_still_recorded(monkeypatch):
    """Real DynamoDB refuses an UpdateItem on an item a transaction holds
    (TransactionConflictException; moto never does): the chat is tried again, not skipped."""
    amy = await _user("en")
    eva = await _user("es")
    chat_id = (
        await actions.do_create_direct_chat(user=eva, other_username=amy.username)
    ).membership.chat_id
    original = Connection.update_item
    refused = []

    def update_item(self, table_name, *args, **kwargs):
        if table_name == Chat.Meta.table_name and not refused:
            refused.append(table_name)
            cause = VerboseClientError(
                {"Error": {"Code": "TransactionConflictException", "Message": "in a transaction"}},
                "UpdateItem",
            )
            raise UpdateError("Failed to update item", cause)
        return original(self, table_name, *args, **kwargs)

    monkeypatch.setattr(Connection, "update_item", update_item)

    update = await account_actions.do_update_profile(user=amy, changes={"read_languages": ["es"]})

    assert refused and update.language_updates == 1
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert member_read_languages(chat) == {amy.user_id: ["es"]}

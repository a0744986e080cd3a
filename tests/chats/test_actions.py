"""apps/chats/actions.py: who receives which frame after each use case, read from a recording
channel layer (tests/support/channel_layers.py) instead of sockets."""

from __future__ import annotations

import asyncio

import pytest

from apps.accounts import actions as account_actions
from apps.accounts.events import SESSION_REVOKED_HANDLER
from apps.chats import actions, events
from apps.chats.owed_translations import (
    owed_retry_delay,
    owed_translation_claim,
    owed_translation_get,
    owed_translation_key,
)
from apps.chats.selectors import chat_get, map_as_dict, message_get
from apps.core.concurrency import run_blocking
from apps.core.errors import Forbidden, NotFound
from tests.support.accounts import user_create
from tests.support.channel_layers import recording_channel_layer
from tests.support.loops import owed_translation_retries_cancel


@pytest.fixture
async def layer():
    with recording_channel_layer() as recording:
        yield recording
        await owed_translation_retries_cancel()


async def _user(language="en", username=None):
    return await run_blocking(user_create)(language=language, username=username)


async def _stored_broadcasts() -> None:
    """`message` and `message_updated` go out from the broadcaster's own task."""
    assert await events.broadcasts_settle(timeout=5)


# --- Chats and members -------------------------------------------------------------------------


async def test_a_new_direct_chat_reaches_both_people_each_with_their_own_summary(layer):
    ana = await _user("es")
    bob = await _user("en")

    created = await actions.do_create_direct_chat(user=ana, other_username=bob.username)

    assert created.created is True
    assert sorted(layer.receivers("chat_created")) == sorted([ana.user_id, bob.user_id])
    (to_ana,) = layer.frames_to(ana.user_id, "chat_created")
    (to_bob,) = layer.frames_to(bob.user_id, "chat_created")
    assert to_ana["chat"]["other_username"] == bob.username
    assert to_bob["chat"]["other_username"] == ana.username
    assert to_ana["chat"]["chat_id"] == to_bob["chat"]["chat_id"] == created.membership.chat_id


async def test_opening_an_existing_direct_chat_tells_nobody(layer):
    ana = await _user()
    bob = await _user()
    await actions.do_create_direct_chat(user=ana, other_username=bob.username)
    layer.group_sends.clear()

    again = await actions.do_create_direct_chat(user=bob, other_username=ana.username)

    assert again.created is False
    assert layer.chat_frames() == []


async def test_a_new_group_reaches_every_member(layer):
    amy, eva, joe = await _user(), await _user("es"), await _user("fr")

    created = await actions.do_create_group_chat(
        user=amy, title="Team", usernames=[eva.username, joe.username]
    )

    assert sorted(layer.receivers("chat_created")) == sorted(
        [amy.user_id, eva.user_id, joe.user_id]
    )
    for frame in layer.chat_frames():
        assert frame["chat"]["chat_id"] == created.membership.chat_id
        assert frame["chat"]["title"] == "Team"


async def test_a_refused_chat_creation_sends_nothing(layer):
    amy = await _user()

    with pytest.raises(NotFound):
        await actions.do_create_direct_chat(user=amy, other_username="nobody_here")

    assert layer.chat_frames() == []


async def test_adding_a_member_tells_the_others_and_gives_the_newcomer_the_chat(layer):
    amy, eva, joe, kim = await _user(), await _user(), await _user(), await _user()
    created = await actions.do_create_group_chat(
        user=amy, title="Team", usernames=[eva.username, joe.username]
    )
    chat_id = created.membership.chat_id
    layer.group_sends.clear()

    newcomer = await actions.do_add_member(user=amy, chat_id=chat_id, username=kim.username)

    assert newcomer.user_id == kim.user_id
    assert sorted(layer.receivers("member_added")) == sorted(
        [amy.user_id, eva.user_id, joe.user_id]
    )
    (added,) = layer.frames_to(eva.user_id, "member_added")
    assert added == {
        "type": "member_added",
        "chat_id": chat_id,
        "user_id": kim.user_id,
        "username": kim.username,
    }
    assert layer.receivers("chat_created") == [kim.user_id]
    assert layer.frames_to(kim.user_id, "chat_created")[0]["chat"]["chat_id"] == chat_id


async def test_leaving_tells_every_member_the_leaver_included(layer):
    amy, eva, joe = await _user(), await _user(), await _user()
    created = await actions.do_create_group_chat(
        user=amy, title="Team", usernames=[eva.username, joe.username]
    )
    chat_id = created.membership.chat_id
    layer.group_sends.clear()

    await actions.do_leave_chat(user=joe, chat_id=chat_id)

    assert sorted(layer.receivers("member_left")) == sorted([amy.user_id, eva.user_id, joe.user_id])
    assert layer.frames_to(amy.user_id, "member_left") == [
        {"type": "member_left", "chat_id": chat_id, "user_id": joe.user_id}
    ]
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert joe.user_id not in chat.member_ids


# --- Read marks and typing -----------------------------------------------------------------------


async def _direct_with_a_message(ana, bob) -> str:
    created = await actions.do_create_direct_chat(user=ana, other_username=bob.username)
    chat_id = created.membership.chat_id
    await actions.do_send_message(user=ana, chat_id=chat_id, text="hello")
    await _stored_broadcasts()
    return chat_id


async def test_a_read_mark_reaches_every_member(layer):
    ana, bob = await _user(), await _user()
    chat_id = await _direct_with_a_message(ana, bob)
    layer.group_sends.clear()

    membership = await actions.do_mark_read(user=bob, chat_id=chat_id, seq=1)

    assert int(membership.last_read_seq) == 1
    assert sorted(layer.receivers("read")) == sorted([ana.user_id, bob.user_id])
    assert layer.frames_to(ana.user_id, "read") == [
        {"type": "read", "chat_id": chat_id, "user_id": bob.user_id, "seq": 1}
    ]


async def test_a_read_mark_goes_to_whoever_the_callers_lookup_names(layer):
    ana, bob = await _user(), await _user()
    chat_id = await _direct_with_a_message(ana, bob)
    layer.group_sends.clear()
    asked = []

    async def members(wanted_chat_id):
        asked.append(wanted_chat_id)
        return [bob.user_id]

    await actions.do_mark_read(user=bob, chat_id=chat_id, seq=1, members=members)

    assert asked == [chat_id]
    assert layer.receivers("read") == [bob.user_id]


async def test_a_read_mark_in_a_chat_one_is_not_in_is_refused_and_sends_nothing(layer):
    ana, bob, eve = await _user(), await _user(), await _user()
    chat_id = await _direct_with_a_message(ana, bob)
    layer.group_sends.clear()

    with pytest.raises(NotFound):
        await actions.do_mark_read(user=eve, chat_id=chat_id, seq=1)

    assert layer.chat_frames() == []


async def test_a_mute_reaches_the_members_own_sockets_only(layer):
    ana, bob = await _user("es"), await _user("en")
    created = await actions.do_create_direct_chat(user=ana, other_username=bob.username)
    chat_id = created.membership.chat_id
    layer.group_sends.clear()

    assert await actions.do_set_chat_muted(user=bob, chat_id=chat_id, muted=True) is True

    assert layer.receivers("chat_muted") == [bob.user_id]
    assert layer.frames_to(bob.user_id, "chat_muted") == [
        {"type": "chat_muted", "chat_id": chat_id, "muted": True}
    ]


async def test_a_mute_by_someone_not_in_the_chat_is_refused_and_sends_nothing(layer):
    ana, bob, eve = await _user(), await _user(), await _user()
    created = await actions.do_create_direct_chat(user=ana, other_username=bob.username)
    layer.group_sends.clear()

    with pytest.raises(NotFound):
        await actions.do_set_chat_muted(user=eve, chat_id=created.membership.chat_id, muted=True)
    assert layer.chat_frames() == []


async def test_typing_reaches_the_other_members_only(layer):
    amy, eva, joe = await _user(), await _user(), await _user()
    created = await actions.do_create_group_chat(
        user=amy, title="Team", usernames=[eva.username, joe.username]
    )
    chat_id = created.membership.chat_id
    layer.group_sends.clear()

    await actions.do_send_typing(user=eva, chat_id=chat_id)

    assert sorted(layer.receivers("typing")) == sorted([amy.user_id, joe.user_id])
    assert layer.frames_to(amy.user_id, "typing") == [
        {"type": "typing", "chat_id": chat_id, "user_id": eva.user_id}
    ]


async def test_typing_in_a_chat_one_is_not_in_is_forbidden_and_sends_nothing(layer):
    ana, bob, eve = await _user(), await _user(), await _user()
    created = await actions.do_create_direct_chat(user=ana, other_username=bob.username)
    layer.group_sends.clear()

    with pytest.raises(Forbidden):
        await actions.do_send_typing(user=eve, chat_id=created.membership.chat_id)

    assert layer.chat_frames() == []


# --- Messages ----------------------------------------------------------------------------------


async def test_a_message_reaches_every_member_in_their_own_language(layer, translator):
    amy, eva, joe = await _user("en"), await _user("es"), await _user("fr")
    created = await actions.do_create_group_chat(
        user=amy, title="Team", usernames=[eva.username, joe.username]
    )
    chat_id = created.membership.chat_id
    layer.group_sends.clear()

    outcome = await actions.do_send_message(
        user=amy, chat_id=chat_id, text="Hello", client_msg_id="a-1"
    )
    await _stored_broadcasts()

    assert outcome.duplicate is False
    assert sorted(layer.receivers("message")) == sorted([amy.user_id, eva.user_id, joe.user_id])
    texts = {
        user.user_id: layer.frames_to(user.user_id, "message")[0]["message"]["text"]
        for user in (amy, eva, joe)
    }
    assert texts == {amy.user_id: "Hello", eva.user_id: "[es] Hello", joe.user_id: "[fr] Hello"}
    for frame in layer.frames_to(eva.user_id, "message"):
        assert frame["message"]["message_id"] == outcome.message["message_id"]


async def test_a_slow_translation_is_announced_to_the_readers_not_the_sender(layer, translator):
    translator.delay_seconds = 0.3
    ana, bob = await _user("en"), await _user("es")
    created = await actions.do_create_direct_chat(user=ana, other_username=bob.username)
    layer.group_sends.clear()

    outcome = await actions.do_send_message(
        user=ana, chat_id=created.membership.chat_id, text="Take your time"
    )
    await _stored_broadcasts()

    assert layer.receivers("message_started") == [bob.user_id]
    (started,) = layer.frames_to(bob.user_id, "message_started")
    assert started["message_id"] == outcome.message["message_id"]
    assert started["original_text"] == "Take your time"
    kinds = [frame["type"] for frame in layer.frames_to(bob.user_id)]
    assert kinds[0] == "message_started" and kinds[-1] == "message", kinds


async def test_a_resend_is_answered_from_storage_and_broadcast_again_at_most_once_a_while(layer):
    ana, bob = await _user(), await _user()
    created = await actions.do_create_direct_chat(user=ana, other_username=bob.username)
    chat_id = created.membership.chat_id
    first = await actions.do_send_message(user=ana, chat_id=chat_id, text="hi", client_msg_id="r")
    await _stored_broadcasts()
    layer.group_sends.clear()

    again = await actions.do_send_message(user=ana, chat_id=chat_id, text="hi", client_msg_id="r")
    once_more = await actions.do_send_message(
        user=ana, chat_id=chat_id, text="hi", client_msg_id="r"
    )
    await _stored_broadcasts()

    assert again.duplicate is True and once_more.duplicate is True
    assert again.message["message_id"] == first.message["message_id"]
    # The first resend broadcasts the stored message again; the next, moments later, does not.
    assert sorted(layer.receivers("message")) == sorted([ana.user_id, bob.user_id])


async def test_a_message_from_someone_not_in_the_chat_is_refused_and_sends_nothing(layer):
    ana, bob, eve = await _user(), await _user(), await _user()
    created = await actions.do_create_direct_chat(user=ana, other_username=bob.username)
    layer.group_sends.clear()

    with pytest.raises(NotFound):
        await actions.do_send_message(user=eve, chat_id=created.membership.chat_id, text="hi")
    await _stored_broadcasts()

    assert layer.chat_frames() == []


# --- Translations made later ------------------------------------------------------------------


async def test_a_translation_made_for_a_reader_is_stored_and_reaches_the_readers_of_it(
    layer, translator
):
    amy, bob, joe = await _user("en"), await _user("en"), await _user("en")
    created = await actions.do_create_group_chat(
        user=amy, title="Team", usernames=[bob.username, joe.username]
    )
    chat_id = created.membership.chat_id
    sent = await actions.do_send_message(user=amy, chat_id=chat_id, text="Good morning")
    await _stored_broadcasts()
    await account_actions.do_set_language(user=bob, language="fr")
    message = await run_blocking(message_get)(chat_id=chat_id, seq=int(sent.message["seq"]))
    layer.group_sends.clear()

    (translated,) = await actions.do_translate_messages(messages=[message], language="fr")
    await _stored_broadcasts()

    assert map_as_dict(translated.translations) == {"fr": "[fr] Good morning"}
    stored = await run_blocking(message_get)(chat_id=chat_id, seq=int(sent.message["seq"]))
    assert map_as_dict(stored.translations) == {"fr": "[fr] Good morning"}
    assert layer.receivers("message_updated") == [bob.user_id]
    (updated,) = layer.frames_to(bob.user_id, "message_updated")
    assert updated["message"]["text"] == "[fr] Good morning"


async def test_an_attempt_at_what_a_message_owes_stores_it_and_tells_its_readers(layer, translator):
    amy, eva, fio = await _user("en"), await _user("es"), await _user("fr")
    created = await actions.do_create_group_chat(
        user=amy, title="Team", usernames=[eva.username, fio.username]
    )
    chat_id = created.membership.chat_id
    translator.fail_status = 500
    sent = await actions.do_send_message(user=amy, chat_id=chat_id, text="Owed")
    await owed_translation_retries_cancel()  # the attempt below is the only one
    await _stored_broadcasts()
    translator.fail_status = None
    await asyncio.sleep(owed_retry_delay(1) + 0.05)
    seq = int(sent.message["seq"])
    shard, message_key = owed_translation_key(chat_id=chat_id, seq=seq)
    record = await run_blocking(owed_translation_claim)(shard=shard, message_key=message_key)
    layer.group_sends.clear()

    due = await actions.do_make_owed_translations(record=record)
    await _stored_broadcasts()

    assert due is None
    assert await run_blocking(owed_translation_get)(chat_id=chat_id, seq=seq) is None
    stored = await run_blocking(message_get)(chat_id=chat_id, seq=seq)
    assert map_as_dict(stored.translations) == {"es": "[es] Owed", "fr": "[fr] Owed"}
    assert sorted(layer.receivers("message_updated")) == sorted([eva.user_id, fio.user_id])
    assert [f["message"]["text"] for f in layer.frames_to(fio.user_id)] == ["[fr] Owed"]


# --- Accounts ----------------------------------------------------------------------------------


async def test_deleting_a_user_closes_their_sockets_and_sends_no_chat_frame(layer):
    ana, bob = await _user(), await _user()
    chat_id = await _direct_with_a_message(ana, bob)
    layer.group_sends.clear()
    version_before = int(ana.token_version)

    deleted = await actions.do_delete_user(user=ana)

    assert (deleted.user_id, deleted.chats_left) == (ana.user_id, 1)
    assert layer.chat_frames() == []
    (revoked,) = layer.events_to(ana.user_id, SESSION_REVOKED_HANDLER)
    assert revoked["token_version"] == deleted.token_version > version_before
    assert layer.events_to(bob.user_id, SESSION_REVOKED_HANDLER) == []
    assert await run_blocking(chat_get)(chat_id=chat_id) is not None  # Bob is still in it


async def test_a_deletion_whose_presence_cannot_be_forgotten_still_succeeds(
    layer, monkeypatch, caplog
):
    ana, bob = await _user(), await _user()
    await _direct_with_a_message(ana, bob)

    async def redis_down(*, user_id):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(actions, "presence_forget", redis_down)
    deleted = await actions.do_delete_user(user=ana)

    assert deleted.user_id == ana.user_id
    assert "forgetting the presence of deleted user" in caplog.text
    (revoked,) = layer.events_to(ana.user_id, SESSION_REVOKED_HANDLER)
    assert revoked["token_version"] == deleted.token_version

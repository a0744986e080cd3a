"""apps/chats/message_changes.py through its actions (`do_edit_message`, `do_delete_message`):
what is stored, who gets which frame in which language, the inbox previews, what is owed,
and who may do what. Real DynamoDB (moto server), real Redis, a recording channel layer and
the loopback translator ("T" -> "[<lang>] T")."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from apps.chats import actions, events, services
from apps.chats.message_changes import DELETED_PREVIEW
from apps.chats.models import MessageKind
from apps.chats.owed_translations import (
    owed_retry_delay,
    owed_translation_claim,
    owed_translation_get,
    owed_translation_key,
)
from apps.chats.presenters import message_view
from apps.chats.selectors import chat_get, chat_membership_get, map_as_dict, message_get
from apps.core.concurrency import run_blocking
from apps.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from tests.support.accounts import user_create
from tests.support.channel_layers import recording_channel_layer
from tests.support.loops import owed_translation_retries_cancel


@pytest.fixture
async def layer():
    with recording_channel_layer() as recording:
        yield recording
        await owed_translation_retries_cancel()


async def _user(language="en"):
    return await run_blocking(user_create)(language=language)


async def _settled() -> None:
    assert await events.broadcasts_settle(timeout=5)


async def _group(owner, *others) -> str:
    """A group of three or more; with one other person, their direct chat."""
    if len(others) == 1:
        direct = await actions.do_create_direct_chat(user=owner, other_username=others[0].username)
        return direct.membership.chat_id
    created = await actions.do_create_group_chat(
        user=owner, title="Team", usernames=[other.username for other in others]
    )
    return created.membership.chat_id


async def _sent(user, chat_id, text) -> int:
    outcome = await actions.do_send_message(user=user, chat_id=chat_id, text=text)
    await _settled()
    return int(outcome.message["seq"])


async def _stored(chat_id, seq):
    return await run_blocking(message_get)(chat_id=chat_id, seq=seq)


async def _preview(user, chat_id):
    row = await run_blocking(chat_membership_get)(user_id=user.user_id, chat_id=chat_id)
    return row.last_message_preview


# --- Edit ---------------------------------------------------------------------------------------


async def test_an_edit_is_retranslated_stored_once_and_reaches_every_member_in_their_language(
    layer, translator
):
    amy, eva, joe = await _user("en"), await _user("es"), await _user("fr")
    chat_id = await _group(amy, eva, joe)
    seq = await _sent(amy, chat_id, "Hello")
    layer.group_sends.clear()

    view = await actions.do_edit_message(user=amy, chat_id=chat_id, seq=seq, text="Hello again")
    await _settled()

    stored = await _stored(chat_id, seq)
    assert stored.original_text == "Hello again"
    assert map_as_dict(stored.translations) == {"es": "[es] Hello again", "fr": "[fr] Hello again"}
    assert stored.edited_at is not None and stored.deleted_at is None
    assert view["text"] == "Hello again" and view["edited_at"] == stored.edited_at.isoformat()
    texts = {
        user.user_id: layer.frames_to(user.user_id, "message_edited")[0]["message"]["text"]
        for user in (amy, eva, joe)
    }
    assert texts == {
        amy.user_id: "Hello again",
        eva.user_id: "[es] Hello again",
        joe.user_id: "[fr] Hello again",
    }
    for user in (amy, eva, joe):
        (frame,) = layer.frames_to(user.user_id, "message_edited")
        assert frame["chat_id"] == chat_id and frame["message"]["seq"] == seq
        assert frame["message"]["edited_at"] == stored.edited_at.isoformat()
    # It was the latest message: every inbox shows the edit, in its reader's language.
    assert await _preview(amy, chat_id) == "Hello again"
    assert await _preview(eva, chat_id) == "[es] Hello again"
    assert await _preview(joe, chat_id) == "[fr] Hello again"


async def test_an_edit_of_an_older_message_leaves_the_previews_of_the_latest(layer, translator):
    ana, bob = await _user("en"), await _user("es")
    chat_id = await _group(ana, bob)
    first = await _sent(ana, chat_id, "First")
    await _sent(bob, chat_id, "Segundo")

    await actions.do_edit_message(user=ana, chat_id=chat_id, seq=first, text="First, edited")

    assert await _preview(ana, chat_id) == "[en] Segundo"
    assert await _preview(bob, chat_id) == "Segundo"


async def test_an_edit_whose_translation_fails_is_owed_and_follows_as_message_updated(
    layer, translator
):
    amy, eva = await _user("en"), await _user("es")
    chat_id = await _group(amy, eva)
    seq = await _sent(amy, chat_id, "Before")
    translator.fail_status = 500
    layer.group_sends.clear()

    await actions.do_edit_message(user=amy, chat_id=chat_id, seq=seq, text="After")
    await owed_translation_retries_cancel()  # the attempt below is the only one
    await _settled()

    (edited,) = layer.frames_to(eva.user_id, "message_edited")
    assert edited["message"]["text"] == "After" and edited["message"]["translated"] is False
    stored = await _stored(chat_id, seq)
    # The old translation is not kept for the new text.
    assert map_as_dict(stored.translations) == {}
    assert set(stored.pending_languages) == {"es"}
    record = await run_blocking(owed_translation_get)(chat_id=chat_id, seq=seq)
    assert record is not None and set(record.languages) == {"es"}

    translator.fail_status = None
    await asyncio.sleep(owed_retry_delay(1) + 0.05)
    shard, message_key = owed_translation_key(chat_id=chat_id, seq=seq)
    claimed = await run_blocking(owed_translation_claim)(shard=shard, message_key=message_key)
    assert claimed is not None
    layer.group_sends.clear()
    await actions.do_make_owed_translations(record=claimed)
    await _settled()

    stored = await _stored(chat_id, seq)
    assert map_as_dict(stored.translations) == {"es": "[es] After"}
    (updated,) = layer.frames_to(eva.user_id, "message_updated")
    assert updated["message"]["text"] == "[es] After"
    assert await _preview(eva, chat_id) == "[es] After"


async def test_a_translation_of_the_text_before_an_edit_is_not_stored_over_the_edit(
    layer, translator
):
    amy, bob = await _user("en"), await _user("en")
    chat_id = await _group(amy, bob)
    seq = await _sent(amy, chat_id, "Old words")
    before_edit = await _stored(chat_id, seq)
    await actions.do_edit_message(user=amy, chat_id=chat_id, seq=seq, text="New words")

    # A reader who reads French asks for the message as read before the edit.
    await actions.do_translate_messages(messages=[before_edit], language="fr")

    stored = await _stored(chat_id, seq)
    assert "fr" not in map_as_dict(stored.translations)


async def test_only_the_sender_edits_a_text_message_inside_the_window(layer, translator, settings):
    ana, bob, eve = await _user(), await _user(), await _user()
    chat_id = await _group(ana, bob)
    seq = await _sent(ana, chat_id, "Mine")

    with pytest.raises(Forbidden):
        await actions.do_edit_message(user=bob, chat_id=chat_id, seq=seq, text="Yours?")
    with pytest.raises(NotFound):
        await actions.do_edit_message(user=eve, chat_id=chat_id, seq=seq, text="Not in it")
    with pytest.raises(NotFound):
        await actions.do_edit_message(user=ana, chat_id=chat_id, seq=seq + 5, text="Nothing")
    with pytest.raises(NotFound):
        await actions.do_edit_message(
            user=ana, chat_id=chat_id, seq=seq, text="Wrong id", message_id="not-this-one"
        )
    with pytest.raises(InvalidInput):
        await actions.do_edit_message(user=ana, chat_id=chat_id, seq=seq, text="   ")

    settings.MESSAGE_EDIT_WINDOW_SECONDS = 0
    await asyncio.sleep(0.01)
    with pytest.raises(Conflict):
        await actions.do_edit_message(user=ana, chat_id=chat_id, seq=seq, text="Too late")
    assert (await _stored(chat_id, seq)).original_text == "Mine"


async def test_a_spoken_turn_cannot_be_edited(layer):
    ana, bob = await _user(), await _user()
    chat_id = await _group(ana, bob)
    stored = await actions.do_store_message(draft=_voice_draft(chat_id, ana))

    with pytest.raises(InvalidInput):
        await actions.do_edit_message(
            user=ana, chat_id=chat_id, seq=int(stored.seq), text="Retyped"
        )


async def test_edits_and_deletes_are_rate_limited(layer, translator, settings):
    settings.MESSAGE_CHANGE_RATE_LIMIT_COUNT = 1
    ana, bob = await _user(), await _user()
    chat_id = await _group(ana, bob)
    seq = await _sent(ana, chat_id, "One")

    await actions.do_edit_message(user=ana, chat_id=chat_id, seq=seq, text="Two")
    with pytest.raises(RateLimited):
        await actions.do_delete_message(user=ana, chat_id=chat_id, seq=seq)


# --- Delete for everyone ------------------------------------------------------------------------


async def test_a_deleted_message_is_a_tombstone_every_member_hears_of(layer, translator):
    amy, eva = await _user("en"), await _user("es")
    chat_id = await _group(amy, eva)
    seq = await _sent(amy, chat_id, "Regrettable")
    layer.group_sends.clear()

    await actions.do_delete_message(user=amy, chat_id=chat_id, seq=seq)
    await _settled()

    stored = await _stored(chat_id, seq)
    assert stored.deleted_at is not None
    assert stored.original_text == "" and map_as_dict(stored.translations) == {}
    assert stored.seq == seq and stored.from_user_id == amy.user_id
    for user in (amy, eva):
        (frame,) = layer.frames_to(user.user_id, "message_deleted")
        assert frame == {
            "type": "message_deleted",
            "chat_id": chat_id,
            "message_id": stored.message_id,
            "seq": seq,
        }
        assert await _preview(user, chat_id) == DELETED_PREVIEW
    view = message_view(message=stored, language="es", reader_id=eva.user_id)
    assert view["deleted"] is True and view["text"] == "" and view["original_text"] == ""
    assert "translation_skipped" not in view

    with pytest.raises(Conflict):
        await actions.do_delete_message(user=amy, chat_id=chat_id, seq=seq)
    with pytest.raises(Conflict):
        await actions.do_edit_message(user=amy, chat_id=chat_id, seq=seq, text="Back")


async def test_a_groups_creator_deletes_anyones_message_other_members_only_their_own(layer):
    amy, bob, cat = await _user(), await _user(), await _user()
    chat_id = await _group(amy, bob, cat)
    bobs = await _sent(bob, chat_id, "by bob")
    cats = await _sent(cat, chat_id, "by cat")

    with pytest.raises(Forbidden):
        await actions.do_delete_message(user=bob, chat_id=chat_id, seq=cats)
    await actions.do_delete_message(user=amy, chat_id=chat_id, seq=bobs)

    assert (await _stored(chat_id, bobs)).deleted_at is not None
    assert (await _stored(chat_id, cats)).deleted_at is None


async def test_a_direct_chats_other_person_cannot_delete_ones_message(layer):
    ana, bob = await _user(), await _user()
    created = await actions.do_create_direct_chat(user=ana, other_username=bob.username)
    chat_id = created.membership.chat_id
    seq = await _sent(ana, chat_id, "mine")

    with pytest.raises(Forbidden):
        await actions.do_delete_message(user=bob, chat_id=chat_id, seq=seq)


async def test_deleting_a_message_that_owes_translations_drops_the_debt(layer, translator):
    amy, eva = await _user("en"), await _user("es")
    chat_id = await _group(amy, eva)
    # Stored lacking its Spanish translation (as after a provider failure), with no retries.
    draft = services.MessageDraft(
        chat_id=chat_id,
        message_id="owing",
        from_user_id=amy.user_id,
        original_text="Owed then gone",
        original_language="en",
        translations={},
        pending_languages=frozenset({"es"}),
        client_msg_id=None,
        created_at=datetime.now(UTC),
    )
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    committed = await run_blocking(services.message_commit)(draft=draft, chat=chat)
    seq = int(committed.message.seq)
    before_delete = await _stored(chat_id, seq)
    assert await run_blocking(owed_translation_get)(chat_id=chat_id, seq=seq) is not None

    await actions.do_delete_message(user=amy, chat_id=chat_id, seq=seq)
    # A reader's late translation of the text as it was must not bring it back.
    await actions.do_translate_messages(messages=[before_delete], language="es")

    assert await run_blocking(owed_translation_get)(chat_id=chat_id, seq=seq) is None
    stored = await _stored(chat_id, seq)
    assert stored.original_text == "" and map_as_dict(stored.translations) == {}


async def test_a_spoken_turn_is_deleted_with_its_transcript_and_references(layer):
    ana, bob = await _user(), await _user()
    chat_id = await _group(ana, bob)
    stored = await actions.do_store_message(draft=_voice_draft(chat_id, ana))

    await actions.do_delete_message(user=ana, chat_id=chat_id, seq=int(stored.seq))

    tombstone = await _stored(chat_id, int(stored.seq))
    assert tombstone.original_text == "" and tombstone.meta is None
    assert tombstone.kind == MessageKind.VOICE.value


def _voice_draft(chat_id, author) -> services.MessageDraft:
    return services.MessageDraft(
        chat_id=chat_id,
        message_id="turn-message",
        from_user_id=author.user_id,
        original_text="spoken words",
        original_language="en",
        translations={},
        pending_languages=frozenset(),
        client_msg_id=None,
        created_at=datetime.now(UTC),
        kind=MessageKind.VOICE,
        meta={"call_id": "call-1", "turn_id": "turn-1"},
    )

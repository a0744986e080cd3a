"""`PATCH` and `DELETE /api/chats/{id}/messages/{seq}` through Django's ASGI test client, with
the loopback translator ("T" -> "[<lang>] T")."""

from __future__ import annotations

import pytest

from apps.chats.translation import translation_clients_close
from tests.chats.test_views import (
    CHATS,
    delete,
    detail,
    get,
    history,
    inbox,
    ok,
    open_chat,
    patch,
    person,
    send,
)
from tests.support.loops import owed_translation_retries_cancel


@pytest.fixture(autouse=True)
async def _tidy_event_loop():
    yield
    await owed_translation_retries_cancel()
    await translation_clients_close()


async def test_editing_over_rest_shows_edited_in_history_and_inbox_in_each_language(
    async_client, translator
):
    ana, ana_token = await person("en")
    bob, bob_token = await person("es")
    chat_id = await open_chat(async_client, ana_token, bob)
    sent = (await send(async_client, ana_token, chat_id, "Good night"))["message"]
    path = f"{CHATS}/{chat_id}/messages/{sent['seq']}"

    reply = ok(await patch(async_client, path, {"text": "Good morning"}, ana_token))

    assert reply["chat_id"] == chat_id
    assert reply["message"]["text"] == "Good morning" and "edited_at" in reply["message"]
    (bobs,) = (await history(async_client, bob_token, chat_id))["messages"]
    assert bobs["text"] == "[es] Good morning"
    assert bobs["edited_at"] == reply["message"]["edited_at"]
    assert bobs["message_id"] == sent["message_id"] and bobs["seq"] == sent["seq"]
    (row,) = await inbox(async_client, bob_token)
    assert row["last_message_preview"] == "[es] Good morning"


async def test_edit_and_delete_refusals_over_rest(async_client, translator, settings):
    ana, ana_token = await person("en")
    bob, bob_token = await person("es")
    eve, eve_token = await person("en")
    chat_id = await open_chat(async_client, ana_token, bob)
    sent = (await send(async_client, ana_token, chat_id, "Hi"))["message"]
    path = f"{CHATS}/{chat_id}/messages/{sent['seq']}"

    detail(await patch(async_client, path, {"text": "x"}, bob_token), 403)
    detail(await delete(async_client, path, bob_token), 403)
    detail(await patch(async_client, path, {"text": "x"}, eve_token), 404)
    detail(await delete(async_client, path, eve_token), 404)
    detail(await delete(async_client, f"{CHATS}/{chat_id}/messages/99", ana_token), 404)
    detail(await patch(async_client, path, {"text": ""}, ana_token), 422)
    detail(await patch(async_client, path, {}, ana_token), 422)
    detail(await patch(async_client, path, {"text": "x"}), 401)

    settings.MESSAGE_EDIT_WINDOW_SECONDS = 0
    assert "no longer" in detail(await patch(async_client, path, {"text": "x"}, ana_token), 409)


async def test_deleting_over_rest_leaves_a_tombstone_in_history_and_the_inbox(
    async_client, translator
):
    ana, ana_token = await person("en")
    bob, bob_token = await person("es")
    chat_id = await open_chat(async_client, ana_token, bob)
    sent = (await send(async_client, ana_token, chat_id, "Oops"))["message"]
    path = f"{CHATS}/{chat_id}/messages/{sent['seq']}"

    reply = ok(await delete(async_client, path, ana_token))

    assert reply == {
        "chat_id": chat_id,
        "message_id": sent["message_id"],
        "seq": sent["seq"],
        "deleted": True,
    }
    (bobs,) = (await history(async_client, bob_token, chat_id))["messages"]
    assert bobs["deleted"] is True and bobs["text"] == "" and bobs["original_text"] == ""
    assert bobs["seq"] == sent["seq"]
    (row,) = await inbox(async_client, bob_token)
    assert row["last_message_preview"] == "Message deleted"
    # Nothing is left to read aloud.
    detail(await get(async_client, f"{path}/audio", bob_token), 404)
    assert "deleted" in detail(await delete(async_client, path, ana_token), 409)
    assert "deleted" in detail(await patch(async_client, path, {"text": "x"}, ana_token), 409)

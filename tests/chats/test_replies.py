"""Replies (apps/chats/replies.py, presenters.quoted_view): a message quotes another of the
same chat; each reader sees the quote in their own language from the stored translations
(never a provider call); history resolves a page's quotes with at most one BatchGetItem;
a quoted message deleted since shows as deleted. REST here; the socket in
tests/realtime/test_replies_delivery.py."""

from __future__ import annotations

import pytest

from apps.chats import actions, replies
from apps.chats.presenters import QUOTE_MAX_CHARS, quoted_view
from apps.chats.selectors import chat_get, message_get, message_range
from apps.chats.translation import translation_clients_close
from apps.core.concurrency import run_blocking
from apps.core.errors import InvalidInput
from tests.support.accounts import user_create, user_token
from tests.support.dynamo_calls import dynamo_calls
from tests.support.fake_openai import user_text
from tests.support.loops import owed_translation_retries_cancel

ENGLISH = "Shall we have dinner together tomorrow night at the usual place?"
SPANISH = "¡Claro que sí! Nos vemos allí a las nueve de la noche, amiga."


@pytest.fixture(autouse=True)
async def _tidy_event_loop():
    yield
    await owed_translation_retries_cancel()
    await translation_clients_close()


def _auth(user):
    return {"headers": {"Authorization": f"Bearer {user_token(user)}"}}


async def _post(client, path, body, user):
    return await client.post(path, body, content_type="application/json", **_auth(user))


async def _history(client, chat_id, user, **params):
    response = await client.get(f"/api/chats/{chat_id}/messages", params, **_auth(user))
    assert response.status_code == 200, response.content
    return {m["seq"]: m for m in response.json()["messages"]}


async def _amy_and_eva():
    """Amy (English) and Eva (Spanish) in a 1:1 chat."""
    amy = await run_blocking(user_create)(language="en")
    eva = await run_blocking(user_create)(language="es")
    chat_id = (
        await actions.do_create_direct_chat(user=amy, other_username=eva.username)
    ).membership.chat_id
    return amy, eva, chat_id


async def test_a_reply_quotes_the_original_in_each_readers_language_without_a_provider_call(
    async_client, translator
):
    amy, eva, chat_id = await _amy_and_eva()
    await actions.do_send_message(user=amy, chat_id=chat_id, text=ENGLISH)
    asked_before = len(translator.received())

    response = await _post(
        async_client,
        f"/api/chats/{chat_id}/messages",
        {"text": SPANISH, "client_msg_id": "r-1", "reply_to_seq": 1},
        eva,
    )

    assert response.status_code == 201, response.content
    mine = response.json()["message"]
    assert mine["seq"] == 2
    # Eva reads Amy's message in Spanish: the stored translation.
    assert mine["reply_to"]["seq"] == 1
    assert mine["reply_to"]["from_user_id"] == amy.user_id
    assert mine["reply_to"]["text"] == f"[es] {ENGLISH}"
    assert mine["reply_to"]["language"] == "es"
    assert "deleted" not in mine["reply_to"]
    # Only the reply itself went to the provider; the quoted text never did again.
    asked = [user_text(body) for body in translator.received()[asked_before:]]
    assert asked and all(text == SPANISH for text in asked)
    # Stored: which message it quotes, none of its text.
    stored = await run_blocking(message_get)(chat_id=chat_id, seq=2)
    first = await run_blocking(message_get)(chat_id=chat_id, seq=1)
    assert dict(stored.reply_to.as_dict()) == {"seq": 1, "message_id": first.message_id}

    amy_sees = await _history(async_client, chat_id, amy)
    eva_sees = await _history(async_client, chat_id, eva)
    assert amy_sees[2]["reply_to"]["text"] == ENGLISH
    assert amy_sees[2]["reply_to"]["language"] == "en"
    assert eva_sees[2]["reply_to"]["text"] == f"[es] {ENGLISH}"
    assert "reply_to" not in amy_sees[1]


async def test_a_bad_reply_to_seq_is_refused_with_422_and_nothing_is_stored(
    async_client, translator
):
    amy, eva, chat_id = await _amy_and_eva()
    await actions.do_send_message(user=amy, chat_id=chat_id, text=ENGLISH)
    # A message at seq 2 of another chat is no message of this one.
    ann, _, other_chat = await _amy_and_eva()
    await actions.do_send_message(user=ann, chat_id=other_chat, text=ENGLISH)
    await actions.do_send_message(user=ann, chat_id=other_chat, text=ENGLISH)

    for bad in (2, 99, 0, -1, "1", True, 1.5, [1]):
        response = await _post(
            async_client,
            f"/api/chats/{chat_id}/messages",
            {"text": SPANISH, "reply_to_seq": bad},
            eva,
        )
        assert response.status_code == 422, (bad, response.content)
        assert "reply_to_seq" in response.json()["detail"]

    chat = await run_blocking(chat_get)(chat_id=chat_id)
    assert int(chat.last_seq) == 1
    assert len(await run_blocking(message_range)(chat_id=chat_id, after_seq=0)) == 1
    # null is no quote at all.
    response = await _post(
        async_client,
        f"/api/chats/{chat_id}/messages",
        {"text": SPANISH, "reply_to_seq": None},
        eva,
    )
    assert response.status_code == 201
    assert "reply_to" not in response.json()["message"]


async def test_history_resolves_quotes_outside_the_page_with_one_batch_get(
    async_client, translator
):
    amy, eva, chat_id = await _amy_and_eva()
    await actions.do_send_message(user=amy, chat_id=chat_id, text=ENGLISH)  # 1
    for n in range(2, 5):
        await actions.do_send_message(user=eva, chat_id=chat_id, text=f"{SPANISH} {n}")
    await actions.do_send_message(
        user=eva, chat_id=chat_id, text=f"{SPANISH} 5", reply_to_seq=1
    )  # quotes outside the newest page
    await actions.do_send_message(
        user=amy, chat_id=chat_id, text="Perfect, see you there then.", reply_to_seq=5
    )  # quotes inside it
    await actions.do_send_message(
        user=eva, chat_id=chat_id, text=f"{SPANISH} 7", reply_to_seq=2
    )  # quotes outside it too

    with dynamo_calls() as calls:
        page = await _history(async_client, chat_id, amy, limit=3)  # 7, 6, 5
    batch_gets = [params for name, params in calls if name == "BatchGetItem"]
    assert len(batch_gets) == 1
    (keys,) = [request["Keys"] for request in batch_gets[0]["RequestItems"].values()]
    assert sorted(key["sk"]["S"] for key in keys) == ["m#000000000001", "m#000000000002"]
    assert page[5]["reply_to"]["text"] == ENGLISH
    assert page[6]["reply_to"]["seq"] == 5
    assert page[6]["reply_to"]["text"] == f"[en] {SPANISH} 5"
    assert page[7]["reply_to"]["text"] == f"[en] {SPANISH} 2"

    # The next page (4, 3) quotes nothing: no BatchGetItem at all.
    response = await async_client.get(f"/api/chats/{chat_id}/messages", {"limit": 3}, **_auth(amy))
    cursor = response.json()["next_cursor"]
    with dynamo_calls() as calls:
        page = await _history(async_client, chat_id, amy, limit=2, cursor=cursor)
    assert sorted(page) == [3, 4]
    assert [name for name, _ in calls if name == "BatchGetItem"] == []
    # Eva reads the same quotes in Spanish: her own message as she wrote it, Amy's translated.
    page = await _history(async_client, chat_id, eva, limit=3)
    assert page[5]["reply_to"]["text"] == f"[es] {ENGLISH}"
    assert page[6]["reply_to"]["text"] == f"{SPANISH} 5"


async def test_a_quoted_message_deleted_since_shows_as_deleted_and_cannot_be_quoted(
    async_client, translator
):
    amy, eva, chat_id = await _amy_and_eva()
    await actions.do_send_message(user=amy, chat_id=chat_id, text=ENGLISH)
    await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH, reply_to_seq=1)
    quoted = await run_blocking(message_get)(chat_id=chat_id, seq=1)
    await actions.do_delete_message(user=amy, chat_id=chat_id, seq=1)

    for reader in (amy, eva):
        quote = (await _history(async_client, chat_id, reader))[2]["reply_to"]
        assert quote["deleted"] is True
        assert quote["text"] == ""
        assert quote["seq"] == 1
        assert quote["message_id"] == quoted.message_id

    response = await _post(
        async_client,
        f"/api/chats/{chat_id}/messages",
        {"text": SPANISH, "reply_to_seq": 1},
        eva,
    )
    assert response.status_code == 422
    assert int((await run_blocking(chat_get)(chat_id=chat_id)).last_seq) == 2


async def test_quoted_view_cuts_long_text_and_reads_deleted_at_when_there_is_one(translator):
    amy, eva, chat_id = await _amy_and_eva()
    long_text = "word " * 100
    await actions.do_send_message(user=amy, chat_id=chat_id, text=long_text)
    quoted = await run_blocking(message_get)(chat_id=chat_id, seq=1)

    view = quoted_view(quoted=quoted, seq=1, message_id=quoted.message_id, language="en")
    assert len(view["text"]) == QUOTE_MAX_CHARS
    assert view["text"].endswith("…")
    assert long_text.startswith(view["text"][:-1])

    quoted.deleted_at = "2026-01-01T00:00:00+00:00"  # type: ignore[attr-defined]
    view = quoted_view(quoted=quoted, seq=1, message_id=quoted.message_id, language="en")
    assert view["deleted"] is True and view["text"] == ""


def test_reply_to_seq_validate_takes_positive_integers_and_none_only():
    assert replies.reply_to_seq_validate(None) is None
    assert replies.reply_to_seq_validate(3) == 3
    for bad in (0, -2, True, "3", 3.0):
        with pytest.raises(InvalidInput):
            replies.reply_to_seq_validate(bad)

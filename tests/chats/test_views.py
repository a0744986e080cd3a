"""The chat REST API through Django's ASGI test client, with translations from the loopback
fake of OpenAI (`translator`: it turns T into "[<target>] T").

Costs: fresh tables per test (~0.6 s) and an Argon2 signup per user (~0.1 s), so related cases
share a test. Messages that only need to exist (pagination) are committed straight through
the service, not over HTTP.
"""

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings

from apps.chats import actions, selectors, services
from apps.chats.translation import translation_clients_close
from apps.core.concurrency import run_blocking
from apps.core.keyvalue import keyvalue_store
from tests.support.accounts import user_create, user_token
from tests.support.fake_openai import target_language, user_text
from tests.support.loops import owed_translation_retries_cancel

CHATS = "/api/chats"
ME = "/api/auth/me"
CHAT_KEYS = {"chat_id", "other_username", "other_user_id", "last_message_preview", "updated_at"}
MESSAGE_KEYS = {"message_id", "text", "from_user_id", "language", "timestamp"}
UTC_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$")


@pytest.fixture(autouse=True)
async def _tidy_event_loop():
    """Close this loop's OpenAI clients and any owed-translation task still waiting."""
    yield
    await owed_translation_retries_cancel()
    await translation_clients_close()


# --- helpers ---------------------------------------------------------------------------------


async def person(language: str, username: str | None = None):
    """(user, token) for a new account."""
    user = await run_blocking(user_create)(language=language, username=username)
    return user, user_token(user)


def _auth(token):
    # Django 5.2's AsyncClient puts extra keyword arguments (HTTP_AUTHORIZATION=...) into the
    # ASGI scope, not the headers; headers= is what reaches request.headers.
    return {"headers": {"Authorization": f"Bearer {token}"}} if token is not None else {}


async def get(client, path, token=None, **params):
    return await client.get(path, params, **_auth(token))


async def post(client, path, body, token=None):
    return await client.post(path, body, content_type="application/json", **_auth(token))


async def patch(client, path, body, token=None):
    return await client.patch(path, body, content_type="application/json", **_auth(token))


async def delete(client, path, token=None):
    return await client.delete(path, **_auth(token))


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content)
    return response.json()


def detail(response, status):
    """A failure: the status and a non-empty `detail` string."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("detail"), str)
    assert body["detail"].strip()
    return body["detail"]


def assert_utc_iso(value):
    assert isinstance(value, str) and UTC_ISO.match(value), value
    assert datetime.fromisoformat(value).utcoffset() == timedelta(0)


async def open_chat(client, token, other) -> str:
    return ok(await post(client, CHATS, {"username": other.username}, token), 201)["chat_id"]


async def send(client, token, chat_id, text, status=201):
    response = await post(client, f"{CHATS}/{chat_id}/messages", {"text": text}, token)
    return ok(response, status)


async def history(client, token, chat_id, **params):
    return ok(await get(client, f"{CHATS}/{chat_id}/messages", token, **params))


async def inbox(client, token):
    return ok(await get(client, CHATS, token))


def cursor_param(cursor):
    return {"cursor": cursor} if cursor else {}


def inbox_row(rows, chat_id):
    (row,) = [row for row in rows if row["chat_id"] == chat_id]
    return row


def requests_for(translator, text=None, target=None):
    return [
        body
        for body in translator.received()
        if (text is None or user_text(body) == text)
        and (target is None or target_language(body) == target)
    ]


async def stored_count(chat_id) -> int:
    page = await run_blocking(selectors.message_history)(
        chat_id=chat_id, limit=selectors.HISTORY_MAX_LIMIT, before_seq=None
    )
    return len(page.messages)


# --- creating direct chats -------------------------------------------------------------------


async def test_create_direct_chat_answers_201_with_the_contract_shape_every_time(
    async_client, translator
):
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")

    first = ok(await post(async_client, CHATS, {"username": ana.username}, bob_token), 201)

    assert set(first) >= CHAT_KEYS
    assert isinstance(first["chat_id"], str) and first["chat_id"]
    assert first["other_username"] == ana.username
    assert first["other_user_id"] == ana.user_id
    assert first["last_message_preview"] is None
    assert_utc_iso(first["updated_at"])

    again = ok(await post(async_client, CHATS, {"username": ana.username}, bob_token), 201)
    assert set(again) >= CHAT_KEYS
    assert again["chat_id"] == first["chat_id"]
    assert again["other_username"] == ana.username
    from_ana = ok(await post(async_client, CHATS, {"username": bob.username}, ana_token), 201)
    assert from_ana["chat_id"] == first["chat_id"]
    assert (from_ana["other_username"], from_ana["other_user_id"]) == (bob.username, bob.user_id)
    assert [row["chat_id"] for row in await inbox(async_client, bob_token)] == [first["chat_id"]]

    detail(await post(async_client, CHATS, {"username": "nobody_here"}, bob_token), 404)
    detail(await post(async_client, CHATS, {"username": bob.username}, bob_token), 400)
    detail(await post(async_client, CHATS, {"username": ana.username}), 401)
    detail(await post(async_client, CHATS, {"username": ana.username}, "not-a-jwt"), 401)
    detail(await get(async_client, CHATS), 401)
    detail(await post(async_client, CHATS, {}, bob_token), 422)
    detail(await post(async_client, CHATS, {"username": 42}, bob_token), 422)
    assert len(await inbox(async_client, bob_token)) == 1


# --- the inbox -------------------------------------------------------------------------------


async def test_inbox_is_most_recent_first_with_previews_in_the_readers_language(
    async_client, translator
):
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")
    cat, cat_token = await person("en")
    with_bob = await open_chat(async_client, ana_token, bob)
    with_cat = await open_chat(async_client, ana_token, cat)

    await send(async_client, bob_token, with_bob, "Hello from Bob")
    long_text = "word " * 100  # 500 characters
    await send(async_client, cat_token, with_cat, long_text)

    rows = await inbox(async_client, ana_token)
    assert [row["chat_id"] for row in rows] == [with_cat, with_bob]
    for row in rows:
        assert set(row) >= CHAT_KEYS
        assert_utc_iso(row["updated_at"])
    cat_row, bob_row = rows
    assert bob_row["last_message_preview"] == "[es] Hello from Bob"
    assert bob_row["other_username"] == bob.username
    assert cat_row["last_message_preview"].startswith("[es] word word")
    assert len(cat_row["last_message_preview"]) <= 100
    assert (bob_row["unread_count"], cat_row["unread_count"]) == (1, 1)
    # The writer's own inbox shows the original.
    bob_rows = await inbox(async_client, bob_token)
    assert inbox_row(bob_rows, with_bob)["last_message_preview"] == "Hello from Bob"
    assert inbox_row(bob_rows, with_bob)["unread_count"] == 0

    await send(async_client, bob_token, with_bob, "Are you there?")

    rows = await inbox(async_client, ana_token)
    assert [row["chat_id"] for row in rows] == [with_bob, with_cat]
    assert rows[0]["last_message_preview"] == "[es] Are you there?"
    assert rows[0]["unread_count"] == 2
    assert datetime.fromisoformat(rows[0]["updated_at"]) > datetime.fromisoformat(
        rows[1]["updated_at"]
    )

    read = ok(await post(async_client, f"{CHATS}/{with_bob}/read", {"seq": 2}, ana_token))
    assert read["unread_count"] == 0
    rows = await inbox(async_client, ana_token)
    assert inbox_row(rows, with_bob)["unread_count"] == 0
    assert inbox_row(rows, with_cat)["unread_count"] == 1
    # Reading does not count as activity.
    assert [row["chat_id"] for row in rows] == [with_bob, with_cat]

    await send(async_client, bob_token, with_bob, "One more")
    assert inbox_row(await inbox(async_client, ana_token), with_bob)["unread_count"] == 1
    detail(await post(async_client, f"{CHATS}/{with_bob}/read", {"seq": "2"}, ana_token), 422)
    detail(await post(async_client, f"{CHATS}/{with_bob}/read", {"seq": 1}, cat_token), 404)


# --- history ---------------------------------------------------------------------------------


async def test_history_is_newest_first_in_each_readers_language(async_client, translator):
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")
    chat_id = await open_chat(async_client, bob_token, ana)

    hello = (await send(async_client, bob_token, chat_id, "Hello"))["message"]
    hola = (await send(async_client, ana_token, chat_id, "Hola"))["message"]

    for_ana = await history(async_client, ana_token, chat_id)
    for_bob = await history(async_client, bob_token, chat_id)

    assert set(for_ana) >= {"messages", "next_cursor"} and for_ana["next_cursor"] is None
    assert for_bob["next_cursor"] is None
    for page in (for_ana, for_bob):
        ids = [m["message_id"] for m in page["messages"]]
        assert ids == [hola["message_id"], hello["message_id"]]
        assert [m["from_user_id"] for m in page["messages"]] == [ana.user_id, bob.user_id]
        for message in page["messages"]:
            assert set(message) >= MESSAGE_KEYS
            assert_utc_iso(message["timestamp"])
    assert [(m["text"], m["language"]) for m in for_ana["messages"]] == [
        ("Hola", "es"),
        ("[es] Hello", "es"),
    ]
    assert [(m["text"], m["language"]) for m in for_bob["messages"]] == [
        ("[en] Hola", "en"),
        ("Hello", "en"),
    ]
    # The sender's reply carries the same message, in the sender's language.
    assert (hello["text"], hello["language"]) == ("Hello", "en")
    assert hello["timestamp"] == for_bob["messages"][1]["timestamp"]


async def test_history_pages_through_every_message_with_an_opaque_cursor(async_client):
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")
    eve, eve_token = await person("fr")
    chat_id = await open_chat(async_client, bob_token, ana)

    def commit_many(count):
        chat = selectors.chat_get(chat_id=chat_id)
        for n in range(1, count + 1):
            draft = services.MessageDraft(
                chat_id=chat_id,
                message_id=uuid.uuid4().hex,
                from_user_id=bob.user_id,
                original_text=f"message {n}",
                original_language="en",
                translations={"es": f"[es] message {n}"},
                pending_languages=frozenset(),
                client_msg_id=None,
                created_at=datetime.now(UTC),
            )
            committed = services.message_commit(draft=draft, chat=chat)
            chat.last_seq = int(committed.message.seq)

    await run_blocking(commit_many)(120)

    seen, sizes, cursor = [], [], None
    for _ in range(10):
        page = await history(async_client, ana_token, chat_id, **cursor_param(cursor))
        sizes.append(len(page["messages"]))
        seen += page["messages"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
    assert sizes == [50, 50, 20]
    assert [m["seq"] for m in seen] == list(range(120, 0, -1))
    assert [m["text"] for m in seen] == [f"[es] message {n}" for n in range(120, 0, -1)]
    assert len({m["message_id"] for m in seen}) == 120
    for message in seen[:3]:
        assert set(message) >= MESSAGE_KEYS

    # A page size that divides the total ends on the last message, with no empty page after.
    seen, cursor = [], None
    while True:
        page = await history(async_client, ana_token, chat_id, limit=40, **cursor_param(cursor))
        assert page["messages"], "an empty page after a non-null cursor"
        seen += page["messages"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [m["seq"] for m in seen] == list(range(120, 0, -1))

    one = await history(async_client, ana_token, chat_id, limit=1)
    assert [m["text"] for m in one["messages"]] == ["[es] message 120"]
    assert one["next_cursor"] is not None
    after_one = await history(async_client, ana_token, chat_id, limit=1, cursor=one["next_cursor"])
    assert [m["text"] for m in after_one["messages"]] == ["[es] message 119"]
    everything = await history(async_client, bob_token, chat_id, limit=200)
    assert len(everything["messages"]) == 120 and everything["next_cursor"] is None
    assert everything["messages"][0]["text"] == "message 120"

    path = f"{CHATS}/{chat_id}/messages"
    for limit in ("0", "201", "x", "-1", "1.5"):
        detail(await get(async_client, path, ana_token, limit=limit), 422)
    for cursor in ("not a cursor!", "zzzz", "c2VxOjA", "Zm9vOjU"):  # ..., "seq:0", "foo:5"
        detail(await get(async_client, path, ana_token, cursor=cursor), 422)
    detail(await get(async_client, f"{CHATS}/no-such-chat/messages", ana_token), 404)
    detail(await get(async_client, path, eve_token), 404)
    detail(await get(async_client, path), 401)


# --- translation -----------------------------------------------------------------------------


async def test_old_messages_are_translated_on_demand_once_after_a_language_change(
    async_client, translator
):
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")
    chat_id = await open_chat(async_client, bob_token, ana)
    await send(async_client, bob_token, chat_id, "Good morning")
    await send(async_client, bob_token, chat_id, "How are you")
    assert [m["text"] for m in (await history(async_client, ana_token, chat_id))["messages"]] == [
        "[es] How are you",
        "[es] Good morning",
    ]
    assert requests_for(translator, target="fr") == []

    profile = ok(await patch(async_client, ME, {"native_language": "fr"}, ana_token))
    assert profile["native_language"] == "fr"

    first = await history(async_client, ana_token, chat_id)
    assert [(m["text"], m["language"]) for m in first["messages"]] == [
        ("[fr] How are you", "fr"),
        ("[fr] Good morning", "fr"),
    ]
    assert all(m["translated"] is True for m in first["messages"])
    assert len(requests_for(translator, target="fr")) == 2
    total = len(translator.received())

    second = await history(async_client, ana_token, chat_id)
    assert second["messages"] == first["messages"]
    assert len(requests_for(translator, target="fr")) == 2
    assert len(translator.received()) == total
    # The writer's own view is unchanged.
    assert [m["text"] for m in (await history(async_client, bob_token, chat_id))["messages"]] == [
        "How are you",
        "Good morning",
    ]

    # New messages are translated into the new language when written.
    await send(async_client, bob_token, chat_id, "See you")
    assert [user_text(b) for b in requests_for(translator, target="fr")][-1] == "See you"
    assert requests_for(translator, text="See you", target="es") == []
    latest = (await history(async_client, ana_token, chat_id, limit=1))["messages"][0]
    assert (latest["text"], latest["language"]) == ("[fr] See you", "fr")
    assert inbox_row(await inbox(async_client, ana_token), chat_id)["last_message_preview"] == (
        "[fr] See you"
    )


async def test_a_message_sent_while_the_provider_is_down_is_translated_later(
    async_client, translator
):
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")
    chat_id = await open_chat(async_client, bob_token, ana)
    translator.fail_status = 500

    sent = await send(async_client, bob_token, chat_id, "Are you there")

    assert sent["message"]["text"] == "Are you there"
    (untranslated,) = (await history(async_client, ana_token, chat_id))["messages"]
    assert untranslated["message_id"] == sent["message"]["message_id"]
    assert (untranslated["text"], untranslated["language"]) == ("Are you there", "en")
    assert untranslated["translated"] is False
    assert inbox_row(await inbox(async_client, ana_token), chat_id)["last_message_preview"] == (
        "Are you there"
    )

    translator.fail_status = None
    # The inbox triggers no translation: only the owed-translation retry can change it.
    deadline = time.monotonic() + 5
    preview = None
    while time.monotonic() < deadline:
        preview = inbox_row(await inbox(async_client, ana_token), chat_id)["last_message_preview"]
        if preview == "[es] Are you there":
            break
        await asyncio.sleep(0.1)
    assert preview == "[es] Are you there"

    requests_before = len(translator.received())
    (translated,) = (await history(async_client, ana_token, chat_id))["messages"]
    assert (translated["text"], translated["language"]) == ("[es] Are you there", "es")
    assert translated["translated"] is True
    assert translated["message_id"] == sent["message"]["message_id"]
    assert len(translator.received()) == requests_before  # already stored
    stored = await run_blocking(selectors.message_get)(chat_id=chat_id, seq=1)
    assert not stored.pending_languages
    assert selectors.map_as_dict(stored.translations) == {"es": "[es] Are you there"}


async def test_history_reads_ask_for_an_owed_translation_once_per_back_off_period(
    async_client, translator, settings
):
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")
    chat_id = await open_chat(async_client, bob_token, ana)
    await send(async_client, bob_token, chat_id, "Good morning")
    await send(async_client, bob_token, chat_id, "How are you")
    ok(await patch(async_client, ME, {"native_language": "fr"}, ana_token))
    translator.fail_status = 500
    settings.TRANSLATION_RETRY_SCALE = 60.0  # a back-off period longer than the test

    pages = await asyncio.gather(*(history(async_client, ana_token, chat_id) for _ in range(25)))
    for _ in range(25):
        pages.append(await history(async_client, ana_token, chat_id))

    def another_instance_reads() -> None:
        async def read() -> None:
            page = selectors.message_history(chat_id=chat_id, limit=50, before_seq=None)
            await actions.do_translate_messages(messages=page.messages, language="fr")
            await translation_clients_close()

        asyncio.run(read())

    await asyncio.to_thread(another_instance_reads)

    # One call per message in the period, not one per message per read (2 x 51).
    assert sorted(user_text(body) for body in requests_for(translator, target="fr")) == [
        "Good morning",
        "How are you",
    ]
    for page in pages:
        assert [(m["text"], m["translated"]) for m in page["messages"]] == [
            ("How are you", False),
            ("Good morning", False),
        ]

    # The period over, the next read asks again, and this time the provider answers.
    translator.fail_status = None
    store = keyvalue_store()
    for message in pages[0]["messages"]:
        assert await store.take(f"translation_turn:{message['message_id']}:fr") is not None
    page = await history(async_client, ana_token, chat_id)
    assert [(m["text"], m["translated"]) for m in page["messages"]] == [
        ("[fr] How are you", True),
        ("[fr] Good morning", True),
    ]
    assert len(requests_for(translator, target="fr")) == 4


# --- sending limits --------------------------------------------------------------------------


async def test_message_text_limits(async_client, translator):
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")
    chat_id = await open_chat(async_client, bob_token, ana)
    path = f"{CHATS}/{chat_id}/messages"
    longest = django_settings.MESSAGE_MAX_CHARS

    for body in (
        {"text": ""},
        {"text": "   \n\t "},
        {"text": "a" * (longest + 1)},
        {},
        {"text": 5},
    ):
        detail(await post(async_client, path, body, bob_token), 422)
    assert await stored_count(chat_id) == 0
    assert inbox_row(await inbox(async_client, ana_token), chat_id)["unread_count"] == 0

    sent = await send(async_client, bob_token, chat_id, "a" * longest)
    assert sent["message"]["text"] == "a" * longest
    (message,) = (await history(async_client, bob_token, chat_id))["messages"]
    assert message["text"] == "a" * longest


async def test_the_fourth_message_within_the_window_is_rate_limited(
    async_client, translator, settings
):
    settings.MESSAGE_RATE_LIMIT_COUNT = 3
    # The window is fixed (aligned to multiples of its length): a long one keeps the four
    # sends inside one window.
    settings.MESSAGE_RATE_LIMIT_WINDOW_SECONDS = 3600
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")
    chat_id = await open_chat(async_client, bob_token, ana)

    for n in range(3):
        await send(async_client, bob_token, chat_id, f"message {n}")
    refused = await post(
        async_client, f"{CHATS}/{chat_id}/messages", {"text": "one too many"}, bob_token
    )
    detail(refused, 429)

    texts = [m["text"] for m in (await history(async_client, bob_token, chat_id))["messages"]]
    assert texts == ["message 2", "message 1", "message 0"]
    assert requests_for(translator, text="one too many") == []
    # The limit is per sender.
    await send(async_client, ana_token, chat_id, "hola")
    assert await stored_count(chat_id) == 4


# --- groups ----------------------------------------------------------------------------------


async def test_group_chats_over_rest(async_client, translator):
    bob, bob_token = await person("en")
    ana, ana_token = await person("es")
    cleo, cleo_token = await person("fr")
    dirk, dirk_token = await person("de")

    for body in (
        {"title": "Trip"},
        {"title": "Trip", "usernames": ana.username},
        {"title": "Trip", "usernames": [ana.username]},
        {"title": "", "usernames": [ana.username, cleo.username]},
        {"usernames": [ana.username, cleo.username]},
    ):
        detail(await post(async_client, CHATS, body, bob_token), 422)
    unknown = {"title": "Trip", "usernames": [ana.username, "nobody_here"]}
    detail(await post(async_client, CHATS, unknown, bob_token), 404)
    assert await inbox(async_client, bob_token) == []

    group = {"title": "Trip", "usernames": [ana.username, cleo.username]}
    created = ok(await post(async_client, CHATS, group, bob_token), 201)
    assert set(created) >= CHAT_KEYS
    assert created["kind"] == "group" and created["title"] == "Trip"
    assert created["other_username"] == "Trip" and created["other_user_id"] is None
    chat_id = created["chat_id"]
    members = f"{CHATS}/{chat_id}/members"
    for token in (ana_token, cleo_token):
        row = inbox_row(await inbox(async_client, token), chat_id)
        assert (row["kind"], row["title"]) == ("group", "Trip")

    await send(async_client, bob_token, chat_id, "Hello all")

    expected = {
        bob_token: ("Hello all", "en"),
        ana_token: ("[es] Hello all", "es"),
        cleo_token: ("[fr] Hello all", "fr"),
    }
    for token, text_and_language in expected.items():
        (message,) = (await history(async_client, token, chat_id))["messages"]
        assert (message["text"], message["language"]) == text_and_language
        assert message["from_user_id"] == bob.user_id

    shown = ok(await get(async_client, f"{CHATS}/{chat_id}", ana_token))
    assert shown["chat_id"] == chat_id and shown["kind"] == "group"
    assert {(m["username"], m["native_language"]) for m in shown["members"]} == {
        (bob.username, "en"),
        (ana.username, "es"),
        (cleo.username, "fr"),
    }
    assert all("password_hash" not in m for m in shown["members"])
    detail(await get(async_client, f"{CHATS}/{chat_id}", dirk_token), 404)
    detail(await get(async_client, f"{CHATS}/no-such-chat", dirk_token), 404)

    # Adding a member.
    detail(await post(async_client, members, {"username": ana.username}, dirk_token), 404)
    added = ok(await post(async_client, members, {"username": dirk.username}, ana_token), 201)
    assert added["user_id"] == dirk.user_id
    detail(await post(async_client, members, {"username": dirk.username}, bob_token), 409)
    detail(await post(async_client, members, {}, bob_token), 422)
    assert inbox_row(await inbox(async_client, dirk_token), chat_id)["title"] == "Trip"
    shown = ok(await get(async_client, f"{CHATS}/{chat_id}", dirk_token))
    assert {m["user_id"] for m in shown["members"]} == {
        bob.user_id,
        ana.user_id,
        cleo.user_id,
        dirk.user_id,
    }

    # Leaving.
    left = ok(await delete(async_client, f"{CHATS}/{chat_id}/members/me", cleo_token))
    assert left["chat_id"] == chat_id
    detail(await get(async_client, f"{CHATS}/{chat_id}/messages", cleo_token), 404)
    detail(await get(async_client, f"{CHATS}/{chat_id}", cleo_token), 404)
    assert [row["chat_id"] for row in await inbox(async_client, cleo_token)] == []
    detail(await delete(async_client, f"{CHATS}/{chat_id}/members/me", cleo_token), 404)
    shown = ok(await get(async_client, f"{CHATS}/{chat_id}", bob_token))
    assert {m["user_id"] for m in shown["members"]} == {bob.user_id, ana.user_id, dirk.user_id}

    await send(async_client, bob_token, chat_id, "Who is left")
    targets = {target_language(body) for body in requests_for(translator, text="Who is left")}
    assert targets == {"es", "de"}
    latest = {}
    for token in (ana_token, dirk_token):
        (message,) = (await history(async_client, token, chat_id, limit=1))["messages"]
        latest[token] = message["text"]
    assert latest == {ana_token: "[es] Who is left", dirk_token: "[de] Who is left"}
    refused = await post(
        async_client, f"{CHATS}/{chat_id}/messages", {"text": "let me back"}, cleo_token
    )
    detail(refused, 404)

    # A direct chat cannot be left, nor grown into a group.
    direct_id = await open_chat(async_client, bob_token, ana)
    detail(await delete(async_client, f"{CHATS}/{direct_id}/members/me", bob_token), 400)
    grow = await post(
        async_client, f"{CHATS}/{direct_id}/members", {"username": dirk.username}, bob_token
    )
    detail(grow, 400)


async def test_chat_detail_shows_each_members_read_mark(async_client, translator):
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")
    chat_id = await open_chat(async_client, bob_token, ana)
    for text in ("one", "two", "three"):
        await send(async_client, bob_token, chat_id, text)
    ok(await post(async_client, f"{CHATS}/{chat_id}/read", {"seq": 2}, ana_token))
    shown = ok(await get(async_client, f"{CHATS}/{chat_id}", bob_token))
    marks = {member["user_id"]: member["last_read_seq"] for member in shown["members"]}
    assert marks == {ana.user_id: 2, bob.user_id: 3}


# --- no oracle: a chat one is not in looks like no chat at all --------------------------------


async def test_a_chat_the_reader_is_not_in_answers_exactly_like_a_chat_that_does_not_exist(
    async_client, translator
):
    bob, bob_token = await person("en")
    ana, ana_token = await person("es")
    cleo, _ = await person("de")
    eve, eve_token = await person("fr")
    direct_id = await open_chat(async_client, bob_token, ana)
    # Direct chat ids follow from the two user ids, which anyone can learn.
    assert direct_id == services.direct_chat_id(bob.user_id, ana.user_id)
    group_id = ok(
        await post(
            async_client,
            CHATS,
            {"title": "Trip", "usernames": [ana.username, cleo.username]},
            bob_token,
        ),
        201,
    )["chat_id"]
    await send(async_client, bob_token, direct_id, "Hello")
    missing_ids = (services.direct_chat_id(eve.user_id, ana.user_id), uuid.uuid4().hex)

    requests = {
        "detail": lambda chat_id: get(async_client, f"{CHATS}/{chat_id}", eve_token),
        "history": lambda chat_id: get(async_client, f"{CHATS}/{chat_id}/messages", eve_token),
        "send": lambda chat_id: post(
            async_client, f"{CHATS}/{chat_id}/messages", {"text": "hi"}, eve_token
        ),
        "add member": lambda chat_id: post(
            async_client, f"{CHATS}/{chat_id}/members", {"username": eve.username}, eve_token
        ),
        "leave": lambda chat_id: delete(async_client, f"{CHATS}/{chat_id}/members/me", eve_token),
        "read": lambda chat_id: post(
            async_client, f"{CHATS}/{chat_id}/read", {"seq": 1}, eve_token
        ),
    }
    for name, request in requests.items():
        answers = set()
        for chat_id in (direct_id, group_id, *missing_ids):
            response = await request(chat_id)
            answers.add((response.status_code, response.content))
        assert answers == {(404, b'{"detail": "Chat not found"}')}, (name, answers)

    # Nothing changed for the members.
    assert [m["text"] for m in (await history(async_client, ana_token, direct_id))["messages"]] == [
        "[es] Hello"
    ]
    shown = ok(await get(async_client, f"{CHATS}/{group_id}", bob_token))
    assert {m["user_id"] for m in shown["members"]} == {bob.user_id, ana.user_id, cleo.user_id}
    assert await inbox(async_client, eve_token) == []


# --- hostile input ---------------------------------------------------------------------------


async def test_broken_text_and_ids_answer_422_and_change_nothing(async_client, translator):
    ana, ana_token = await person("es")
    bob, bob_token = await person("en")
    chat_id = await open_chat(async_client, bob_token, ana)
    path = f"{CHATS}/{chat_id}/messages"

    for body in (
        {"text": "\ud800"},
        {"text": "hi \udc00 there"},
        {"text": "nul\x00"},
        {"text": "escape \x1b[2J"},
        {"text": "hi", "client_msg_id": "id\x00"},
        {"text": "hi", "client_msg_id": "\ud83d"},
    ):
        detail(await post(async_client, path, body, bob_token), 422)
    assert await stored_count(chat_id) == 0
    # Line breaks and tabs are ordinary message text.
    assert (await send(async_client, bob_token, chat_id, "a\n\tb"))["message"]["text"] == "a\n\tb"

    # Ids in the URL: control characters or absurd lengths are not ids.
    for bad_id in ("%00", "a%1Fb", "x" * 201):
        for method, target in (
            ("get", f"{CHATS}/{bad_id}"),
            ("get", f"{CHATS}/{bad_id}/messages"),
            ("post", f"{CHATS}/{bad_id}/read"),
        ):
            if method == "get":
                response = await get(async_client, target, bob_token)
            else:
                response = await post(async_client, target, {"seq": 1}, bob_token)
            assert detail(response, 422) == "chat_id is not valid", target
    # Cursors that are not ours.
    for cursor in ("%00", "\u00e9", "seq:1"):
        detail(await get(async_client, path, bob_token, cursor=cursor), 422)
    # UTF-8 for a surrogate, and bytes that are not UTF-8 at all.
    for raw_query in ("cursor=%ED%A0%80", "cursor=%FF%FE", "limit=%ED%A0%80"):
        detail(await get(async_client, f"{path}?{raw_query}", bob_token), 422)


async def test_group_titles_lose_bidi_overrides_and_bad_member_lists_are_refused(
    async_client, translator
):
    bob, bob_token = await person("en")
    ana, _ = await person("es")
    cleo, _ = await person("fr")
    names = [ana.username, cleo.username]

    for body in (
        {"title": "\u202e\u2066", "usernames": names},
        {"title": "Trip\x00", "usernames": names},
        {"title": "Trip", "usernames": [ana.username, "\ud800"]},
        {"title": "Trip", "usernames": [ana.username, "x\x00y"]},
        {"title": "Trip", "usernames": [f"user{n}" for n in range(51)]},
    ):
        detail(await post(async_client, CHATS, body, bob_token), 422)
    assert await inbox(async_client, bob_token) == []

    created = ok(
        await post(
            async_client, CHATS, {"title": "\u202eTrip\u202c\n", "usernames": names}, bob_token
        ),
        201,
    )
    assert created["title"] == "Trip"

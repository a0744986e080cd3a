"""One person's data in a few chats, and what must be left of it once their account is
deleted: shared by the `delete_user` command's tests and the self-service deletion's."""

from __future__ import annotations

import asyncio

import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings

from apps.accounts import actions as account_actions
from apps.accounts.presence import (
    PRESENCE_SEEN_KEY_PREFIX,
    PRESENCE_WATCHERS_KEY_PREFIX,
    presence_leave,
    presence_look,
)
from apps.accounts.selectors import user_from_access_token, user_get, user_get_by_username
from apps.chats import actions, presenters, reactions, selectors, services
from apps.chats.models import (
    Chat,
    ChatMembership,
    ClientMessageId,
    SearchToken,
    client_message_sort_key,
)
from apps.chats.personal_data import DELETED_MESSAGE_TEXT, DELETED_USER_ID, DELETED_USERNAME
from apps.chats.search_index import found_key_parse, registry_key
from apps.core.background import background_tasks_settle
from apps.core.dynamo import dynamo_client
from apps.core.errors import Unauthorized
from tests.support.accounts import user_create

PASSWORD = "correct horse battery"


def send(user, chat_id: str, text: str, client_msg_id: str | None = None):
    async def sent():
        outcome = await actions.do_send_message(
            user=user, chat_id=chat_id, text=text, client_msg_id=client_msg_id
        )
        # Its search index items are written by a background task: wait for them.
        await background_tasks_settle()
        return outcome

    return asyncio.run(sent())


def react(user, chat_id: str, seq: int, emoji: str) -> None:
    reactions.reaction_toggle(chat_id=chat_id, seq=seq, user_id=user.user_id, emoji=emoji)


def search_items() -> set[tuple[str, str]]:
    """Every (token_key, found) of the search index (a Scan through the raw client: a test's
    own look, not the code under test, which the no-Scan fixture watches)."""
    items: set[tuple[str, str]] = set()
    start: dict = {}
    while True:
        page = dynamo_client().scan(TableName=SearchToken.Meta.table_name, **start)
        items |= {(item["token_key"]["S"], item["found"]["S"]) for item in page["Items"]}
        if "LastEvaluatedKey" not in page:
            return items
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def search_token_keys() -> set[str]:
    """Every partition of the search index."""
    return {key for key, _ in search_items()}


def presence_keys_of(user_id: str) -> list[str]:
    """Which of the user's presence keys exist in Redis."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = [f"{PRESENCE_SEEN_KEY_PREFIX}{user_id}", f"{PRESENCE_WATCHERS_KEY_PREFIX}{user_id}"]
        return [key for key in keys if client.exists(key)]
    finally:
        client.close()


def people_create() -> dict:
    """ana (es) and bea (en) in a 1:1 chat; ana, bea and cai (fr) in a group; messages in both,
    reactions to them (ana's among them), everyone's search index, and ana's presence (last
    seen, and a socket of bea's watching her)."""
    ana = user_create(username="ana", language="es")
    bea = user_create(username="bea", language="en")
    cai = user_create(username="cai", language="fr")
    direct = services.chat_direct_create(user=ana, other_username="bea").membership.chat_id
    group = services.chat_group_create(
        user=bea, title="Trio", usernames=["ana", "cai"]
    ).membership.chat_id
    send(ana, direct, "hola bea, ¿qué tal?", "a-1")
    send(bea, direct, "hi ana, all good")
    send(ana, direct, "me alegro mucho", "a-2")
    send(bea, group, "welcome both")
    send(ana, group, "gracias bea")
    send(cai, group, "merci")
    react(ana, direct, 2, "👍")
    react(bea, direct, 2, "❤️")
    react(ana, group, 1, "😂")
    react(ana, group, 2, "🎉")  # her own message, anonymised later
    react(cai, group, 1, "😂")

    async def seen_and_watched() -> None:
        await presence_leave(user_id=ana.user_id)
        await presence_look(watcher="bea-socket", observed_online_ms={ana.user_id: 0})

    asyncio.run(seen_and_watched())
    # What deletion must take away is there to begin with.
    assert len(presence_keys_of(ana.user_id)) == 2
    ana_keys = {key for key in search_token_keys() if key.startswith(f"{ana.user_id}#")}
    assert registry_key(user_id=ana.user_id) in ana_keys and len(ana_keys) > 5
    return {"ana": ana, "bea": bea, "cai": cai, "direct": direct, "group": group}


def assert_ana_deleted_leaving_only_tombstones(people: dict, *, token: str) -> None:
    """After ana's account was deleted (`people_create`'s data): nothing of hers is left but
    the tombstones of her messages, and everyone else's data is untouched."""
    ana, bea, cai = people["ana"], people["bea"], people["cai"]

    # The account, its username and its tokens are gone; the name is free again.
    assert user_get(user_id=ana.user_id) is None
    assert user_get_by_username(username="ana") is None
    with pytest.raises(Unauthorized):
        user_from_access_token(token=token)
    assert (
        async_to_sync(account_actions.do_signup)(
            username="ana",
            password=PASSWORD,
            first_name="New",
            last_name="Ana",
            native_language="pt",
        ).user_id
        != ana.user_id
    )

    # No inbox rows, no membership in any chat.
    assert list(ChatMembership.query(ana.user_id)) == []
    for chat_id in (people["direct"], people["group"]):
        chat = Chat.get(chat_id)
        assert ana.user_id not in chat.member_ids
        assert ana.user_id not in selectors.map_as_dict(chat.member_languages)
    # The 1:1 partner's inbox names nobody.
    row = selectors.chat_membership_get(user_id=bea.user_id, chat_id=people["direct"])
    assert row.other_username == DELETED_USERNAME
    assert row.other_user_id == ana.user_id

    # Messages keep their place (gapless), lose text, translations and author.
    direct = selectors.message_range(chat_id=people["direct"], after_seq=0)
    assert [int(message.seq) for message in direct] == [1, 2, 3]
    first, second, third = direct
    for gone in (first, third):
        assert gone.from_user_id == DELETED_USER_ID
        assert gone.original_text == DELETED_MESSAGE_TEXT
        assert gone.client_msg_id is None
        translations = selectors.map_as_dict(gone.translations)
        assert set(translations.values()) == {DELETED_MESSAGE_TEXT}
        assert "en" in translations and "es" not in translations
        assert not gone.pending_languages
    assert (second.from_user_id, second.original_text) == (bea.user_id, "hi ana, all good")
    # Client id markers went with them.
    assert (
        selectors.client_message_get(
            chat_id=people["direct"], sender_id=ana.user_id, client_msg_id="a-1"
        )
        is None
    )
    with pytest.raises(ClientMessageId.DoesNotExist):
        ClientMessageId.get(people["direct"], client_message_sort_key(ana.user_id, "a-2"))
    # Readers see the tombstone in their own language, with no translation owed.
    view = presenters.message_view(message=third, language="en")
    assert (view["text"], view["translated"]) == (DELETED_MESSAGE_TEXT, True)
    # The latest message in the 1:1 was ana's: bea's preview follows.
    assert row.last_message_preview == DELETED_MESSAGE_TEXT
    # In the group, cai wrote last: previews stay, other people's messages stay.
    group = selectors.message_range(chat_id=people["group"], after_seq=0)
    assert [message.original_text for message in group] == [
        "welcome both",
        DELETED_MESSAGE_TEXT,
        "merci",
    ]
    cai_row = selectors.chat_membership_get(user_id=cai.user_id, chat_id=people["group"])
    assert cai_row.last_message_preview == "merci"
    # Nothing of ana's is left to export (the account is gone).
    assert selectors.messages_by_author(user_id=ana.user_id) == []

    # Her reactions are gone; everyone else's stay.
    direct_reactions = [reactions.reactions_of(message) for message in direct]
    assert direct_reactions == [{}, {bea.user_id: "❤️"}, {}]
    assert int(second.reactions_version) == 3  # raised by the removal too
    assert [reactions.reactions_of(message) for message in group] == [
        {cai.user_id: "😂"},
        {},
        {},
    ]

    # Her search index and its registry are gone; the others' are still there.
    keys = search_token_keys()
    assert [key for key in keys if key.startswith(f"{ana.user_id}#")] == []
    assert any(key.startswith(f"{bea.user_id}#") for key in keys)
    assert registry_key(user_id=bea.user_id) in keys

    # Nobody's index names her messages any more (their words were hers).
    her_messages = {(people["direct"], 1), (people["direct"], 3), (people["group"], 2)}
    named = {found_key_parse(found) for key, found in search_items()}
    assert {
        (found.chat_id, found.seq) for found in named if found is not None
    } & her_messages == set()
    assert (people["direct"], 2) in {(f.chat_id, f.seq) for f in named if f is not None}

    # Redis forgot when she was last seen and who watched her.
    assert presence_keys_of(ana.user_id) == []

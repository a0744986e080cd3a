"""Reactions (apps/chats/reactions.py, actions.do_toggle_reaction) over REST: the toggle, one
emoji per person, the bound on distinct emoji under concurrent writers, bad input, membership,
and that a reaction never rewrites a translation stored at the same moment."""

from __future__ import annotations

import asyncio
import threading

import pytest

from apps.chats import actions, reactions, services
from apps.chats.protocol import HistoryPage, ReactionReply
from apps.chats.selectors import map_as_dict, message_get
from apps.core.concurrency import run_blocking
from apps.core.errors import Conflict
from tests.support.accounts import user_create, user_token
from tests.support.protocol_check import protocol_check

CHATS = "/api/chats"


def _auth(token):
    return {"headers": {"Authorization": f"Bearer {token}"}}


async def react(client, chat_id, seq, emoji, user):
    return await client.put(
        f"{CHATS}/{chat_id}/messages/{seq}/reaction",
        {"emoji": emoji},
        content_type="application/json",
        **_auth(user_token(user)),
    )


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content)
    return response.json()


async def group_with_message(*languages):
    """A chat (1:1 for two) of people reading `languages`; the first has written message 1."""
    people = [await run_blocking(user_create)(language=language) for language in languages]
    if len(people) == 2:
        created = await run_blocking(services.chat_direct_create)(
            user=people[0], other_username=people[1].username
        )
    else:
        created = await run_blocking(services.chat_group_create)(
            user=people[0], title="Family", usernames=[person.username for person in people[1:]]
        )
    chat_id = created.membership.chat_id
    await actions.do_send_message(user=people[0], chat_id=chat_id, text="We won the match!")
    return chat_id, people


async def stored_reactions(chat_id, seq=1):
    message = await run_blocking(message_get)(chat_id=chat_id, seq=seq)
    return reactions.reactions_of(message)


@pytest.fixture(autouse=True)
def _translations(translator):
    return translator


async def test_reacting_twice_with_the_same_emoji_takes_it_away(async_client):
    chat_id, (ana, bob) = await group_with_message("en", "es")

    reply = ok(await react(async_client, chat_id, 1, "👍", bob))
    protocol_check(reply, ReactionReply, what="the reaction reply")
    assert reply["emoji"] == "👍"
    assert reply["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [bob.user_id]}]
    assert await stored_reactions(chat_id) == {bob.user_id: "👍"}

    again = ok(await react(async_client, chat_id, 1, "👍", bob))
    assert again["emoji"] is None and again["reactions"] == []
    assert await stored_reactions(chat_id) == {}


async def test_another_emoji_replaces_ones_reaction(async_client):
    chat_id, (ana, bob) = await group_with_message("en", "es")
    ok(await react(async_client, chat_id, 1, "👍", bob))
    reply = ok(await react(async_client, chat_id, 1, "❤️", bob))
    assert reply["emoji"] == "❤️"
    assert reply["reactions"] == [{"emoji": "❤️", "count": 1, "user_ids": [bob.user_id]}]
    assert await stored_reactions(chat_id) == {bob.user_id: "❤️"}


async def test_two_people_count_and_history_shows_who_reacted(async_client):
    chat_id, (ana, bob, carla) = await group_with_message("en", "es", "fr")
    ok(await react(async_client, chat_id, 1, "😂", bob))
    ok(await react(async_client, chat_id, 1, "😂", carla))
    reply = ok(await react(async_client, chat_id, 1, "👍🏽", ana))
    expected = [
        {"emoji": "😂", "count": 2, "user_ids": sorted([bob.user_id, carla.user_id])},
        {"emoji": "👍🏽", "count": 1, "user_ids": [ana.user_id]},
    ]
    assert reply["reactions"] == expected

    for reader in (ana, bob):
        page = ok(
            await async_client.get(f"{CHATS}/{chat_id}/messages", **_auth(user_token(reader)))
        )
        protocol_check(page, HistoryPage, what="a history page")
        assert page["messages"][0]["reactions"] == expected
        assert page["messages"][0]["reactions_version"] == 3


async def test_a_message_nobody_reacted_to_has_no_reactions_key(async_client):
    chat_id, (ana, _) = await group_with_message("en", "es")
    page = ok(await async_client.get(f"{CHATS}/{chat_id}/messages", **_auth(user_token(ana))))
    assert "reactions" not in page["messages"][0]
    assert "reactions_version" not in page["messages"][0]


async def test_concurrent_reactions_with_the_same_emoji_are_all_kept(async_client):
    chat_id, people = await group_with_message("en", "es", "fr", "de", "pt")
    replies = await asyncio.gather(*(react(async_client, chat_id, 1, "🎉", p) for p in people))
    assert [response.status_code for response in replies] == [200] * len(people)
    assert await stored_reactions(chat_id) == {person.user_id: "🎉" for person in people}


async def test_the_distinct_emoji_bound_holds_under_concurrent_reactions(settings, monkeypatch):
    settings.REACTIONS_DISTINCT_MAX = 2
    chat_id, people = await group_with_message("en", "es", "fr", "de", "pt")
    # Every reaction reads the message before any of them writes: each sees room for its emoji.
    first_reads = threading.Barrier(len(people), timeout=10)
    read = reactions.message_get
    waited: set[int] = set()

    def message_get_together(**kwargs):
        message = read(**kwargs)
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            first_reads.wait()
        return message

    monkeypatch.setattr(reactions, "message_get", message_get_together)
    emoji = ["🍎", "🍐", "🍊", "🍋", "🍌"]
    outcomes = await asyncio.gather(
        *(
            actions.do_toggle_reaction(user=person, chat_id=chat_id, seq=1, emoji=fruit)
            for person, fruit in zip(people, emoji, strict=True)
        ),
        return_exceptions=True,
    )
    stored = await stored_reactions(chat_id)
    refused = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    kept = [outcome for outcome in outcomes if isinstance(outcome, reactions.ReactionToggled)]
    assert len(kept) == 2 and len(refused) == 3, outcomes
    assert len(set(stored.values())) == 2
    # Nobody's accepted reaction was lost to another's write.
    assert stored == {
        person.user_id: fruit
        for person, fruit, outcome in zip(people, emoji, outcomes, strict=True)
        if isinstance(outcome, reactions.ReactionToggled)
    }


async def test_an_emoji_already_there_is_taken_past_the_bound(async_client, settings):
    settings.REACTIONS_DISTINCT_MAX = 1
    chat_id, (ana, bob, carla) = await group_with_message("en", "es", "fr")
    ok(await react(async_client, chat_id, 1, "👍", ana))
    refused = await react(async_client, chat_id, 1, "👎", bob)
    assert refused.status_code == 409, refused.content
    ok(await react(async_client, chat_id, 1, "👍", bob))
    # Carla's replacing nothing new; Ana switching her only emoji keeps one distinct.
    ok(await react(async_client, chat_id, 1, "👍", carla))
    assert await stored_reactions(chat_id) == {
        ana.user_id: "👍",
        bob.user_id: "👍",
        carla.user_id: "👍",
    }


@pytest.mark.parametrize(
    "emoji",
    [
        "",
        " ",
        "a",
        "ok",
        "1",
        "👍👍",
        "👍 ",
        "😀a",
        "\u200d",
        "\ufe0f",
        "🏽",
        "🇺",
        "<b>",
        "👍" * 40,
        5,
        None,
        ["👍"],
        {"emoji": "👍"},
    ],
)
async def test_anything_but_one_emoji_is_422_and_changes_nothing(async_client, emoji):
    chat_id, (ana, bob) = await group_with_message("en", "es")
    ok(await react(async_client, chat_id, 1, "👍", bob))
    response = await react(async_client, chat_id, 1, emoji, bob)
    assert response.status_code == 422, (emoji, response.content)
    assert await stored_reactions(chat_id) == {bob.user_id: "👍"}


@pytest.mark.parametrize(
    "emoji",
    [
        "👍",
        "❤️",
        "❤",
        "👍🏿",
        "👨‍👩‍👧‍👦",
        "🧑🏽‍💻",
        "👩‍❤️‍💋‍👨",
        "🏳️‍🌈",
        "🇪🇸",
        "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
        "#️⃣",
        "1️⃣",
        "☺️",
        "🫶",
    ],
)
def test_single_emoji_of_every_form_are_accepted(emoji):
    assert reactions.reaction_emoji_validate(emoji) == emoji


async def test_bad_bodies_and_sequence_numbers_are_422(async_client):
    chat_id, (ana, _) = await group_with_message("en", "es")
    path = f"{CHATS}/{chat_id}/messages/1/reaction"
    for body in ({}, {"emoji": "👍", "extra": 1}, {"reaction": "👍"}):
        response = await async_client.put(
            path, body, content_type="application/json", **_auth(user_token(ana))
        )
        assert response.status_code == 422, (body, response.content)
    for seq in (0, 10**12, 10**30):
        assert (await react(async_client, chat_id, seq, "👍", ana)).status_code == 422
    assert await stored_reactions(chat_id) == {}


async def test_a_chat_one_is_not_in_or_a_missing_message_is_404(async_client):
    chat_id, (ana, _) = await group_with_message("en", "es")
    outsider = await run_blocking(user_create)(language="de")
    for target_chat, seq, person in (
        (chat_id, 1, outsider),
        ("0" * 32, 1, ana),
        (chat_id, 2, ana),
    ):
        response = await react(async_client, target_chat, seq, "👍", person)
        assert response.status_code == 404, response.content
    response = await react(async_client, chat_id, 1, "👍", outsider)
    assert response.json() == {"detail": "Chat not found"}
    assert await stored_reactions(chat_id) == {}


async def test_a_deleted_message_takes_no_reactions_and_shows_none_it_had(async_client):
    chat_id, (ana, bob) = await group_with_message("en", "es")
    assert (await react(async_client, chat_id, 1, "👍", bob)).status_code == 200
    await actions.do_delete_message(user=ana, chat_id=chat_id, seq=1)
    response = await react(async_client, chat_id, 1, "❤️", bob)
    assert response.status_code == 409, response.content
    history = await async_client.get(
        f"/api/chats/{chat_id}/messages", headers={"Authorization": f"Bearer {user_token(bob)}"}
    )
    (tombstone,) = history.json()["messages"]
    assert tombstone["deleted"] is True
    assert "reactions" not in tombstone


async def test_reacting_keeps_a_translation_stored_between_its_read_and_its_write(
    async_client, monkeypatch
):
    chat_id, (ana, bob) = await group_with_message("en", "es")
    read = reactions.message_get

    def message_get_then_translation_lands(**kwargs):
        message = read(**kwargs)
        # Another writer (a reader's late translation) stores a language meanwhile.
        services.message_translations_add(chat_id=chat_id, seq=1, translations={"ja": "勝った!"})
        return message

    monkeypatch.setattr(reactions, "message_get", message_get_then_translation_lands)
    ok(await react(async_client, chat_id, 1, "👍", bob))

    message = await run_blocking(message_get)(chat_id=chat_id, seq=1)
    assert map_as_dict(message.translations)["ja"] == "勝った!"
    assert reactions.reactions_of(message) == {bob.user_id: "👍"}


async def test_reactions_are_rate_limited(async_client, settings):
    settings.REACTION_RATE_LIMIT_COUNT = 3
    chat_id, (ana, _) = await group_with_message("en", "es")
    for _ in range(3):
        ok(await react(async_client, chat_id, 1, "👍", ana))
    refused = await react(async_client, chat_id, 1, "👍", ana)
    assert refused.status_code == 429 and "Retry-After" in refused
    assert await stored_reactions(chat_id) == {ana.user_id: "👍"}

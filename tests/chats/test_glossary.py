"""A chat's glossary and each reader's formality over REST (apps/chats/glossary.py,
apps/chats/reader_choices.py), with `glossary_updated` on the members' real sockets."""

import asyncio

import pytest

from apps.chats import actions, selectors, services
from apps.chats.glossary import GLOSSARY_MAX_ENTRIES
from apps.core.concurrency import run_blocking
from tests.support.accounts import user_create, user_token
from tests.support.dynamo_calls import dynamo_calls

CHATS = "/api/chats"


def _auth(token):
    return {"headers": {"Authorization": f"Bearer {token}"}}


async def put(client, path, body, token):
    return await client.put(path, body, content_type="application/json", **_auth(token))


async def get(client, path, token):
    return await client.get(path, **_auth(token))


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content)
    return response.json()


async def group_of(*languages):
    people = [await run_blocking(user_create)(language=language) for language in languages]
    created = await run_blocking(services.chat_group_create)(
        user=people[0], title="Family", usernames=[person.username for person in people[1:]]
    )
    return created.membership.chat_id, people


def _is(kind):
    return lambda frame: frame.get("type") == kind


async def test_any_member_edits_the_glossary_and_every_member_hears_of_it(async_client, sockets):
    chat_id, (ana, bob, carla) = await group_of("es", "en", "fr")
    path = f"{CHATS}/{chat_id}/glossary"
    assert ok(await get(async_client, path, user_token(bob))) == {
        "chat_id": chat_id,
        "version": 0,
        "entries": [],
    }
    bob_socket = await sockets.open(bob)
    carla_socket = await sockets.open(carla)
    outsider = await run_blocking(user_create)(language="de")
    outsider_socket = await sockets.open(outsider)

    entries = [
        {"term": "abuela", "rendering": "grandma"},
        {"term": "  Nico's  ", "rendering": None},
    ]
    stored = ok(await put(async_client, path, {"version": 0, "entries": entries}, user_token(ana)))

    expected = {
        "chat_id": chat_id,
        "version": 1,
        "entries": [
            {"term": "abuela", "rendering": "grandma"},
            {"term": "Nico's", "rendering": None},
        ],
    }
    assert stored == expected
    for socket in (bob_socket, carla_socket):
        frame = await socket.wait_for(_is("glossary_updated"))
        assert frame == {
            "type": "glossary_updated",
            "chat_id": chat_id,
            "user_id": ana.user_id,
            "glossary": expected,
        }
    assert ok(await get(async_client, path, user_token(carla))) == expected
    await outsider_socket.ping()
    assert not [
        frame for frame in outsider_socket.frames if frame.get("type") == "glossary_updated"
    ]

    # Another member edits from the version they read.
    edited = ok(
        await put(
            async_client,
            path,
            {"version": 1, "entries": [{"term": "Nico's", "rendering": None}]},
            user_token(bob),
        )
    )
    assert edited["version"] == 2 and edited["entries"] == [{"term": "Nico's", "rendering": None}]


async def test_an_edit_from_a_stale_version_is_refused_409_and_changes_nothing(async_client):
    chat_id, (ana, bob, _) = await group_of("es", "en", "fr")
    path = f"{CHATS}/{chat_id}/glossary"
    first = [{"term": "abuela", "rendering": "grandma"}]
    ok(await put(async_client, path, {"version": 0, "entries": first}, user_token(ana)))

    # Bob read version 0 too; creating it again, or editing an older version, is refused.
    for version in (0, 5):
        response = await put(
            async_client,
            path,
            {"version": version, "entries": [{"term": "tía", "rendering": "auntie"}]},
            user_token(bob),
        )
        assert response.status_code == 409, response.content

    stored = await run_blocking(selectors.glossary_get)(chat_id=chat_id)
    assert stored.version == 1
    assert [(entry.term, entry.rendering) for entry in stored.entries] == [("abuela", "grandma")]


async def test_two_concurrent_edits_of_one_version_store_exactly_one(async_client):
    chat_id, (ana, bob, _) = await group_of("es", "en", "fr")
    path = f"{CHATS}/{chat_id}/glossary"
    responses = await asyncio.gather(
        put(
            async_client,
            path,
            {"version": 0, "entries": [{"term": "A", "rendering": None}]},
            user_token(ana),
        ),
        put(
            async_client,
            path,
            {"version": 0, "entries": [{"term": "B", "rendering": None}]},
            user_token(bob),
        ),
    )
    assert sorted(response.status_code for response in responses) == [200, 409]
    stored = await run_blocking(selectors.glossary_get)(chat_id=chat_id)
    assert stored.version == 1 and len(stored.entries) == 1


async def test_a_non_member_gets_404_for_the_glossary_as_for_a_missing_chat(async_client):
    chat_id, (ana, _, _) = await group_of("es", "en", "fr")
    outsider = await run_blocking(user_create)(language="de")
    path = f"{CHATS}/{chat_id}/glossary"
    good = {"version": 0, "entries": [{"term": "abuela", "rendering": "grandma"}]}
    for target in (path, f"{CHATS}/{'0' * 32}/glossary"):
        read = await get(async_client, target, user_token(outsider))
        write = await put(async_client, target, good, user_token(outsider))
        assert read.status_code == write.status_code == 404
        assert read.json() == write.json() == {"detail": "Chat not found"}
    assert (await run_blocking(selectors.glossary_get)(chat_id=chat_id)).version == 0


@pytest.mark.parametrize(
    "body",
    [
        {"entries": []},
        {"version": "0", "entries": []},
        {"version": -1, "entries": []},
        {"version": True, "entries": []},
        {"version": 2**53, "entries": []},
        {"version": 12345678901234567890123456789012345678901, "entries": []},
        {"version": 0},
        {"version": 0, "entries": {"term": "x"}},
        {"version": 0, "entries": ["abuela"]},
        {"version": 0, "entries": [{"term": "", "rendering": None}]},
        {"version": 0, "entries": [{"term": "   ", "rendering": None}]},
        {"version": 0, "entries": [{"term": "x" * 61, "rendering": None}]},
        {"version": 0, "entries": [{"term": "abuela", "rendering": "g" * 61}]},
        {"version": 0, "entries": [{"term": "abuela", "rendering": ""}]},
        {"version": 0, "entries": [{"term": "abuela", "rendering": 3}]},
        {"version": 0, "entries": [{"term": "a\u0000b", "rendering": None}]},
        {"version": 0, "entries": [{"term": "abuela", "rendering": None, "note": "x"}]},
        {
            "version": 0,
            "entries": [
                {"term": "Abuela", "rendering": None},
                {"term": "abuela", "rendering": "grandma"},
            ],
        },
        {
            "version": 0,
            "entries": [
                {"term": f"t{n}", "rendering": None} for n in range(GLOSSARY_MAX_ENTRIES + 1)
            ],
        },
        {"version": 0, "entries": [], "extra": 1},
    ],
)
async def test_bad_glossary_edits_answer_422_and_change_nothing(async_client, body):
    chat_id, (ana, _, _) = await group_of("es", "en", "fr")
    response = await put(async_client, f"{CHATS}/{chat_id}/glossary", body, user_token(ana))
    assert response.status_code == 422, response.content
    assert (await run_blocking(selectors.glossary_get)(chat_id=chat_id)).version == 0


async def test_the_fullest_glossary_allowed_is_stored(async_client):
    chat_id, (ana, _, _) = await group_of("es", "en", "fr")
    entries = [{"term": f"{n:02d}" + "t" * 58, "rendering": "r" * 60} for n in range(50)]
    stored = ok(
        await put(
            async_client,
            f"{CHATS}/{chat_id}/glossary",
            {"version": 0, "entries": entries},
            user_token(ana),
        )
    )
    assert stored["entries"] == entries


async def test_the_translation_profile_splits_kept_terms_from_renderings_in_one_request(
    async_client,
):
    chat_id, (ana, bob, carla) = await group_of("es", "en", "fr")
    entries = [
        {"term": "abuela", "rendering": "grandma"},
        {"term": "Nico's", "rendering": None},
    ]
    ok(
        await put(
            async_client,
            f"{CHATS}/{chat_id}/glossary",
            {"version": 0, "entries": entries},
            user_token(ana),
        )
    )
    languages = {ana.user_id: "es", bob.user_id: "en", carla.user_id: "fr"}
    with dynamo_calls() as calls:
        reads = await run_blocking(selectors.translation_profile_read)(
            chat_id=chat_id, member_languages=languages
        )
    # The glossary, the names and the formality choices: one request for the three tables.
    assert [name for name, _ in calls] == ["BatchGetItem"]
    assert len(calls[0][1]["RequestItems"]) == 3
    assert reads.glossary.kept == ("Nico's",)
    assert reads.glossary.renderings == {"abuela": "grandma"}

    members = reads.members
    # tests/support/accounts.py names everyone "Test Person".
    assert {name for member in members.values() for name in member.kept} == {
        "Test",
        "Person",
        ana.username,
        bob.username,
        carla.username,
    }
    for person in (ana, bob, carla):
        kept = members[person.user_id].kept
        assert kept == ("Test", "Person", person.username) and len(kept) == len(set(kept))


async def test_each_reader_chooses_formality_per_chat_for_themselves_only(async_client):
    chat_id, (ana, bob, _) = await group_of("es", "en", "fr")
    path = f"{CHATS}/{chat_id}/preferences"
    assert ok(await get(async_client, path, user_token(ana))) == {
        "chat_id": chat_id,
        "formality": None,
    }
    assert ok(await put(async_client, path, {"formality": "formal"}, user_token(ana))) == {
        "chat_id": chat_id,
        "formality": "formal",
    }
    assert ok(await get(async_client, path, user_token(ana)))["formality"] == "formal"
    assert ok(await get(async_client, path, user_token(bob)))["formality"] is None

    for bad in ({"formality": "polite"}, {"formality": 1}, {}, {"formality": None, "x": 1}):
        response = await put(async_client, path, bad, user_token(ana))
        assert response.status_code == 422, (bad, response.content)
    assert ok(await get(async_client, path, user_token(ana)))["formality"] == "formal"

    assert (
        ok(await put(async_client, path, {"formality": None}, user_token(ana)))["formality"] is None
    )
    row = await run_blocking(selectors.chat_membership_get)(user_id=ana.user_id, chat_id=chat_id)
    assert row.formality is None


async def test_formality_of_a_chat_one_is_not_in_is_404_and_writes_no_row(async_client):
    chat_id, _ = await group_of("es", "en", "fr")
    outsider = await run_blocking(user_create)(language="de")
    path = f"{CHATS}/{chat_id}/preferences"
    assert (await get(async_client, path, user_token(outsider))).status_code == 404
    response = await put(async_client, path, {"formality": "formal"}, user_token(outsider))
    assert response.status_code == 404
    row = await run_blocking(selectors.chat_membership_get)(
        user_id=outsider.user_id, chat_id=chat_id
    )
    assert row is None


async def test_a_chat_deleted_with_its_last_member_takes_its_glossary_along(async_client):
    chat_id, people = await group_of("es", "en", "fr")
    body = {"version": 0, "entries": [{"term": "Nico", "rendering": None}]}
    ok(await put(async_client, f"{CHATS}/{chat_id}/glossary", body, user_token(people[0])))

    for person in people:
        await actions.do_delete_user(user=person)

    assert await run_blocking(selectors.chat_get)(chat_id=chat_id) is None
    assert (await run_blocking(selectors.glossary_get)(chat_id=chat_id)).version == 0


async def test_a_languages_formality_is_the_one_its_readers_in_the_chat_agree_on(async_client):
    chat_id, (ana, bob, carla) = await group_of("es", "es", "fr")
    dora = await run_blocking(user_create)(language="de")
    await run_blocking(services.chat_member_add)(user=ana, chat_id=chat_id, username=dora.username)
    path = f"{CHATS}/{chat_id}/preferences"
    ok(await put(async_client, path, {"formality": "formal"}, user_token(ana)))
    ok(await put(async_client, path, {"formality": "informal"}, user_token(carla)))
    languages = {ana.user_id: "es", bob.user_id: "es", carla.user_id: "fr", dora.user_id: "de"}

    async def by_language():
        reads = await run_blocking(selectors.translation_profile_read)(
            chat_id=chat_id, member_languages=languages
        )
        return reads.formality

    # Bob, who also reads Spanish, chose nothing: Spanish is left to the model.
    assert await by_language() == {"fr": "informal"}
    ok(await put(async_client, path, {"formality": "informal"}, user_token(bob)))
    assert await by_language() == {"fr": "informal"}
    ok(await put(async_client, path, {"formality": "formal"}, user_token(bob)))
    assert await by_language() == {"es": "formal", "fr": "informal"}

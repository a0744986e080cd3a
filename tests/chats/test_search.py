"""Message search (apps/chats/search.py, search_index.py, `GET /api/search`), through the ASGI
test client against the real moto server and Redis, translations from the loopback fake of
OpenAI told what to answer.

The index is written by a background task after each commit: tests wait for it with
`background_tasks_settle`.
"""

import asyncio
import threading
from io import StringIO

import pytest
from django.core.management import call_command

from apps.chats import actions, search_index, services
from apps.chats.models import SearchToken
from apps.chats.owed_sweeper import OwedTranslationSweeper
from apps.chats.owed_translations import owed_retry_delay
from apps.chats.protocol import SearchPage
from apps.chats.search_index import (
    RegisteredKeys,
    found_key,
    found_key_parse,
    registry_key,
    search_entries_write,
    search_index_later,
    token_key,
    user_search_entries_delete,
)
from apps.chats.selectors import message_range
from apps.chats.translation import translation_clients_close
from apps.core.background import (
    background_task_cancel,
    background_tasks_named,
    background_tasks_settle,
)
from apps.core.concurrency import run_blocking
from apps.core.dynamo import dynamo_pages_delete
from tests.support.accounts import user_create, user_token
from tests.support.loops import owed_translation_retries_cancel
from tests.support.protocol_check import protocol_check

SEARCH = "/api/search"

SPANISH = "Nos vemos mañana en la biblioteca del centro"
ENGLISH = "See you tomorrow at the library downtown"
FRENCH = "On se voit demain à la bibliothèque du centre"


def _translator(text: str, target: str) -> str:
    known = {("en", SPANISH): ENGLISH, ("fr", SPANISH): FRENCH}
    return known.get((target, text), f"[{target}] {text}")


@pytest.fixture(autouse=True)
async def _tidy_event_loop():
    yield
    await owed_translation_retries_cancel()
    await background_tasks_settle()
    await translation_clients_close()


@pytest.fixture
def translating(translator):
    translator.translator = _translator
    return translator


async def person(language: str):
    user = await run_blocking(user_create)(language=language)
    return user, user_token(user)


async def direct_chat(user, other) -> str:
    created = await run_blocking(services.chat_direct_create)(
        user=user, other_username=other.username
    )
    return created.membership.chat_id


async def group_chat(owner, *others) -> str:
    created = await run_blocking(services.chat_group_create)(
        user=owner, title="Book club", usernames=[other.username for other in others]
    )
    return created.membership.chat_id


async def say(user, chat_id, text) -> int:
    outcome = await actions.do_send_message(user=user, chat_id=chat_id, text=text)
    await background_tasks_settle()
    return int(outcome.message["seq"])


async def search(client, token, status=200, **params):
    response = await client.get(SEARCH, params, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    if status == 200:
        # Exactly the shape apps/chats/protocol.py declares (and protocol.ts is generated from).
        protocol_check(body, SearchPage, what="GET /api/search")
    return body


async def found_seqs(client, token, q) -> list[tuple[str, int]]:
    page = await search(client, token, q=q)
    return [(result["chat_id"], result["seq"]) for result in page["results"]]


def marked(result) -> list[str]:
    return [part["text"] for part in result["snippet"] if part["match"]]


async def _partitions() -> dict[str, set[str]]:
    """Every partition of the index with its sort keys (the test's own Scan)."""

    def read() -> dict[str, set[str]]:
        partitions: dict[str, set[str]] = {}
        for item in SearchToken.scan(consistent_read=True):
            partitions.setdefault(item.token_key, set()).add(item.found)
        return partitions

    return await run_blocking(read)()


def _registry_matches_index(partitions: dict[str, set[str]], user_id: str) -> bool:
    """The user's registry lists exactly the hashes of their index partitions."""
    hashes = {
        key.removeprefix(f"{user_id}#")
        for key in partitions
        if key.startswith(f"{user_id}#") and key != registry_key(user_id=user_id)
    }
    return bool(hashes) and partitions.get(registry_key(user_id=user_id)) == hashes


async def _index_forget() -> None:
    """Play a crash between the commit and the index write: the index is empty."""

    def forget() -> None:
        connection = SearchToken._get_connection()
        dynamo_pages_delete(
            connection=connection,
            read=lambda start: connection.scan(
                attributes_to_get=["token_key", "found"], exclusive_start_key=start
            ),
        )

    await run_blocking(forget)()


# --- Finding across languages ------------------------------------------------------------


async def test_a_reader_finds_a_message_in_their_language_and_by_the_words_of_the_original(
    async_client, translating
):
    eva, eva_token = await person("es")
    amy, amy_token = await person("en")
    chat_id = await direct_chat(eva, amy)
    seq = await say(eva, chat_id, SPANISH)

    page = await search(async_client, amy_token, q="Library")
    (result,) = page["results"]
    assert page["next_cursor"] is None
    assert (result["chat_id"], result["seq"]) == (chat_id, seq)
    assert result["message"]["text"] == ENGLISH
    assert result["message"]["original_text"] == SPANISH
    assert result["chat_name"] == eva.username
    assert result["kind"] == "direct"
    assert result["sender_name"] == "Test Person"
    assert marked(result) == ["library"]
    assert "".join(part["text"] for part in result["snippet"]) == ENGLISH
    assert result["snippet_is_original"] is False

    # A word of the Spanish original, typed without its accent.
    (by_original,) = (await search(async_client, amy_token, q="manana"))["results"]
    assert by_original["message"]["text"] == ENGLISH
    assert by_original["snippet_is_original"] is True
    assert marked(by_original) == ["mañana"]
    # Every word must be there.
    assert await found_seqs(async_client, amy_token, "library tomorrow") == [(chat_id, seq)]
    assert await found_seqs(async_client, amy_token, "library yesterday") == []

    # The writer reads the original: found by its words, not by the English translation.
    assert await found_seqs(async_client, eva_token, "BIBLIOTECA") == [(chat_id, seq)]
    assert await found_seqs(async_client, eva_token, "library") == []


async def test_every_member_of_a_group_finds_it_in_their_own_language(async_client, translating):
    eva, _ = await person("es")
    amy, amy_token = await person("en")
    fio, fio_token = await person("fr")
    chat_id = await group_chat(eva, amy, fio)
    seq = await say(eva, chat_id, SPANISH)

    (for_fio,) = (await search(async_client, fio_token, q="bibliothèque"))["results"]
    assert for_fio["message"]["text"] == FRENCH
    assert for_fio["chat_name"] == "Book club"
    assert for_fio["kind"] == "group"
    assert await found_seqs(async_client, amy_token, "downtown") == [(chat_id, seq)]
    # A reader's index holds their language and the original, not the others' translations.
    assert await found_seqs(async_client, amy_token, "bibliotheque") == []


async def test_nobody_finds_the_messages_of_chats_they_are_not_in(async_client, translating):
    eva, _ = await person("es")
    amy, _ = await person("en")
    carl, carl_token = await person("en")
    chat_id = await direct_chat(eva, amy)
    await say(eva, chat_id, SPANISH)

    assert await found_seqs(async_client, carl_token, "library") == []
    assert await found_seqs(async_client, carl_token, "biblioteca") == []


async def test_a_chat_one_has_left_is_no_longer_searched(async_client, translating):
    eva, _ = await person("es")
    amy, amy_token = await person("en")
    fio, fio_token = await person("fr")
    chat_id = await group_chat(eva, amy, fio)
    seq = await say(eva, chat_id, SPANISH)
    assert await found_seqs(async_client, fio_token, "bibliotheque") == [(chat_id, seq)]

    await actions.do_leave_chat(user=fio, chat_id=chat_id)

    assert await found_seqs(async_client, fio_token, "bibliotheque") == []
    assert await found_seqs(async_client, amy_token, "library") == [(chat_id, seq)]


async def test_a_deleted_message_is_not_found(async_client, translating):
    eva, _ = await person("es")
    amy, amy_token = await person("en")
    chat_id = await direct_chat(eva, amy)
    kept = await say(eva, chat_id, "La biblioteca abre a las nueve")
    gone = await say(eva, chat_id, SPANISH)
    assert [s for _, s in await found_seqs(async_client, amy_token, "biblioteca")] == [gone, kept]

    await actions.do_delete_message(user=eva, chat_id=chat_id, seq=gone)
    await background_tasks_settle()

    assert [s for _, s in await found_seqs(async_client, amy_token, "biblioteca")] == [kept]
    # Its entries are gone from every reader's index, not only filtered out when read.
    named = {found for founds in (await _partitions()).values() for found in founds}
    assert {found_key_parse(found).seq for found in named if found_key_parse(found)} == {kept}


async def test_an_edited_message_is_found_by_its_new_words_and_no_longer_by_the_old(
    async_client, translating
):
    eva, eva_token = await person("es")
    amy, amy_token = await person("en")
    chat_id = await direct_chat(eva, amy)
    seq = await say(eva, chat_id, "Nos vemos en el parque")
    assert await found_seqs(async_client, eva_token, "parque") == [(chat_id, seq)]

    await actions.do_edit_message(user=eva, chat_id=chat_id, seq=seq, text="Nos vemos en el museo")
    await background_tasks_settle()

    assert await found_seqs(async_client, eva_token, "museo") == [(chat_id, seq)]
    assert await found_seqs(async_client, amy_token, "museo") == [(chat_id, seq)]
    assert await found_seqs(async_client, eva_token, "parque") == []
    # The entries of the word the edit took away are gone; those of the words it kept stay.
    partitions = await _partitions()
    for reader in (eva, amy):
        assert token_key(user_id=reader.user_id, token="parque") not in partitions
        assert token_key(user_id=reader.user_id, token="vemos") in partitions


# --- The index follows the translations -------------------------------------------------


async def test_a_translation_that_arrives_later_is_searchable_once_stored(
    async_client, translating
):
    eva, _ = await person("es")
    amy, amy_token = await person("en")
    chat_id = await direct_chat(eva, amy)
    translating.fail_status = 500
    outcome = await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH)
    seq = int(outcome.message["seq"])
    # The sending instance dies before its own retries: the sweep makes what is owed.
    await owed_translation_retries_cancel()
    await background_tasks_settle()
    # Stored untranslated: found by the original's words only.
    assert await found_seqs(async_client, amy_token, "biblioteca") == [(chat_id, seq)]
    assert await found_seqs(async_client, amy_token, "library") == []

    translating.fail_status = None
    await asyncio.sleep(owed_retry_delay(1) + 0.05)
    await OwedTranslationSweeper(interval_seconds=1).sweep()
    await background_tasks_settle()

    (result,) = (await search(async_client, amy_token, q="library"))["results"]
    assert result["message"]["text"] == ENGLISH


async def test_the_reindex_command_restores_what_a_crash_lost(async_client, translating):
    eva, _ = await person("es")
    amy, amy_token = await person("en")
    chat_id = await direct_chat(eva, amy)
    other_chat = await direct_chat(amy, (await person("es"))[0])
    seq = await say(eva, chat_id, SPANISH)
    other_seq = await say(amy, other_chat, "The library is closed")
    await _index_forget()
    assert await found_seqs(async_client, amy_token, "library") == []

    out = StringIO()
    await run_blocking(call_command)("search_reindex", "--chat", chat_id, stdout=out)
    assert "index entries written" in out.getvalue()
    assert await found_seqs(async_client, amy_token, "library") == [(chat_id, seq)]

    await run_blocking(call_command)("search_reindex", "--user", amy.user_id, stdout=StringIO())
    assert await found_seqs(async_client, amy_token, "library") == [
        (other_chat, other_seq),
        (chat_id, seq),
    ]
    # The registry is written again too, though this process wrote the same keys before (an
    # index written before the registry existed gets one by a reindex).
    partitions = await _partitions()
    assert _registry_matches_index(partitions, amy.user_id)
    assert _registry_matches_index(partitions, eva.user_id)


# --- The per-reader registry (account deletion) ----------------------------------------------


async def test_each_reader_has_a_registry_of_the_hashes_they_have_items_under(
    async_client, translating
):
    eva, eva_token = await person("es")
    amy, amy_token = await person("en")
    chat_id = await direct_chat(eva, amy)
    await say(eva, chat_id, SPANISH)
    await say(amy, chat_id, "The library is closed")

    partitions = await _partitions()
    assert _registry_matches_index(partitions, eva.user_id)
    assert _registry_matches_index(partitions, amy.user_id)
    # A search never reads a registry: the word "tokens" is a hash like any other.
    await say(amy, chat_id, "tokens tokens")
    assert await found_seqs(async_client, amy_token, "tokens") == [(chat_id, 3)]
    assert await found_seqs(async_client, eva_token, "tokens") == [(chat_id, 3)]


def test_a_key_is_registered_once_per_process_while_remembered():
    written: list[tuple[str, str]] = []
    registered = RegisteredKeys(capacity=2)

    class Batch:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def save(self, item):
            written.append((item.token_key, item.found))

    entries = [("u1#" + "a" * 16, "f1"), ("u1#" + "a" * 16, "f2"), ("u2#" + "b" * 16, "f1")]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SearchToken, "batch_write", lambda: Batch())
        assert search_entries_write(entries=entries, registered=registered) == 3
        registry_writes = [pair for pair in written if pair[0].endswith("#tokens")]
        assert registry_writes == [("u1#tokens", "a" * 16), ("u2#tokens", "b" * 16)]
        written.clear()
        search_entries_write(entries=entries, registered=registered)
        assert [pair for pair in written if pair[0].endswith("#tokens")] == []
        # Past its capacity the oldest is forgotten, and written again (which changes nothing).
        search_entries_write(entries=[("u3#" + "c" * 16, "f1")], registered=registered)
        written.clear()
        search_entries_write(entries=entries[:1], registered=registered)
        assert [pair for pair in written if pair[0].endswith("#tokens")] == [
            ("u1#tokens", "a" * 16)
        ]


async def _stored_messages_unindexed(count: int):
    """A chat of `count` stored messages whose index entries were lost, with its languages."""
    ana, _ = await person("es")
    ben, _ = await person("en")
    chat_id = await direct_chat(ana, ben)
    for number in range(count):
        await say(ana, chat_id, f"mensaje numero {number} del dia")
    await _index_forget()
    messages = await run_blocking(message_range)(chat_id=chat_id, after_seq=0, limit=count)
    return messages, {ana.user_id: "es", ben.user_id: "en"}


def _indexed(partitions: dict[str, set[str]], message) -> bool:
    return any(found_key(message=message) in founds for founds in partitions.values())


@pytest.fixture
def index_writes(monkeypatch) -> list[int]:
    """How many entries each index write of the queue carried, in order (the writes happen)."""
    writes: list[int] = []
    real_write = search_index.search_entries_write

    def counted_write(*, entries):
        writes.append(len(entries))
        return real_write(entries=entries)

    monkeypatch.setattr(search_index, "search_entries_write", counted_write)
    return writes


async def test_indexing_a_burst_takes_at_most_two_writers_and_writes_messages_together(
    translating, index_writes
):
    messages, member_languages = await _stored_messages_unindexed(12)
    index_writes.clear()  # the setup's own sends
    for message in messages:
        search_index_later(message=message, member_languages=member_languages)
    assert 1 <= len(background_tasks_named(name="search-index")) <= 2
    await background_tasks_settle()
    partitions = await _partitions()
    assert all(_indexed(partitions, message) for message in messages)
    # The twelve messages went out in one or two writes, not twelve.
    assert 1 <= len(index_writes) <= 2


async def test_messages_a_few_milliseconds_apart_are_indexed_in_one_write(
    translating, index_writes
):
    messages, member_languages = await _stored_messages_unindexed(4)
    index_writes.clear()  # the setup's own sends
    for message in messages:
        search_index_later(message=message, member_languages=member_languages)
        await asyncio.sleep(0.02)
    await background_tasks_settle()
    partitions = await _partitions()
    assert all(_indexed(partitions, message) for message in messages)
    # One write of all four messages' entries: the writer lingered for the later ones.
    assert len(index_writes) == 1


async def test_past_the_waiting_bound_the_oldest_messages_are_dropped_not_held(
    translating, monkeypatch
):
    messages, member_languages = await _stored_messages_unindexed(5)
    monkeypatch.setattr(search_index, "INDEX_WAITING_MAX", 3)
    dropped_before = search_index._index_queue.dropped
    for message in messages:
        search_index_later(message=message, member_languages=member_languages)
    await background_tasks_settle()
    assert search_index._index_queue.dropped - dropped_before == 2
    partitions = await _partitions()
    assert [_indexed(partitions, message) for message in messages] == [
        False,
        False,
        True,
        True,
        True,
    ]


async def test_a_stopping_server_waits_for_one_slice_of_the_backlog_not_all_of_it(
    translating, monkeypatch
):
    messages, member_languages = await _stored_messages_unindexed(6)
    monkeypatch.setattr(search_index, "INDEX_ITEMS_PER_CALL", 25)
    released, written = threading.Event(), threading.Event()
    calls: list[int] = []
    real_write = search_index.search_entries_write

    def held_write(*, entries):
        calls.append(len(entries))
        released.wait(10)
        try:
            return real_write(entries=entries)
        finally:
            written.set()

    monkeypatch.setattr(search_index, "search_entries_write", held_write)
    for message in messages:
        search_index_later(message=message, member_languages=member_languages)
    while not calls:
        await asyncio.sleep(0.01)
    # What a stopping server does to the writer: its task is gone, and the interpreter waits
    # for the blocking call in flight before it exits.
    background_task_cancel(name="search-index")
    released.set()
    while not written.is_set():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # room for a further call, were there one
    assert calls == [25]
    partitions = await _partitions()
    items = sum(len(found) for key, found in partitions.items() if not key.endswith("#tokens"))
    assert items == 25
    # The six messages have far more entries than that: the rest were never written.
    assert not all(_indexed(partitions, message) for message in messages)


async def test_a_flush_writes_what_waits_at_once_and_the_write_in_flight(translating, monkeypatch):
    messages, member_languages = await _stored_messages_unindexed(4)
    # Were the flush to wait for the linger, it would not be done within the test's 5 s.
    monkeypatch.setattr(search_index, "INDEX_LINGER_SECONDS", 30)
    monkeypatch.setattr(search_index, "INDEX_MESSAGES_PER_WRITE", 2)
    entered, released = threading.Event(), threading.Event()
    real_write = search_index.search_entries_write

    def held_write(*, entries):
        entered.set()
        released.wait(10)
        return real_write(entries=entries)

    monkeypatch.setattr(search_index, "search_entries_write", held_write)
    # Two waiting make a full write: a writer takes them at once, and is held writing...
    for message in messages[:2]:
        search_index_later(message=message, member_languages=member_languages)
    async with asyncio.timeout(5):
        while not entered.is_set():
            await asyncio.sleep(0.005)
    # ...while two more wait behind it.
    for message in messages[2:]:
        search_index_later(message=message, member_languages=member_languages)
    flushing = asyncio.ensure_future(search_index.search_index_flush())
    await asyncio.sleep(0.2)
    assert not flushing.done()  # it waits for the write in flight
    released.set()
    await asyncio.wait_for(flushing, 5)
    partitions = await _partitions()
    assert [_indexed(partitions, message) for message in messages] == [True] * 4
    background_task_cancel(name="search-index")


async def test_deleting_a_readers_entries_takes_every_item_and_the_registry_and_no_one_elses(
    async_client, translating
):
    eva, eva_token = await person("es")
    amy, _ = await person("en")
    chat_id = await direct_chat(eva, amy)
    seq = await say(eva, chat_id, SPANISH)
    # More items than one page of a Query or one batch of deletes.
    for n in range(30):
        await say(amy, chat_id, f"library note {n} about word{n}a word{n}b")

    hashes = await run_blocking(user_search_entries_delete)(user_id=amy.user_id)

    partitions = await _partitions()
    assert hashes > 25
    assert [key for key in partitions if key.startswith(f"{amy.user_id}#")] == []
    assert _registry_matches_index(partitions, eva.user_id)
    assert (chat_id, seq) in await found_seqs(async_client, eva_token, "biblioteca")
    # Nothing left: a second run finds nothing to do.
    assert await run_blocking(user_search_entries_delete)(user_id=amy.user_id) == 0


async def test_the_reindex_command_refuses_an_unknown_chat():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no chat"):
        await run_blocking(call_command)("search_reindex", "--chat", "nope", stdout=StringIO())


# --- Pages, bad queries, limits --------------------------------------------------------------


async def test_results_come_newest_first_a_page_at_a_time(async_client, translating):
    amy, amy_token = await person("en")
    bob, _ = await person("en")
    chat_id = await direct_chat(amy, bob)
    seqs = [await say(bob, chat_id, f"Meeting number {n} is moved") for n in range(5)]
    await say(bob, chat_id, "Something else entirely")

    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params = {"q": "meeting moved", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await search(async_client, amy_token, **params)
        seen += [result["seq"] for result in page["results"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(seqs))


async def test_bad_queries_answer_422(async_client):
    amy, token = await person("en")
    for params in (
        {},
        {"q": "   "},
        {"q": "a ! ?"},
        {"q": "x" * 101},
        {"q": "one two three four five six seven"},
        {"q": "fine", "limit": "0"},
        {"q": "fine", "limit": "51"},
        {"q": "fine", "cursor": "not-a-cursor"},
        {"q": "bad\x00text"},
    ):
        body = await search(async_client, token, status=422, **params)
        assert body["detail"], params
    response = await async_client.get(SEARCH, {"q": "fine"})
    assert response.status_code == 401


async def test_searches_are_rate_limited_per_user(async_client, settings):
    settings.SEARCH_RATE_LIMIT_COUNT = 2
    settings.SEARCH_RATE_LIMIT_WINDOW_SECONDS = 3600
    amy, amy_token = await person("en")
    bob, bob_token = await person("en")
    for _ in range(2):
        await search(async_client, amy_token, q="hello")
    response = await async_client.get(
        SEARCH, {"q": "hello"}, headers={"Authorization": f"Bearer {amy_token}"}
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    # Another user's searches are their own.
    await search(async_client, bob_token, q="hello")

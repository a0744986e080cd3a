"""The search index: which reader can find which message by which word (the `search_tokens`
table, models.SearchToken; README "Search").

A reader can find a message by the words of the text they read (their translation, or the
original when they read it as written) and by the words of the original. The index is written
after the commit, off the send path: the actions hand each committed message (and each
translation stored later) to `search_index_later`, whose queue writes them from at most two
background tasks, the items of the messages of the last quarter second together, 25 to a
BatchWriteItem. A crash between the commit and that write loses the message's entries;
`manage.py search_reindex` writes them again from the messages table (Query, never Scan).
Writes are PutItems of fixed keys, so writing twice changes nothing.

A deleted message (a `deleted_at`, or no text left) gets no entries, and the entries it had are
deleted (`message_entries_delete`), as are those of the words an edit took away and of the
messages of a deleted account; any that escape (a write racing the delete) are dropped when a
search reads the message (search.py).

A reader's items cannot be listed by key (their partitions are `<user_id>#<token hash>`), so
each reader also has a registry of the hashes they have items under, in the same table:
partition `<user_id>#tokens` (never a 16-hex hash, so never a search's partition), sort key the
hash. It is written with the items, once per (reader, hash) this process has not written
lately (`RegisteredKeys`), and read when the account is deleted
(`user_search_entries_delete`): a Query per partition, never a Scan.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from apps.chats.models import SEQ_DIGITS, ChatMembership, Message, SearchToken, message_deleted
from apps.chats.presenters import ReadLanguages, member_read_languages, message_text_for
from apps.chats.search_tokens import search_tokens, token_hash
from apps.chats.selectors import chat_get, map_as_dict, message_range
from apps.core.background import background_task_start
from apps.core.concurrency import run_blocking
from apps.core.dynamo import BATCH_WRITE_MAX_ITEMS, dynamo_pages_delete

logger = logging.getLogger(__name__)

TIME_DIGITS = 13
REINDEX_PAGE_MESSAGES = 200
# Indexing's share of the blocking threads and of memory (_IndexQueue).
INDEX_WRITERS = 2
INDEX_MESSAGES_PER_WRITE = 50
INDEX_LINGER_SECONDS = 0.25
INDEX_WAITING_MAX = 10_000
# Index items per blocking call: ten full BatchWriteItems, so a stopping server waits for at
# most that many per writer.
INDEX_ITEMS_PER_CALL = 250
# The registry partition's suffix: not 16 hex digits, so no token's partition is ever named so.
REGISTRY_KEY_SUFFIX = "tokens"
# Token keys a process remembers having registered: about 20 MB at most, enough that the words
# people use again and again cost no second write.
REGISTERED_KEYS_MAX = 100_000


def token_key(*, user_id: str, token: str) -> str:
    return f"{user_id}#{token_hash(token)}"


def registry_key(*, user_id: str) -> str:
    """The partition listing the token hashes `user_id` has index items under."""
    return f"{user_id}#{REGISTRY_KEY_SUFFIX}"


def _token_key_split(key: str) -> tuple[str, str]:
    """(user_id, token hash) of an item's `token_key` (the hash holds no `#`)."""
    user_id, _, hashed = key.rpartition("#")
    return user_id, hashed


class RegisteredKeys:
    """The token keys (`<user_id>#<hash>`) whose registry item was written, the most recent
    `capacity` of them. Forgetting one only costs a write that changes nothing."""

    def __init__(self, capacity: int = REGISTERED_KEYS_MAX) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()
        # Index writes run on several blocking-pool threads at once.
        self._lock = threading.Lock()

    def unregistered(self, keys: Iterable[str]) -> list[str]:
        with self._lock:
            return [key for key in dict.fromkeys(keys) if key not in self._keys]

    def remember(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._keys[key] = None
                self._keys.move_to_end(key)
            while len(self._keys) > self._capacity:
                self._keys.popitem(last=False)

    def forget_user(self, user_id: str) -> None:
        prefix = f"{user_id}#"
        with self._lock:
            for key in [key for key in self._keys if key.startswith(prefix)]:
                del self._keys[key]


# What this process has registered (writes after each commit and translation).
registered_keys = RegisteredKeys()


def found_key(*, message: Message) -> str:
    """`<created_at ms>#<chat_id>#<seq>`: newest first in a Query read backwards."""
    millis = int(message.created_at.timestamp() * 1000)
    return f"{millis:0{TIME_DIGITS}d}#{message.chat_id}#{int(message.seq):0{SEQ_DIGITS}d}"


@dataclass(frozen=True)
class FoundKey:
    chat_id: str
    seq: int


def found_key_parse(found: str) -> FoundKey | None:
    """The message of an index item's sort key; None for anything else (a bad cursor)."""
    millis, _, rest = found.partition("#")
    chat_id, _, seq = rest.rpartition("#")
    if not (
        len(millis) == TIME_DIGITS
        and millis.isdigit()
        and chat_id
        and len(seq) == SEQ_DIGITS
        and seq.isdigit()
    ):
        return None
    return FoundKey(chat_id=chat_id, seq=int(seq))


def reader_tokens(
    *,
    message: Message,
    language: str,
    reader_id: str,
    read_languages,
    tokens_of: Callable[[str], list[str]] = search_tokens,
) -> list[str]:
    """The tokens one reader finds a message by: the words of what they read, then those of
    the original. `tokens_of` may remember texts already cut for the message's other readers."""
    text, _, _ = message_text_for(
        message=message, language=language, reader_id=reader_id, read_languages=read_languages
    )
    tokens = list(tokens_of(text))
    if text != message.original_text:
        own = set(tokens)
        tokens += [t for t in tokens_of(message.original_text) if t not in own]
    return tokens


def message_entries(
    *,
    message: Message,
    member_languages: Mapping[str, str],
    read_languages: ReadLanguages | None = None,
    languages: Iterable[str] | None = None,
) -> list[tuple[str, str]]:
    """(token_key, found) of every item the message's readers find it by; only the readers of
    `languages` when given (a translation that arrived later)."""
    # A deleted message is neither indexed nor found.
    if message_deleted(message):
        return []
    wanted = set(languages) if languages is not None else None
    reads = read_languages or {}
    found = found_key(message=message)
    entries: list[tuple[str, str]] = []
    # Every reader's tokens include the original's, and readers of one language read one text.
    tokens_of = functools.lru_cache(maxsize=None)(search_tokens)
    for reader_id, language in member_languages.items():
        if wanted is not None and language not in wanted:
            continue
        for token in reader_tokens(
            message=message,
            language=language,
            reader_id=reader_id,
            read_languages=reads.get(reader_id, ()),
            tokens_of=tokens_of,
        ):
            entries.append((token_key(user_id=reader_id, token=token), found))
    return entries


def search_entries_write(
    *, entries: Iterable[tuple[str, str]], registered: RegisteredKeys | None = None
) -> int:
    """Write index items, 25 to a BatchWriteItem (PynamoDB retries what DynamoDB leaves
    unprocessed), after the registry items of the token keys `registered` (this process's,
    unless given) does not know yet: an item is never written before its registry entry.
    Returns how many index items (registry items not counted)."""
    known = registered if registered is not None else registered_keys
    unique = list(dict.fromkeys(entries))
    keys = known.unregistered(key for key, _ in unique)
    with SearchToken.batch_write() as batch:
        for key in keys:
            user_id, hashed = _token_key_split(key)
            batch.save(SearchToken(registry_key(user_id=user_id), hashed))
        for key, found in unique:
            batch.save(SearchToken(key, found))
    # Only once written: a failed write registers them again next time.
    known.remember(keys)
    return len(unique)


def message_entries_delete(
    *,
    message: Message,
    member_languages: Mapping[str, str],
    read_languages: ReadLanguages | None = None,
    kept: Message | None = None,
) -> int:
    """Delete the index items `message` gave its readers: its words are gone (deleted for
    everyone, or its author's account deleted), or, with `kept` (the message as an edit left
    it), the words the edit took away. Keys are computed as when they were written, so no
    read is needed; absent ones cost a write unit each and change nothing. Returns how many."""
    entries = set(
        message_entries(
            message=message, member_languages=member_languages, read_languages=read_languages
        )
    )
    if kept is not None:
        entries -= set(
            message_entries(
                message=kept, member_languages=member_languages, read_languages=read_languages
            )
        )
    with SearchToken.batch_write() as batch:
        for key, found in entries:
            batch.delete(SearchToken(key, found))
    return len(entries)


def search_entries_forget_later(
    *,
    message: Message,
    member_languages: Mapping[str, str],
    read_languages: ReadLanguages | None = None,
    kept: Message | None = None,
) -> None:
    """`message_entries_delete` in a background task (edits and deletes are rare beside
    sends: no queue); a failure is logged, and a search drops what the entries still name."""
    member_languages = dict(member_languages)
    read_languages = dict(read_languages or {})

    async def delete() -> None:
        await run_blocking(message_entries_delete)(
            message=message,
            member_languages=member_languages,
            read_languages=read_languages,
            kept=kept,
        )

    background_task_start(delete(), name=f"search-index-forget-{message.chat_id}")


def user_search_entries_delete(*, user_id: str) -> int:
    """Delete every index item of `user_id` and their registry (account deletion): Query the
    registry a page at a time; for each hash, Query its partition (keys only) and delete it in
    batches; then delete that page of the registry. Interrupted, running it again finishes
    the job (a hash leaves the registry only after its items). Returns how many hashes."""
    # A write racing this one in this process then registers its key again.
    registered_keys.forget_user(user_id)
    connection = SearchToken._get_connection()
    hashes = 0
    start = None
    while True:
        page = _keys_page(connection, registry_key(user_id=user_id), start)
        items = page.get("Items", [])
        for item in items:
            partition = f"{user_id}#{item['found']['S']}"
            dynamo_pages_delete(
                connection=connection, read=functools.partial(_keys_page, connection, partition)
            )
        for offset in range(0, len(items), BATCH_WRITE_MAX_ITEMS):
            connection.batch_write_item(delete_items=items[offset : offset + BATCH_WRITE_MAX_ITEMS])
        hashes += len(items)
        start = page.get("LastEvaluatedKey")
        if not start:
            return hashes


def _keys_page(connection, partition: str, start: dict | None) -> dict:
    """One page of a partition's keys (consistent: what was just written is deleted too)."""
    return connection.query(
        partition,
        attributes_to_get=["token_key", "found"],
        consistent_read=True,
        exclusive_start_key=start,
    )


@dataclass(frozen=True)
class _IndexJob:
    message: Message
    member_languages: dict[str, str]
    read_languages: ReadLanguages
    languages: frozenset[str] | None


def _index_jobs_entries(*, jobs: list[_IndexJob]) -> list[tuple[str, str]]:
    """The entries of several messages, to be written together (fewer, fuller
    BatchWriteItems)."""
    entries: list[tuple[str, str]] = []
    for job in jobs:
        entries += message_entries(
            message=job.message,
            member_languages=job.member_languages,
            read_languages=job.read_languages,
            languages=job.languages,
        )
    return list(dict.fromkeys(entries))


class _IndexQueue:
    """Messages waiting for their index entries.

    A writer lingers `INDEX_LINGER_SECONDS` before each write unless a full write is already
    waiting, then writes the entries of up to `INDEX_MESSAGES_PER_WRITE` messages together:
    a message's 20-30 entries alone take two BatchWriteItems, one of them mostly empty, and a
    request costs the process far more CPU (signing, HTTP, parsing) than its items do, so
    full batches halve indexing's CPU per message. The writes go out in blocking calls of at
    most `INDEX_ITEMS_PER_CALL` items. A server told to stop writes what is waiting first
    (`search_index_flush`, a shutdown step with a deadline: apps/core/shutdown.py), then
    waits at exit only for the call in flight. A second writer starts only while a full
    write is waiting: indexing holds at most `INDEX_WRITERS` of the blocking threads that
    commits also need, however fast messages come. Past `INDEX_WAITING_MAX` waiting, the
    oldest are dropped and logged (the reindex command writes them again) rather than
    holding memory while DynamoDB is slow."""

    def __init__(self) -> None:
        self._jobs: deque[_IndexJob] = deque()
        self._writers: set[asyncio.Task] = set()
        # One future per write in flight (not per lingering writer): what a flush waits for.
        self._writes_in_flight: set[asyncio.Future[None]] = set()
        self.dropped = 0

    def put(self, job: _IndexJob) -> None:
        self._jobs.append(job)
        while len(self._jobs) > INDEX_WAITING_MAX:
            self._jobs.popleft()
            self.dropped += 1
            logger.warning("a message's search index entries were dropped: too many waiting")
        loop = asyncio.get_running_loop()
        # A writer of another loop (an ended test's) writes nothing here.
        self._writers = {t for t in self._writers if not t.done() and t.get_loop() is loop}
        backlog = len(self._jobs) >= INDEX_MESSAGES_PER_WRITE
        if not self._writers or (backlog and len(self._writers) < INDEX_WRITERS):
            self._writers.add(background_task_start(self._write_waiting(), name="search-index"))

    async def _write_waiting(self) -> None:
        while self._jobs:
            if len(self._jobs) < INDEX_MESSAGES_PER_WRITE:
                await asyncio.sleep(INDEX_LINGER_SECONDS)
            await self._write_some()

    async def flush(self) -> None:
        """Write everything waiting now, without lingering, then wait for the writers' writes
        in flight (at shutdown: the loop is about to stop)."""
        while self._jobs:
            await self._write_some()
        loop = asyncio.get_running_loop()
        in_flight = {f for f in self._writes_in_flight if f.get_loop() is loop}
        if in_flight:
            await asyncio.wait(in_flight)

    async def _write_some(self) -> None:
        jobs = [self._jobs.popleft() for _ in range(min(len(self._jobs), INDEX_MESSAGES_PER_WRITE))]
        if jobs:
            written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._writes_in_flight.add(written)
            try:
                entries = await run_blocking(_index_jobs_entries)(jobs=jobs)
                # A slice per blocking call: when the server stops, the interpreter waits for
                # the blocking thread's call to end, and a call is then at most
                # INDEX_ITEMS_PER_CALL items, not the whole backlog's thousands.
                for start in range(0, len(entries), INDEX_ITEMS_PER_CALL):
                    await run_blocking(search_entries_write)(
                        entries=entries[start : start + INDEX_ITEMS_PER_CALL]
                    )
            except Exception:
                logger.exception(
                    "writing the search index entries of %d messages failed; "
                    "manage.py search_reindex writes them again",
                    len(jobs),
                )
            finally:
                self._writes_in_flight.discard(written)
                written.set_result(None)


_index_queue = _IndexQueue()


async def search_index_flush() -> None:
    """Write the entries still waiting in this process's queue (a shutdown step)."""
    await _index_queue.flush()


def search_index_later(
    *,
    message: Message,
    member_languages: Mapping[str, str],
    read_languages: ReadLanguages | None = None,
    languages: Iterable[str] | None = None,
) -> None:
    """Index a committed message (or the translations into `languages` it just gained) off the
    caller's path (`_IndexQueue`): the caller does not wait, and a failure is logged, not
    raised (the reindex command repairs it)."""
    _index_queue.put(
        _IndexJob(
            message=message,
            member_languages=dict(member_languages),
            read_languages=dict(read_languages or {}),
            languages=frozenset(languages) if languages is not None else None,
        )
    )


# --- Reindexing (manage.py search_reindex) ------------------------------------------------


def chat_reindex(
    *, chat_id: str, only_user_id: str | None = None, registered: RegisteredKeys | None = None
) -> int:
    """Write the index items of every message of a chat for its current members (or only
    `only_user_id`), reading the chat's messages a page at a time (Query), with their registry
    items: each token key once per run, whatever this process wrote before, so an index
    written before the registry existed gets one. Returns how many index items were written;
    0 for a chat that does not exist."""
    registered = registered if registered is not None else RegisteredKeys()
    chat = chat_get(chat_id=chat_id)
    if chat is None:
        return 0
    member_languages = map_as_dict(chat.member_languages)
    if only_user_id is not None:
        member_languages = {k: v for k, v in member_languages.items() if k == only_user_id}
    if not member_languages:
        return 0
    read_languages = member_read_languages(chat)
    written = 0
    after = 0
    while True:
        page = message_range(chat_id=chat_id, after_seq=after, limit=REINDEX_PAGE_MESSAGES)
        if not page:
            return written
        entries: list[tuple[str, str]] = []
        for message in page:
            entries += message_entries(
                message=message, member_languages=member_languages, read_languages=read_languages
            )
        written += search_entries_write(entries=entries, registered=registered)
        after = int(page[-1].seq)


def user_reindex(*, user_id: str) -> int:
    """Write the index items of every message in every chat `user_id` is in, for them only
    (their inbox rows by Query, then each chat's messages by Query)."""
    written = 0
    registered = RegisteredKeys()
    for row in ChatMembership.query(user_id):
        written += chat_reindex(chat_id=row.chat_id, only_user_id=user_id, registered=registered)
    return written

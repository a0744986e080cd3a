"""The search index: which reader can find which message by which word (the `search_tokens`
table, models.SearchToken; README "Search").

A reader can find a message by the words of the text they read (their translation, or the
original when they read it as written) and by the words of the original. The index is written
after the commit, off the send path: the actions hand each committed message (and each
translation stored later) to `search_index_later`, which writes its items from a background
task, 25 to a BatchWriteItem. A crash between the commit and that write loses the message's
entries; `manage.py search_reindex` writes them again from the messages table (Query, never
Scan). Writes are PutItems of fixed keys, so writing twice changes nothing.

A deleted message (a `deleted_at`, or no text left) gets no entries; its old entries stay in
the index and are dropped when a search reads the message (search.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from apps.chats.models import SEQ_DIGITS, ChatMembership, Message, SearchToken
from apps.chats.presenters import ReadLanguages, member_read_languages, message_text_for
from apps.chats.replies import message_deleted
from apps.chats.search_tokens import search_tokens, token_hash
from apps.chats.selectors import chat_get, map_as_dict, message_range
from apps.core.background import background_task_start
from apps.core.concurrency import run_blocking

logger = logging.getLogger(__name__)

TIME_DIGITS = 13
REINDEX_PAGE_MESSAGES = 200


def token_key(*, user_id: str, token: str) -> str:
    return f"{user_id}#{token_hash(token)}"


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


def message_is_deleted(message: Message) -> bool:
    """Deleted messages are neither indexed nor found."""
    return message_deleted(message)


def reader_tokens(*, message: Message, language: str, reader_id: str, read_languages) -> list[str]:
    """The tokens one reader finds a message by: the words of what they read, then those of
    the original."""
    text, _, _ = message_text_for(
        message=message, language=language, reader_id=reader_id, read_languages=read_languages
    )
    tokens = search_tokens(text)
    if text != message.original_text:
        tokens += [t for t in search_tokens(message.original_text) if t not in set(tokens)]
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
    if message_is_deleted(message):
        return []
    wanted = set(languages) if languages is not None else None
    reads = read_languages or {}
    found = found_key(message=message)
    entries: list[tuple[str, str]] = []
    for reader_id, language in member_languages.items():
        if wanted is not None and language not in wanted:
            continue
        for token in reader_tokens(
            message=message,
            language=language,
            reader_id=reader_id,
            read_languages=reads.get(reader_id, ()),
        ):
            entries.append((token_key(user_id=reader_id, token=token), found))
    return entries


def search_entries_write(*, entries: Iterable[tuple[str, str]]) -> int:
    """Write index items, 25 to a BatchWriteItem (PynamoDB retries what DynamoDB leaves
    unprocessed). Returns how many."""
    count = 0
    with SearchToken.batch_write() as batch:
        for key, found in dict.fromkeys(entries):
            batch.save(SearchToken(key, found))
            count += 1
    return count


def message_index(
    *,
    message: Message,
    member_languages: Mapping[str, str],
    read_languages: ReadLanguages | None = None,
    languages: Iterable[str] | None = None,
) -> int:
    return search_entries_write(
        entries=message_entries(
            message=message,
            member_languages=member_languages,
            read_languages=read_languages,
            languages=languages,
        )
    )


def search_index_later(
    *,
    message: Message,
    member_languages: Mapping[str, str],
    read_languages: ReadLanguages | None = None,
    languages: Iterable[str] | None = None,
) -> None:
    """Index a committed message (or the translations into `languages` it just gained) in a
    background task: the caller does not wait, and a failure is logged, not raised (the
    reindex command repairs it)."""
    member_languages = dict(member_languages)
    read_languages = dict(read_languages or {})
    chosen = set(languages) if languages is not None else None

    async def write() -> None:
        await run_blocking(message_index)(
            message=message,
            member_languages=member_languages,
            read_languages=read_languages,
            languages=chosen,
        )

    background_task_start(write(), name=f"search-index-{message.chat_id}")


# --- Reindexing (manage.py search_reindex) ------------------------------------------------


def chat_reindex(*, chat_id: str, only_user_id: str | None = None) -> int:
    """Write the index items of every message of a chat for its current members (or only
    `only_user_id`), reading the chat's messages a page at a time (Query). Returns how many
    items were written; 0 for a chat that does not exist."""
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
        written += search_entries_write(entries=entries)
        after = int(page[-1].seq)


def user_reindex(*, user_id: str) -> int:
    """Write the index items of every message in every chat `user_id` is in, for them only
    (their inbox rows by Query, then each chat's messages by Query)."""
    written = 0
    for row in ChatMembership.query(user_id):
        written += chat_reindex(chat_id=row.chat_id, only_user_id=user_id)
    return written

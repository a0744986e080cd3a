"""Searching one's own chats (`GET /api/search`; README "Search").

The query is cut into tokens the way messages are (search_tokens.py). The partition of its
longest token (the likeliest to be rare) in the reader's index (search_index.py) is read newest
first, a page at a time; each message it names is read by key (BatchGetItem) with the reader's
inbox rows for those chats (BatchGetItem), and kept when the reader is still in the chat, the
message is not deleted, and every token of the query is among those the reader finds it by.
At most `CANDIDATES_MAX` index items are read per request; the cursor continues from the last.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from apps.accounts.models import User
from apps.accounts.selectors import user_read_languages
from apps.chats import protocol
from apps.chats.models import Message, SearchToken, message_deleted, message_sort_key
from apps.chats.presenters import chat_summary, message_text_for, message_view
from apps.chats.search_index import (
    found_key_parse,
    reader_tokens,
    token_key,
)
from apps.chats.search_tokens import char_unspaced, search_tokens, token_matches, word_spans
from apps.chats.selectors import chat_memberships_of, member_names_by_id
from apps.core.concurrency import run_blocking
from apps.core.errors import InvalidInput
from apps.core.ratelimit import SettingsRateLimit, rate_limit_hit
from apps.core.text import text_problem

QUERY_MAX_CHARS = 100
QUERY_TOKENS_MAX = 6
SEARCH_DEFAULT_LIMIT = 20
SEARCH_MAX_LIMIT = 50
# Index items read per request at most (each costs a share of a Query and a message read).
CANDIDATES_MAX = 200
SNIPPET_MAX_CHARS = 160
SNIPPET_LEAD_CHARS = 40
_CURSOR_PREFIX = "found:"

_SEARCHES_PER_USER = SettingsRateLimit("search", "SEARCH_RATE_LIMIT", "too many searches")


def search_query_tokens(query: object) -> list[str]:
    """The tokens of a query, or 422: missing or blank, over `QUERY_MAX_CHARS`, over
    `QUERY_TOKENS_MAX` words, or without a word to search for."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("q is required: the words to search for")
    if len(query) > QUERY_MAX_CHARS:
        raise InvalidInput(f"q is too long: at most {QUERY_MAX_CHARS} characters")
    problem = text_problem(query)
    if problem is not None:
        raise InvalidInput(f"q {problem}")
    tokens = search_tokens(query, limit=QUERY_TOKENS_MAX + 1)
    if not tokens:
        raise InvalidInput("q has no word to search for (a word has at least two letters)")
    if len(tokens) > QUERY_TOKENS_MAX:
        raise InvalidInput(f"q has too many words: at most {QUERY_TOKENS_MAX}")
    return tokens


def search_limit_parse(raw: str | None) -> int:
    if raw in (None, ""):
        return SEARCH_DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= SEARCH_MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {SEARCH_MAX_LIMIT}")
    return limit


def search_cursor_encode(found: str) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{found}".encode()).decode().rstrip("=")


def search_cursor_decode(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidInput("cursor is not valid") from error
    found = value.removeprefix(_CURSOR_PREFIX)
    if not value.startswith(_CURSOR_PREFIX) or found_key_parse(found) is None:
        raise InvalidInput("cursor is not valid")
    return found


# --- Finding -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    message: Message
    chat_name: str | None
    kind: str


@dataclass(frozen=True)
class FoundPage:
    found: list[Found]
    # The last index item examined, when there may be more.
    next_found: str | None


def messages_search(
    *,
    user_id: str,
    language: str,
    read_languages: list[str],
    tokens: list[str],
    before: str | None,
    limit: int,
) -> FoundPage:
    """The reader's messages holding every token, newest first, older than `before` (an index
    sort key). Blocking: reads DynamoDB."""
    driver = max(tokens, key=len)
    wanted = set(tokens)
    found: list[Found] = []
    examined = 0
    start = before
    while examined < CANDIDATES_MAX:
        page_size = min(CANDIDATES_MAX - examined, max(2 * limit, 20))
        items = list(
            SearchToken.query(
                token_key(user_id=user_id, token=driver),
                SearchToken.found < start if start is not None else None,
                scan_index_forward=False,
                limit=page_size,
            )
        )
        examined += len(items)
        keys = [(item.found, found_key_parse(item.found)) for item in items]
        located = [(sort, key) for sort, key in keys if key is not None]
        messages = {
            (message.chat_id, int(message.seq)): message
            for message in Message.batch_get(
                list(dict.fromkeys((key.chat_id, message_sort_key(key.seq)) for _, key in located)),
                consistent_read=True,
            )
        }
        rows = chat_memberships_of(
            user_id=user_id, chat_ids=list(dict.fromkeys(key.chat_id for _, key in located))
        )
        for sort, key in keys:
            start = sort
            if key is None:
                continue
            message = messages.get((key.chat_id, key.seq))
            row = rows.get(key.chat_id)
            if message is None or row is None or message_deleted(message):
                continue
            if not wanted <= set(
                reader_tokens(
                    message=message,
                    language=language,
                    reader_id=user_id,
                    read_languages=read_languages,
                )
            ):
                continue
            summary = chat_summary(membership=row)
            found.append(
                Found(message=message, chat_name=summary["other_username"], kind=summary["kind"])
            )
            if len(found) == limit:
                more = sort != items[-1].found or len(items) == page_size
                return FoundPage(found=found, next_found=sort if more else None)
        if len(items) < page_size:
            return FoundPage(found=found, next_found=None)
    return FoundPage(found=found, next_found=start)


# --- Presenting ----------------------------------------------------------------------------


def _match_spans(text: str, tokens: list[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for start, end in word_spans(text):
        word = text[start:end]
        if not any(char_unspaced(char) for char in word) and token_matches(word, tokens):
            spans.append((start, end))
    for token in tokens:
        if any(char_unspaced(char) for char in token):
            start = text.find(token)
            while start != -1:
                spans.append((start, start + len(token)))
                start = text.find(token, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def search_snippet(*, text: str, tokens: list[str]) -> list[protocol.SnippetPart] | None:
    """Up to SNIPPET_MAX_CHARS of `text` around its first match, the matching words marked;
    None when no word of `text` matches."""
    spans = _match_spans(text, tokens)
    if not spans:
        return None
    begin = max(0, spans[0][0] - SNIPPET_LEAD_CHARS)
    end = min(len(text), begin + SNIPPET_MAX_CHARS)
    parts: list[protocol.SnippetPart] = []
    position = begin
    if begin > 0:
        parts.append({"text": "…", "match": False})
    for start, stop in spans:
        if start >= end:
            break
        start, stop = max(start, position), min(stop, end)
        if start > position:
            parts.append({"text": text[position:start], "match": False})
        if stop > start:
            parts.append({"text": text[start:stop], "match": True})
        position = max(position, stop)
    if position < end:
        parts.append({"text": text[position:end], "match": False})
    if end < len(text):
        parts.append({"text": "…", "match": False})
    return parts


def search_result_view(
    *,
    found: Found,
    tokens: list[str],
    language: str,
    reader_id: str,
    read_languages: list[str],
    sender_name: str | None,
) -> protocol.SearchResult:
    message = found.message
    text, _, _ = message_text_for(
        message=message, language=language, reader_id=reader_id, read_languages=read_languages
    )
    snippet = search_snippet(text=text, tokens=tokens)
    from_original = False
    if snippet is None:
        snippet = search_snippet(text=message.original_text, tokens=tokens)
        from_original = snippet is not None
    if snippet is None:  # a token cut from a longer word: show the start
        snippet = [{"text": text[:SNIPPET_MAX_CHARS], "match": False}]
    return {
        "chat_id": message.chat_id,
        "chat_name": found.chat_name,
        "kind": "group" if found.kind == "group" else "direct",
        "seq": int(message.seq),
        "sender_name": sender_name,
        "message": message_view(
            message=message, language=language, reader_id=reader_id, read_languages=read_languages
        ),
        "snippet": snippet,
        "snippet_is_original": from_original,
    }


# --- The use case -------------------------------------------------------------------------


async def do_search_messages(
    *, user: User, query: object, cursor: str | None, limit: int
) -> protocol.SearchPage:
    """The user's messages matching `query` in the chats they are in, newest first, each in
    their language. 422 for a bad query or cursor (nothing counted), 429 past
    SEARCH_RATE_LIMIT_* searches per user. Writes nothing, sends nothing."""
    tokens = search_query_tokens(query)
    before = search_cursor_decode(cursor) if cursor else None
    await rate_limit_hit(limit=_SEARCHES_PER_USER, subject=user.user_id)
    language = user.native_language
    reads = user_read_languages(user=user)
    page = await run_blocking(messages_search)(
        user_id=user.user_id,
        language=language,
        read_languages=reads,
        tokens=tokens,
        before=before,
        limit=limit,
    )
    names = await run_blocking(member_names_by_id)(
        member_ids={found.message.from_user_id for found in page.found}
    )
    return {
        "results": [
            search_result_view(
                found=found,
                tokens=tokens,
                language=language,
                reader_id=user.user_id,
                read_languages=reads,
                sender_name=(
                    names[found.message.from_user_id].display_name
                    if found.message.from_user_id in names
                    else None
                ),
            )
            for found in page.found
        ],
        "next_cursor": search_cursor_encode(page.next_found) if page.next_found else None,
    }

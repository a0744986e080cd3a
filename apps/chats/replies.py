"""Replies: a message may quote another message of the same chat.

A reply stores only which message it quotes (`Message.reply_to = {"seq", "message_id"}`),
never the quoted text. The quote is resolved when the reply is presented
(`presenters.quoted_view`): each reader sees the quoted message in their own language, from
the translations stored on it (no provider call, ever), and a quoted message deleted since
shows as deleted instead of its old words.

Reads (all through `run_blocking`):
- a send that quotes: one GetItem of the quoted message, which also checks it exists;
- a history or catch-up page: quoted messages inside the page are used as they are; the
  others with one BatchGetItem per page (`page_quotes`).

`Quotes` (seq -> quoted message) is what the presenters take; a quoted seq missing from a
`Quotes` that was resolved shows as deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from apps.chats.models import Message, message_deleted, message_sort_key
from apps.chats.selectors import map_as_dict
from apps.core.concurrency import run_blocking
from apps.core.errors import InvalidInput

# seq -> the quoted message, for the messages being presented.
Quotes = Mapping[int, Message]

NO_QUOTES: Quotes = {}

REPLY_TO_SEQ_INVALID = "reply_to_seq must be a positive integer"
REPLY_TO_SEQ_UNKNOWN = "reply_to_seq is not a message of this chat"
REPLY_TO_DELETED = "the message you reply to was deleted"


def reply_to_seq_validate(value: object) -> int | None:
    """A send's `reply_to_seq`: None (no quote) or a positive integer; anything else (a
    string, a bool, a float) is refused."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidInput(REPLY_TO_SEQ_INVALID)
    return value


def reply_to_of(message: Message) -> tuple[int, str] | None:
    """(seq, message_id) of the message a message quotes, or None."""
    stored = map_as_dict(getattr(message, "reply_to", None))
    seq = stored.get("seq")
    return (int(seq), str(stored.get("message_id", ""))) if seq is not None else None


def reply_to_seq_of(message: Message) -> int | None:
    """The seq a message quotes, or None."""
    reply_to = reply_to_of(message)
    return reply_to[0] if reply_to is not None else None


def reply_to_stored(quoted: Message) -> dict:
    """What a reply keeps of the message it quotes: its key, nothing of its text."""
    return {"seq": int(quoted.seq), "message_id": quoted.message_id}


def messages_by_seq(*, chat_id: str, seqs: Iterable[int]) -> dict[int, Message]:
    """The chat's messages at these seqs (those that exist), with one BatchGetItem
    (PynamoDB splits past 100 keys and retries unprocessed ones). Blocking."""
    keys = [(chat_id, message_sort_key(seq)) for seq in sorted(set(seqs))]
    if not keys:
        return {}
    return {int(m.seq): m for m in Message.batch_get(keys, consistent_read=True)}


def quoted_message_get(*, chat_id: str, seq: int) -> Message | None:
    """The message at `seq` of the chat (one GetItem). Blocking."""
    try:
        return Message.get(chat_id, message_sort_key(seq), consistent_read=True)
    except Message.DoesNotExist:
        return None


async def quoted_message_for_send(*, chat_id: str, reply_to_seq: int) -> Message:
    """The message a send quotes, checked: a message of this chat (so at most its last seq:
    seqs are gapless), not deleted; refused with 422 otherwise. The read is the judge, not
    the sender's copy of the chat, whose last seq may lag another instance's messages."""
    if reply_to_seq < 1:
        raise InvalidInput(REPLY_TO_SEQ_INVALID)
    quoted = await run_blocking(quoted_message_get)(chat_id=chat_id, seq=reply_to_seq)
    if quoted is None:
        raise InvalidInput(REPLY_TO_SEQ_UNKNOWN)
    if message_deleted(quoted):
        raise InvalidInput(REPLY_TO_DELETED)
    return quoted


async def page_quotes(
    *, chat_id: str, messages: Iterable[Message], known: Quotes = NO_QUOTES
) -> dict[int, Message]:
    """The quoted messages of a page of messages: those in the page (or in `known`) as they
    are, the rest with one BatchGetItem. No read at all when nothing in the page quotes
    outside it."""
    page = list(messages)
    by_seq: dict[int, Message] = {int(m.seq): m for m in page}
    wanted = {seq for m in page if (seq := reply_to_seq_of(m)) is not None}
    quotes = {seq: by_seq[seq] for seq in wanted if seq in by_seq}
    quotes.update({seq: known[seq] for seq in wanted if seq in known})
    missing = wanted - quotes.keys()
    if missing:
        quotes.update(await run_blocking(messages_by_seq)(chat_id=chat_id, seqs=missing))
    return quotes

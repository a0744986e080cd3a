"""Chat items: the `chats`, `user_chats`, `messages`, `owed_translations` and `search_tokens`
tables.

| table        | item            | keys                                   | access pattern |
|--------------|-----------------|----------------------------------------|----------------|
| `chats`      | Chat            | `chat_id`                              | GetItem before a send when this process holds no recent copy (chat_snapshots.py: members, their languages and the languages they also read, last sequence number); written in the same transaction as each message |
| `user_chats` | ChatMembership  | `user_id` + `chat_id`                  | GetItem: is this user a member; inbox: Query the LSI `activity_index` (`user_id` + `activity_at`) newest first; `muted`: UpdateItem on condition the row exists, GetItem (at most once a minute per process) before a push |
| `messages`   | Message         | `chat_id` + `sk = m#<seq, 12 digits>`; GSI `author_index` (keys only): `from_user_id` + `sk` | history: Query newest first from a cursor; resume and gap fill: Query after a sequence number, a page at a time; one person's messages (their data export and deletion): Query `author_index`, then BatchGetItem by key; a reaction: GetItem, then UpdateItem of `reactions` on condition of `reactions_version`; a deleted account's reactions: Query of each of their chats' messages filtered on their entry, then UpdateItem each on condition that it is there; a reply's quoted message (replies.py): GetItem at its send, one BatchGetItem per history or catch-up page for quotes outside the page |
| `messages`   | ClientMessageId | `chat_id` + `sk = c#<sender>#<client_msg_id>` | written with its message, on condition it is new: a resent `client_msg_id` never makes a second message |
| `messages`   | ChatGlossary    | `chat_id` + `sk = g#` | the chat's glossary, one item: GetItem (consistent) to show or use it; replaced whole by PutItem on condition that its `version` is the one the editor read (or that it is new) |
| `owed_translations` | OwedTranslation | `shard` + `message_key = <chat_id>#<seq, 12 digits>`; LSI `due_index`: `shard` + `due_at` | written with a message that is stored lacking a member language; the sweep Queries `due_index` for `due_at <= now` in each of the few shards; claimed, rescheduled and deleted by key (apps/chats/owed_translations.py) |
| `search_tokens` | SearchToken | `token_key = <user_id>#<token hash>` + `found = <created_at ms>#<chat_id>#<seq>`; a reader's registry: `token_key = <user_id>#tokens` + `found = <token hash>` | written by BatchWriteItem after each commit and each later translation (with the registry items this process has not written lately); a search Queries one partition newest first (apps/chats/search_index.py, search.py); account deletion Queries the registry, then each partition it names, and deletes them |

Sequence numbers are per chat, gapless and in commit order: a message is written in one
transaction with `Chat.last_seq = seq` on condition that `last_seq` was `seq - 1` and that
`roster_version` is the one the message was translated for.

A chat's glossary lives in the chat's own `messages` partition, beside its messages: no table
of its own to create or grant, history's key range (`m#...`) never meets it, and deleting a
chat's partition (apps/chats/personal_data.py) deletes it too.
"""

from enum import StrEnum
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    KeysOnlyProjection,
    LocalSecondaryIndex,
)
from pynamodb.models import Model

from apps.core.dynamo import DEVELOPMENT_CAPACITY_UNITS, dynamo_table

MESSAGE_KEY_PREFIX = "m#"
CLIENT_ID_KEY_PREFIX = "c#"
GLOSSARY_SORT_KEY = "g#"
SEQ_DIGITS = 12

CHAT_KIND_DIRECT = "direct"
CHAT_KIND_GROUP = "group"

# The author a deleted person's messages keep (personal_data.py): no one's words.
DELETED_USER_ID = "deleted"


class MessageKind(StrEnum):
    """What a message is; every kind carries its text in every member's language."""

    TEXT = "text"
    VOICE = "voice"  # a push-to-talk turn's transcript (apps/voice/turns.py)
    VOICE_NOTE = "voice_note"  # a recorded note's transcript (apps/voice/actions.py)
    CALL = "call"  # a call's outcome (apps/voice/actions.py)


def message_sort_key(seq: int) -> str:
    return f"{MESSAGE_KEY_PREFIX}{seq:0{SEQ_DIGITS}d}"


def client_message_sort_key(sender_id: str, client_msg_id: str) -> str:
    return f"{CLIENT_ID_KEY_PREFIX}{sender_id}#{client_msg_id}"


@dynamo_table("chats")
class Chat(Model):
    class Meta:
        table_name = "chats"

    chat_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=CHAT_KIND_DIRECT)
    title = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    member_ids = UnicodeSetAttribute(default=set)
    # user_id -> language code: the languages a message is translated into when written.
    member_languages: MapAttribute[str, Any] = MapAttribute(default=dict)
    # user_id -> the other languages that member reads (their profile's read_languages): a
    # message written in one of them reaches them as written, and is not translated for
    # them. Only members who read some are listed; absent on chats made before it existed
    # (then nobody is listed): presenters.member_read_languages reads it.
    member_read_languages: MapAttribute[str, Any] = MapAttribute(null=True)
    last_seq = NumberAttribute(default=0)
    # Raised by every change to member_ids, member_languages or member_read_languages, so
    # that a message committed from an old copy of the chat (see chat_snapshots.py) is
    # refused instead of missing a member or a language. Absent until the first such change.
    roster_version = NumberAttribute(null=True)


class ActivityIndex(LocalSecondaryIndex):
    class Meta:
        index_name = "activity_index"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    activity_at = UnicodeAttribute(range_key=True)


@dynamo_table("user_chats")
class ChatMembership(Model):
    """One member's view of one chat: their inbox row."""

    class Meta:
        table_name = "user_chats"

    user_id = UnicodeAttribute(hash_key=True)
    chat_id = UnicodeAttribute(range_key=True)
    # `<ISO timestamp>#<chat_id>`: sorts the inbox by latest activity, unique per row.
    activity_at = UnicodeAttribute()
    activity_index = ActivityIndex()
    kind = UnicodeAttribute(default=CHAT_KIND_DIRECT)
    title = UnicodeAttribute(null=True)
    other_user_id = UnicodeAttribute(null=True)
    other_username = UnicodeAttribute(null=True)
    joined_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    last_message_preview = UnicodeAttribute(null=True)
    last_seq = NumberAttribute(default=0)
    last_read_seq = NumberAttribute(default=0)
    unread_count = NumberAttribute(default=0)
    # How this reader wants translations into their language addressed in this chat:
    # "formal" or "informal" (tu/vous, tú/usted, du/Sie); absent: the model's choice.
    formality = UnicodeAttribute(null=True)
    # True while this member has muted the chat, on every device of theirs: no Web Push for
    # its messages (its calls still ring), and their pages keep it silent. Absent: not muted
    # (rows written before it existed, and a mute taken off removes it).
    muted = BooleanAttribute(null=True)


class AuthorIndex(GlobalSecondaryIndex):
    """From a person to the messages they wrote, in any chat: the export and deletion of
    their data (apps/chats/personal_data.py) Query it instead of scanning the table. Keys only,
    so a message's later writes (translations) never touch it; the messages themselves are then
    read by key. Only messages have `from_user_id`: client id markers and glossaries stay out."""

    class Meta:
        index_name = "author_index"
        projection = KeysOnlyProjection()
        # Used only where tables are provisioned (development); on-demand elsewhere.
        read_capacity_units = DEVELOPMENT_CAPACITY_UNITS
        write_capacity_units = DEVELOPMENT_CAPACITY_UNITS

    from_user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


@dynamo_table("messages")
class Message(Model):
    class Meta:
        table_name = "messages"

    chat_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    message_id = UnicodeAttribute()
    seq = NumberAttribute()
    from_user_id = UnicodeAttribute()
    author_index = AuthorIndex()
    kind = UnicodeAttribute(default=MessageKind.TEXT.value)
    original_text = UnicodeAttribute()
    original_language = UnicodeAttribute()
    # language code -> text, for every language present among the members when written,
    # and any added later on demand. The original language is not repeated here.
    translations: MapAttribute[str, Any] = MapAttribute(default=dict)
    # Languages whose translation failed at write time and is still owed (the durable record
    # of the debt, which whichever instance is alive works off, is an OwedTranslation).
    pending_languages = UnicodeSetAttribute(null=True)
    client_msg_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # Details of a message that is not plain text (a call's outcome and duration, say).
    meta: MapAttribute[str, Any] = MapAttribute(null=True)
    # user_id -> the one emoji that person reacted with (apps/chats/reactions.py); absent
    # while nobody has. Written by UpdateItem on these two attributes only, on condition that
    # `reactions_version` is the one read (raised by each reaction).
    reactions: MapAttribute[str, Any] = MapAttribute(null=True)
    reactions_version = NumberAttribute(null=True)
    # The message of the same chat this one replies to: {"seq", "message_id"} only, never its
    # text (apps/chats/replies.py reads the quoted message when presenting, so a quote always
    # shows what the quoted message says now, in each reader's language).
    reply_to: MapAttribute[str, Any] = MapAttribute(null=True)
    # Set by an edit of its text (apps/chats/message_changes.py): the last edit's moment.
    edited_at = UTCDateTimeAttribute(null=True)
    # Set when deleted for everyone: a tombstone, its text, translations and meta gone, its
    # seq, ids, author, kind and created_at kept so sequence numbers stay gapless.
    deleted_at = UTCDateTimeAttribute(null=True)


def message_deleted(message: Message) -> bool:
    """Whether the message was deleted for everyone: a tombstone (message_changes.py)."""
    return message.deleted_at is not None


@dynamo_table("messages", owns_schema=False)
class ClientMessageId(Model):
    class Meta:
        table_name = "messages"

    chat_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    message_id = UnicodeAttribute()
    seq = NumberAttribute()
    is_marker = BooleanAttribute(default=True)


class GlossaryEntry(MapAttribute):
    """A term and how to render it in every language: None keeps it as written (a name, a
    brand, an in-joke)."""

    term = UnicodeAttribute()
    rendering = UnicodeAttribute(null=True)


@dynamo_table("messages", owns_schema=False)
class ChatGlossary(Model):
    """A chat's glossary (apps/chats/glossary.py): at most one item per chat, at
    `chat_id` + `sk = g#`. Shown and used by GetItem; replaced whole by a PutItem on
    condition that `version` is still the one the editor read (a new item: that it does not
    exist), so of two concurrent edits the second is refused, never merged unseen."""

    class Meta:
        table_name = "messages"

    chat_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=GLOSSARY_SORT_KEY)
    entries = ListAttribute(of=GlossaryEntry, default=list)
    # 1 for the first edit, raised by one by each.
    version = NumberAttribute()
    updated_at = UTCDateTimeAttribute()


class OwedTranslationDueIndex(LocalSecondaryIndex):
    class Meta:
        index_name = "due_index"
        projection = AllProjection()

    shard = UnicodeAttribute(hash_key=True)
    due_at = NumberAttribute(range_key=True)


@dynamo_table("owed_translations")
class OwedTranslation(Model):
    """Translations a stored message still lacks, until they are stored or given up on.

    Keys: `shard` ("0" to "<OWED_SHARDS - 1>", from a hash of the message key) +
    `message_key` (`<chat_id>#<seq, 12 digits>`, one item per message). Access patterns:
    written in the message's own transaction; the sweep Queries the LSI `due_index`
    (`shard` + `due_at`) for `due_at <= now`, one Query per shard (never a Scan); a claim,
    a reschedule and the final delete address the item by its key, each on a condition
    (apps/chats/owed_translations.py). Few shards spread the writes of a provider outage over
    several partitions while a sweep stays a handful of Queries.
    """

    class Meta:
        table_name = "owed_translations"

    shard = UnicodeAttribute(hash_key=True)
    message_key = UnicodeAttribute(range_key=True)
    # When the next attempt is due, in milliseconds since the epoch. A claim moves it to the
    # end of the claim's lease, so an instance that dies mid-attempt leaves it due again then.
    due_at = NumberAttribute()
    due_index = OwedTranslationDueIndex()
    chat_id = UnicodeAttribute()
    seq = NumberAttribute()
    # The member languages the message lacked when it was stored.
    languages = UnicodeSetAttribute()
    # Attempts made or under way, the send's own included; counted when claimed.
    attempts = NumberAttribute(default=1)
    # The current claim's token; absent while nobody holds it.
    claim = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


@dynamo_table("search_tokens")
class SearchToken(Model):
    """One word one reader can find one message by (apps/chats/search_index.py).

    Keys: `token_key = <reader user_id>#<token hash>` (search_tokens.token_hash: the word
    itself is never stored) + `found = <created_at, ms, 13 digits>#<chat_id>#<seq, 12 digits>`,
    so a partition lists one reader's messages holding one word, newest first. Each reader's
    registry of the hashes they have items under is in the same table: `token_key =
    <user_id>#tokens` (never 16 hex digits, so never a word's partition) + `found = <token
    hash>`. Access patterns: written by BatchWriteItem after a message is committed (a PutItem
    per reader and word, idempotent, after the registry items of the (reader, word) pairs the
    process has not written lately) and when a translation arrives; a search Queries one
    word's partition newest first, a page at a time, then reads the messages by key
    (apps/chats/search.py), never the registry; account deletion Queries the registry, then
    each partition it names (keys only), and deletes them in batches. No other attribute: an
    item is under 1 KB, one write unit."""

    class Meta:
        table_name = "search_tokens"

    token_key = UnicodeAttribute(hash_key=True)
    found = UnicodeAttribute(range_key=True)

"""Reads of chats, memberships and messages (how they look to a reader: presenters.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from apps.accounts.models import User
from apps.accounts.selectors import user_display_name
from apps.chats.cursors import message_cursor_encode
from apps.chats.models import (
    GLOSSARY_SORT_KEY,
    MESSAGE_KEY_PREFIX,
    AuthorIndex,
    Chat,
    ChatGlossary,
    ChatMembership,
    ClientMessageId,
    Message,
    client_message_sort_key,
    message_sort_key,
)
from apps.core.dynamo import KeysWanted, dynamo_items_get
from apps.core.errors import NotFound
from apps.core.text import text_problem

HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 200
CHAT_NOT_FOUND = "Chat not found"
# A chat the reader is not in looks exactly like one that does not exist (404, same text):
# chat ids can be derived, and a 403 would tell anyone who talks with whom.
NOT_A_MEMBER = CHAT_NOT_FOUND
# Chat ids are 32 hex digits; anything much longer is no chat's.
CHAT_ID_MAX_CHARS = 200


def map_as_dict(value) -> dict:
    """A raw MapAttribute's content as a plain dict (a new item holds a dict already)."""
    if value is None:
        return {}
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return dict(value)


def chat_id_plausible(chat_id: str) -> bool:
    """False for what no chat's id can be, and DynamoDB would answer as a key with an error."""
    return bool(chat_id) and len(chat_id) <= CHAT_ID_MAX_CHARS and text_problem(chat_id) is None


def chat_get(*, chat_id: str) -> Chat | None:
    if not chat_id_plausible(chat_id):
        return None
    try:
        return Chat.get(chat_id, consistent_read=True)
    except Chat.DoesNotExist:
        return None


def chat_get_for_member(*, chat_id: str, user_id: str) -> Chat:
    """The chat, if `user_id` belongs to it; otherwise 404, whether or not the chat exists."""
    chat = chat_get(chat_id=chat_id)
    if chat is None or user_id not in chat.member_ids:
        raise NotFound(CHAT_NOT_FOUND)
    return chat


def chat_membership_get(*, user_id: str, chat_id: str) -> ChatMembership | None:
    try:
        return ChatMembership.get(user_id, chat_id, consistent_read=True)
    except ChatMembership.DoesNotExist:
        return None


def chat_muted_by(*, user_id: str, chat_id: str) -> bool:
    """Has this member muted the chat (push_notifications.py asks, before a push)? Reads only
    `muted`, eventually consistent: half a read unit. False for a row that is gone."""
    try:
        row = ChatMembership.get(user_id, chat_id, attributes_to_get=["muted"])
    except ChatMembership.DoesNotExist:
        return False
    return bool(row.muted)


def chat_membership_exists(*, user_id: str, chat_id: str) -> bool:
    return chat_membership_get(user_id=user_id, chat_id=chat_id) is not None


def chat_memberships_of(*, user_id: str, chat_ids: list[str]) -> dict[str, ChatMembership]:
    """The user's inbox rows for those of `chat_ids` they belong to, by chat id: one
    BatchGetItem per 100 chats instead of a GetItem each."""
    if not chat_ids:
        return {}
    rows = ChatMembership.batch_get(
        [(user_id, chat_id) for chat_id in dict.fromkeys(chat_ids)], consistent_read=True
    )
    return {row.chat_id: row for row in rows}


def chat_inbox(*, user_id: str) -> list[ChatMembership]:
    """The user's chats, most recent activity first (one Query on the activity index)."""
    return list(
        ChatMembership.activity_index.query(user_id, scan_index_forward=False, consistent_read=True)
    )


def chat_member_records(*, chat: Chat) -> list[tuple[User, ChatMembership | None]]:
    """Each member's account and inbox row, by user id (two BatchGetItem requests); a member
    whose account is gone is left out."""
    member_ids = sorted(chat.member_ids)
    users = {user.user_id: user for user in User.batch_get([User.key_for(m) for m in member_ids])}
    rows = {
        row.user_id: row
        for row in ChatMembership.batch_get([(member_id, chat.chat_id) for member_id in member_ids])
    }
    return [
        (users[member_id], rows.get(member_id)) for member_id in member_ids if member_id in users
    ]


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]
    next_cursor: str | None


def message_history(*, chat_id: str, limit: int, before_seq: int | None) -> MessagePage:
    """Messages newest first, `limit` of them, older than `before_seq` when given."""
    upper = message_sort_key(before_seq - 1) if before_seq else f"{MESSAGE_KEY_PREFIX}~"
    lower = message_sort_key(0)
    messages = list(
        Message.query(
            chat_id,
            Message.sk.between(lower, upper),
            scan_index_forward=False,
            consistent_read=True,
            limit=limit,
        )
    )
    next_cursor = None
    if len(messages) == limit and messages[-1].seq > 1:
        next_cursor = message_cursor_encode(int(messages[-1].seq))
    return MessagePage(messages=messages, next_cursor=next_cursor)


def message_range(
    *, chat_id: str, after_seq: int, up_to_seq: int | None = None, limit: int | None = None
) -> list[Message]:
    """Messages with after_seq < seq <= up_to_seq (or every later one), oldest first; only
    the first `limit` of them when given: a page, whose successor starts after its last seq.
    Without a limit, all of them: for operations commands and tests, never a request path."""
    upper = message_sort_key(up_to_seq) if up_to_seq is not None else f"{MESSAGE_KEY_PREFIX}~"
    return list(
        Message.query(
            chat_id,
            Message.sk.between(message_sort_key(after_seq + 1), upper),
            scan_index_forward=True,
            consistent_read=True,
            limit=limit,
        )
    )


def client_message_get(
    *, chat_id: str, sender_id: str, client_msg_id: str
) -> ClientMessageId | None:
    try:
        return ClientMessageId.get(
            chat_id, client_message_sort_key(sender_id, client_msg_id), consistent_read=True
        )
    except ClientMessageId.DoesNotExist:
        return None


def message_of_client_id(*, chat_id: str, sender_id: str, client_msg_id: str) -> Message | None:
    """The message a sender already stored under this client id, if any."""
    marker = client_message_get(chat_id=chat_id, sender_id=sender_id, client_msg_id=client_msg_id)
    if marker is None:
        return None
    return message_get(chat_id=chat_id, seq=int(marker.seq))


def message_get(*, chat_id: str, seq: int) -> Message | None:
    try:
        return Message.get(chat_id, message_sort_key(seq), consistent_read=True)
    except Message.DoesNotExist:
        return None


# --- Glossary and reader choices ---------------------------------------------------------


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    # None: kept as written.
    rendering: str | None


@dataclass(frozen=True)
class Glossary:
    chat_id: str
    # 0 while the chat has never had one: the version an editor sends back to create it.
    version: int
    entries: tuple[GlossaryTerm, ...] = ()


def glossary_get(*, chat_id: str) -> Glossary:
    """The chat's glossary (one GetItem); empty, version 0, when it has none."""
    try:
        item = ChatGlossary.get(chat_id, GLOSSARY_SORT_KEY, consistent_read=True)
    except ChatGlossary.DoesNotExist:
        item = None
    return _glossary_of(chat_id=chat_id, item=item)


def _glossary_of(*, chat_id: str, item: ChatGlossary | None) -> Glossary:
    if item is None:
        return Glossary(chat_id=chat_id, version=0)
    return Glossary(
        chat_id=chat_id,
        version=int(item.version),
        entries=tuple(
            GlossaryTerm(term=entry.term, rendering=entry.rendering) for entry in item.entries
        ),
    )


@dataclass(frozen=True)
class TranslationGlossary:
    """What a translation request must respect: `kept` appear as written in every language,
    `renderings` map a term to its fixed rendering."""

    kept: tuple[str, ...] = ()
    renderings: dict[str, str] = field(default_factory=dict)


def _translation_glossary_of(glossary: Glossary) -> TranslationGlossary:
    """The glossary as a translation uses it. Member names are not in it: the profile read
    (`translation_profile_read`) adds those."""
    return TranslationGlossary(
        kept=tuple(entry.term for entry in glossary.entries if entry.rendering is None),
        renderings={
            entry.term: entry.rendering for entry in glossary.entries if entry.rendering is not None
        },
    )


@dataclass(frozen=True)
class MemberNames:
    """What a translation needs of a member's account: the name the other members see
    (accounts' `user_display_name`) and the names kept as written in every language."""

    display_name: str
    kept: tuple[str, ...]


def member_names_by_id(*, member_ids: frozenset[str] | set[str]) -> dict[str, MemberNames]:
    """Each member's names, by user id (one BatchGetItem); a member whose account is gone is
    left out. No other field of the account leaves this function."""
    if not member_ids:
        return {}
    return _member_names_of(
        User.batch_get([User.key_for(member_id) for member_id in sorted(member_ids)])
    )


def _member_names_of(users: Iterable[User]) -> dict[str, MemberNames]:
    names: dict[str, MemberNames] = {}
    for user in users:
        names[user.user_id] = MemberNames(
            display_name=user_display_name(user=user),
            kept=tuple(
                dict.fromkeys(
                    name for name in (user.first_name, user.last_name, user.username) if name
                )
            ),
        )
    return names


def chat_formality(*, user_id: str, chat_id: str) -> str | None:
    """How `user_id` wants translations addressed in this chat ("formal", "informal") or
    None; 404 when they are not a member."""
    membership = (
        chat_membership_get(user_id=user_id, chat_id=chat_id)
        if chat_id_plausible(chat_id)
        else None
    )
    if membership is None:
        raise NotFound(CHAT_NOT_FOUND)
    return membership.formality


def _formality_agreed(
    *, rows: Iterable[ChatMembership], member_languages: dict[str, str]
) -> dict[str, str]:
    """Each member language whose readers in this chat (their inbox `rows`) chose a
    formality, and all the same one. A translation is made once per language, so readers of
    one language who disagree, or of whom some chose nothing, get the model's own choice (the
    language is left out)."""
    choices: dict[str, set[str | None]] = {}
    for row in rows:
        language = member_languages.get(row.user_id)
        if language is not None:
            choices.setdefault(language, set()).add(row.formality)
    agreed: dict[str, str] = {}
    for language, chosen in choices.items():
        (only,) = chosen if len(chosen) == 1 else (None,)
        if only is not None:
            agreed[language] = only
    return agreed


@dataclass(frozen=True)
class TranslationProfileReads:
    """What the translation of a chat's messages reads of the chat and its members."""

    glossary: TranslationGlossary
    members: dict[str, MemberNames]
    formality: dict[str, str]


def translation_profile_read(
    *, chat_id: str, member_languages: dict[str, str]
) -> TranslationProfileReads:
    """The chat's glossary as a translation uses it, its members' names (as
    `member_names_by_id`) and the formality each member language agreed on, in one
    BatchGetItem over their three tables instead of three requests one after another."""
    member_ids = sorted(member_languages)
    found = dynamo_items_get(
        KeysWanted(ChatGlossary, [(chat_id, GLOSSARY_SORT_KEY)], consistent_read=True),
        KeysWanted(User, [User.key_for(member_id) for member_id in member_ids]),
        KeysWanted(ChatMembership, [(member_id, chat_id) for member_id in member_ids]),
    )
    glossary_items = [item for item in found[ChatGlossary] if isinstance(item, ChatGlossary)]
    return TranslationProfileReads(
        glossary=_translation_glossary_of(
            _glossary_of(chat_id=chat_id, item=glossary_items[0] if glossary_items else None)
        ),
        members=_member_names_of(item for item in found[User] if isinstance(item, User)),
        formality=_formality_agreed(
            rows=(item for item in found[ChatMembership] if isinstance(item, ChatMembership)),
            member_languages=member_languages,
        ),
    )


# --- Operations (management commands) ----------------------------------------------------


def messages_by_author(*, user_id: str) -> list[Message]:
    """Every message `user_id` wrote, in any chat (left ones too), by chat then sequence
    number: a Query of the keys-only `author_index` (a page at a time), then each message read
    by key, consistently, 100 to a BatchGetItem. Safe on a request path: it reads the person's
    own messages and nothing else, never the whole table.

    The index is eventually consistent: a message committed a moment ago may be missing from
    it, and one anonymised a moment ago may still be listed, so what the consistent read
    returns is checked again for its author.
    """
    keys = [
        (entry.chat_id, entry.sk)
        for entry in Message.author_index.query(
            user_id, AuthorIndex.sk.startswith(MESSAGE_KEY_PREFIX)
        )
    ]
    messages = [
        message
        for message in Message.batch_get(keys, consistent_read=True)
        if message.from_user_id == user_id
    ]
    messages.sort(key=lambda message: (message.chat_id, int(message.seq)))
    return messages

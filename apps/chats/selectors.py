"""Reads of chats, memberships and messages, and how they look to one reader."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from apps.chats.models import (
    CHAT_KIND_GROUP,
    MESSAGE_KEY_PREFIX,
    Chat,
    ChatMembership,
    ClientMessageId,
    Message,
    client_message_sort_key,
    message_sort_key,
)
from apps.core.errors import InvalidInput, NotFound
from apps.core.text import text_problem

PREVIEW_MAX_CHARS = 100
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


def chat_get(*, chat_id: str) -> Chat | None:
    if not chat_id or len(chat_id) > CHAT_ID_MAX_CHARS or text_problem(chat_id) is not None:
        # Not an id any chat has; DynamoDB would answer such a key with an error.
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


def chat_members(*, chat: Chat) -> list[dict]:
    """Who is in the chat, with each member's read mark (two BatchGetItem requests)."""
    from apps.accounts.models import User

    member_ids = sorted(chat.member_ids)
    users = {user.user_id: user for user in User.batch_get([User.key_for(m) for m in member_ids])}
    rows = {
        row.user_id: row
        for row in ChatMembership.batch_get([(member_id, chat.chat_id) for member_id in member_ids])
    }
    return [
        {
            "user_id": member_id,
            "username": users[member_id].username,
            "first_name": users[member_id].first_name,
            "last_name": users[member_id].last_name,
            "native_language": users[member_id].native_language,
            "last_read_seq": int(rows[member_id].last_read_seq) if member_id in rows else 0,
        }
        for member_id in member_ids
        if member_id in users
    ]


def chat_summary(*, membership: ChatMembership) -> dict:
    """A chat as the contract shows it to this member, plus additions."""
    is_group = membership.kind == CHAT_KIND_GROUP
    return {
        "chat_id": membership.chat_id,
        # Old clients show other_username as the chat's name; a group shows its title there.
        "other_username": membership.title if is_group else membership.other_username,
        "other_user_id": None if is_group else membership.other_user_id,
        "last_message_preview": membership.last_message_preview,
        "updated_at": membership.updated_at.isoformat(),
        "kind": membership.kind,
        "title": membership.title,
        "unread_count": int(membership.unread_count),
        "last_seq": int(membership.last_seq),
        "last_read_seq": int(membership.last_read_seq),
    }


def message_preview(text: str) -> str:
    return text if len(text) <= PREVIEW_MAX_CHARS else text[: PREVIEW_MAX_CHARS - 1] + "…"


def message_text_for(*, message: Message, language: str) -> tuple[str, str, bool]:
    """(text, its language, translated?) of a message for a reader of `language`."""
    if language == message.original_language:
        return message.original_text, message.original_language, True
    translated = map_as_dict(message.translations).get(language)
    if translated is not None:
        return translated, language, True
    return message.original_text, message.original_language, False


def message_view(*, message: Message, language: str) -> dict:
    """A message as the contract shows it to a reader of `language`, plus additions."""
    text, text_language, translated = message_text_for(message=message, language=language)
    view = {
        "message_id": message.message_id,
        "text": text,
        "from_user_id": message.from_user_id,
        "language": text_language,
        "timestamp": message.created_at.isoformat(),
        "seq": int(message.seq),
        "kind": message.kind,
        "original_text": message.original_text,
        "original_language": message.original_language,
        "translated": translated,
        "client_msg_id": message.client_msg_id,
    }
    meta = map_as_dict(getattr(message, "meta", None))
    if meta:
        view["meta"] = meta
    return view


def message_cursor_encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def message_cursor_decode(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, _, value = base64.urlsafe_b64decode(padded).decode().partition(":")
        seq = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidInput("cursor is not valid") from error
    if kind != "seq" or seq < 1:
        raise InvalidInput("cursor is not valid")
    return seq


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


# --- Operations (management commands) ----------------------------------------------------


def messages_by_author(*, user_id: str) -> list[Message]:
    """Every message `user_id` wrote, in any chat, by chat then sequence number.

    A Scan of the whole `messages` table (no index leads from an author to their messages):
    for operations commands only (data export, account deletion), never a request path.
    """
    messages = list(
        Message.scan(
            (Message.from_user_id == user_id) & Message.sk.startswith(MESSAGE_KEY_PREFIX),
            consistent_read=True,
        )
    )
    messages.sort(key=lambda message: (message.chat_id, int(message.seq)))
    return messages


def user_data_export(*, user) -> dict:
    """All of one person's data, for a data access request: the account (no password hash),
    their chats as their inbox shows them, and every message they wrote with its
    translations. Other people's messages are not theirs and are left out."""
    from datetime import UTC, datetime

    from apps.accounts.selectors import user_account_view

    chats = []
    for row in ChatMembership.query(user.user_id, consistent_read=True):
        chat = chat_summary(membership=row)
        chat["joined_at"] = row.joined_at.isoformat()
        chats.append(chat)
    messages = [
        {
            "chat_id": message.chat_id,
            "seq": int(message.seq),
            "message_id": message.message_id,
            "kind": message.kind,
            "timestamp": message.created_at.isoformat(),
            "original_language": message.original_language,
            "original_text": message.original_text,
            "translations": map_as_dict(message.translations),
            "client_msg_id": message.client_msg_id,
        }
        for message in messages_by_author(user_id=user.user_id)
    ]
    return {
        "format": "commonality-user-export/1",
        "exported_at": datetime.now(UTC).isoformat(),
        "account": user_account_view(user=user),
        "chats": chats,
        "messages": messages,
    }

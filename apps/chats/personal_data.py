"""One person's data: the export of everything they put in (a data access request) and the
deletion of their account, with their messages anonymised in the chats that go on.

Both serve the operations commands (export_user_data, delete_user) and the person's own
requests (`GET /api/auth/me/export`, `POST /api/auth/me/delete`): the same functions, so both
promise the same. Neither scans: a person's messages are found through the `author_index`
(`messages_by_author`), their chats through their inbox rows, their reactions by a Query of
each of those chats' messages, their search index entries through their registry
(search_index.user_search_entries_delete).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError
from pynamodb.transactions import TransactWrite

from apps.accounts import services as account_services
from apps.accounts.languages import LANGUAGES_BY_CODE
from apps.accounts.models import User
from apps.accounts.push_subscriptions import push_subscriptions_delete
from apps.accounts.selectors import user_account_view
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.models import (
    CHAT_KIND_DIRECT,
    DELETED_USER_ID,
    MESSAGE_KEY_PREFIX,
    Chat,
    ChatMembership,
    ClientMessageId,
    Message,
    client_message_sort_key,
)
from apps.chats.presenters import chat_summary, member_read_languages
from apps.chats.search_index import message_entries_delete, user_search_entries_delete
from apps.chats.selectors import chat_get, map_as_dict, messages_by_author
from apps.chats.services import chats_connection
from apps.core.dynamo import dynamo_pages_delete
from apps.core.transactions import transaction_write

EXPORT_FORMAT = "commonality-user-export/1"


def user_data_export(*, user: User) -> dict:
    """All of one person's data, for a data access request: the account (no password hash),
    their chats as their inbox shows them (less previews), and every message they wrote with its
    translations. Other people's messages are not theirs and are left out."""
    chats = []
    for row in ChatMembership.query(user.user_id, consistent_read=True):
        # The inbox's summary, and when they joined (no protocol shape: the export's own),
        # less the preview of the latest message: often someone else's words.
        summary = {**chat_summary(membership=row), "joined_at": row.joined_at.isoformat()}
        summary.pop("last_message_preview", None)
        chats.append(summary)
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
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "account": user_account_view(user=user),
        "chats": chats,
        "messages": messages,
    }


# What stays of a deleted person: their messages keep their place in each chat (sequence
# numbers stay gapless, which resume and gap filling rely on) but lose their text and author
# (to models.DELETED_USER_ID).
DELETED_USERNAME = "[deleted]"
DELETED_MESSAGE_TEXT = "[message deleted]"


@dataclass(frozen=True)
class UserDeleted:
    user_id: str
    username: str
    chats_left: int
    chats_deleted: int
    messages_anonymised: int
    # The disabled account's token version: sockets authenticated before it close.
    token_version: int


# Messages read per Query page when looking for a person's reactions in a chat.
REACTIONS_PAGE_MESSAGES = 200


def _chat_member_remove(*, user_id: str, chat_id: str, chat: Chat | None) -> None:
    """Take `user_id` out of the chat's members (`chat` as just read; None if it no longer
    exists) and delete their inbox row."""

    def write(transaction: TransactWrite) -> None:
        if chat is not None and user_id in chat.member_ids:
            transaction.update(
                Chat(chat_id),
                actions=[
                    Chat.member_ids.delete({user_id}),
                    Chat.member_languages[user_id].remove(),
                    Chat.roster_version.add(1),
                    # Only a path that exists can be removed (the map may be absent).
                    *(
                        [Chat.member_read_languages[user_id].remove()]
                        if user_id in member_read_languages(chat)
                        else []
                    ),
                ],
                condition=Chat.member_ids.contains(user_id),
            )
        transaction.delete(ChatMembership(user_id, chat_id))

    transaction_write(connection=chats_connection(), write=write)
    chat_snapshots.forget(chat_id)


def _reactions_remove(*, user_id: str, chat_id: str) -> int:
    """Take `user_id`'s reaction off every message of the chat that has one: Query the chat's
    messages a page at a time (keys and reactions only, filtered on their entry), then one
    UpdateItem each that also raises `reactions_version` (so a reaction read before it is
    decided again), on condition that their entry is still there. Returns how many."""
    removed = 0
    for message in Message.query(
        chat_id,
        Message.sk.startswith(MESSAGE_KEY_PREFIX),
        filter_condition=Message.reactions[user_id].exists(),
        attributes_to_get=["chat_id", "sk", "reactions"],
        consistent_read=True,
        page_size=REACTIONS_PAGE_MESSAGES,
    ):
        try:
            Message(message.chat_id, message.sk).update(
                actions=[
                    Message.reactions[user_id].remove(),
                    Message.reactions_version.add(1),
                ],
                condition=Message.reactions[user_id].exists(),
            )
        except UpdateError as error:
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            continue
        removed += 1
    return removed


def _chat_delete_everything(*, chat_id: str) -> None:
    """Delete a chat nobody belongs to any more: its messages, client id markers and item."""
    connection = Message._get_connection()
    dynamo_pages_delete(
        connection=connection,
        read=lambda start: connection.query(
            chat_id,
            attributes_to_get=["chat_id", "sk"],
            consistent_read=True,
            exclusive_start_key=start,
        ),
    )
    Chat(chat_id).delete()


def _message_anonymise(*, message: Message, user_id: str) -> None:
    every_language = {
        code: DELETED_MESSAGE_TEXT
        for code in LANGUAGES_BY_CODE
        if code != message.original_language
    }
    if message.client_msg_id:
        ClientMessageId(
            message.chat_id, client_message_sort_key(user_id, message.client_msg_id)
        ).delete()
    try:
        message.update(
            actions=[
                Message.from_user_id.set(DELETED_USER_ID),
                Message.original_text.set(DELETED_MESSAGE_TEXT),
                # Every language present, so nobody's history asks for a translation of it.
                Message.translations.set(every_language),
                Message.pending_languages.remove(),
                Message.client_msg_id.remove(),
            ],
            condition=Message.from_user_id == user_id,
        )
    except UpdateError as error:
        if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise


def _previews_anonymise(*, chat_id: str, seq: int) -> None:
    """Where the chat's latest message is one that was just anonymised, show that in every
    remaining member's inbox too (unless a newer message arrived meanwhile)."""
    chat = chat_get(chat_id=chat_id)
    if chat is None or int(chat.last_seq) != seq:
        return
    for member_id in chat.member_ids:
        try:
            ChatMembership(member_id, chat_id).update(
                actions=[ChatMembership.last_message_preview.set(DELETED_MESSAGE_TEXT)],
                condition=ChatMembership.last_seq == seq,
            )
        except UpdateError:
            continue


def user_delete(*, user: User) -> UserDeleted:
    """Delete an account and the person's data: nothing of theirs is left but the tombstones
    of their messages.

    In order, so that running it again after a failure finishes the job: the account is
    disabled (every token dies); in each chat they are in, their reactions are taken off its
    messages (while they are still a member, so a rerun finds the chat again) and they leave
    it (their inbox row goes; in a 1:1 chat the other person's row names `[deleted]`); chats
    nobody is left in are deleted with their messages; the messages they wrote elsewhere are
    anonymised (text and every translation become `[message deleted]`, the author `deleted`,
    client ids go), inbox previews showing those messages follow; their search index entries
    and its registry go, then their push subscriptions; last the account and its username
    claim are deleted (the username is free again). Their presence keys in Redis are
    forgotten by the caller (actions.do_delete_user), which is async.
    """
    user = account_services.user_disable(user=user)
    chats_left = chats_deleted = 0
    for row in list(ChatMembership.query(user.user_id, consistent_read=True)):
        chat = chat_get(chat_id=row.chat_id)
        others = set(chat.member_ids) - {user.user_id} if chat is not None else set()
        if others:
            # While they are still a member: a rerun after a crash finds this chat again.
            _reactions_remove(user_id=user.user_id, chat_id=row.chat_id)
        _chat_member_remove(user_id=user.user_id, chat_id=row.chat_id, chat=chat)
        chats_left += 1
        if chat is None:
            continue
        if not others:
            _chat_delete_everything(chat_id=chat.chat_id)
            chats_deleted += 1
            continue
        if chat.kind == CHAT_KIND_DIRECT:
            for other_id in others:
                try:
                    ChatMembership(other_id, chat.chat_id).update(
                        actions=[ChatMembership.other_username.set(DELETED_USERNAME)],
                        condition=ChatMembership.other_user_id == user.user_id,
                    )
                except UpdateError:
                    continue
    latest: dict[str, int] = {}
    messages = messages_by_author(user_id=user.user_id)
    chats_kept: dict[str, Chat | None] = {}
    for message in messages:
        if message.chat_id not in chats_kept:
            chats_kept[message.chat_id] = chat_get(chat_id=message.chat_id)
        chat_kept = chats_kept[message.chat_id]
        if chat_kept is not None:
            # Other readers' entries of the words: computed from the text, so before it goes.
            message_entries_delete(
                message=message,
                member_languages=map_as_dict(chat_kept.member_languages),
                read_languages=member_read_languages(chat_kept),
            )
        _message_anonymise(message=message, user_id=user.user_id)
        latest[message.chat_id] = max(latest.get(message.chat_id, 0), int(message.seq))
    for chat_id, seq in latest.items():
        _previews_anonymise(chat_id=chat_id, seq=seq)
    # Their own search index (no other reader's): every hash of their registry, then it.
    user_search_entries_delete(user_id=user.user_id)
    # Before the account: a browser of theirs must never be sent another push.
    push_subscriptions_delete(user_id=user.user_id)
    account_services.user_account_delete(user=user)
    return UserDeleted(
        user_id=user.user_id,
        username=user.username,
        chats_left=chats_left,
        chats_deleted=chats_deleted,
        messages_anonymised=len(messages),
        token_version=int(user.token_version),
    )

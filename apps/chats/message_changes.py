"""Editing a message, and deleting it for everyone: the checks, the writes and the previews.
The use cases that put them together with translation and the broadcasts are
`actions.do_edit_message` and `actions.do_delete_message`.

A message is addressed by its chat and sequence number (its key); a `message_id`, when
given, must be the one stored there. Who may do what:
- edit: the sender, of a `text` message, within MESSAGE_EDIT_WINDOW_SECONDS of sending it;
- delete for everyone: the sender, or a group's creator, of a message of any kind.
A deleted message is a tombstone: its text, translations and meta are gone, while its seq,
ids, author, kind and created_at stay, so sequence numbers stay gapless. It can be neither
edited nor deleted again (409).

Each write is one transaction: a conditional UpdateItem on the message (it exists, is not
deleted, is the author's, and for an edit is a text message still inside the window) with
the message's owed-translation record: put afresh for what the edited text still lacks, or
deleted (nothing owed, or the message deleted). Then each member's inbox preview is
rewritten where this message is still the chat's latest (one conditional UpdateItem per
member, on `last_seq == seq`).

Everything here is synchronous PynamoDB work; async callers use `run_blocking`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from apps.chats.models import (
    CHAT_KIND_GROUP,
    Chat,
    ChatMembership,
    Message,
    MessageKind,
    OwedTranslation,
    message_deleted,
)
from apps.chats.owed_translations import owed_translation_key, owed_translation_new
from apps.chats.presenters import (
    ReadLanguages,
    languages_lacking,
    message_preview,
    message_text_for,
)
from apps.chats.selectors import CHAT_NOT_FOUND, chat_get, message_get
from apps.chats.services import chats_connection
from apps.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from apps.core.transactions import transaction_cancellation_codes

logger = logging.getLogger(__name__)

MESSAGE_NOT_FOUND = "Message not found"
NOT_YOURS_TO_EDIT = "Only its sender can edit a message"
NOT_YOURS_TO_DELETE = "Only its sender (or the group's creator) can delete a message"
ONLY_TEXT_EDITABLE = "Only text messages can be edited"
ALREADY_DELETED = "The message was deleted"
EDIT_WINDOW_PASSED = "The message can no longer be edited"
# What an inbox shows for a chat whose latest message was deleted.
DELETED_PREVIEW = "Message deleted"


def message_edit_window() -> timedelta:
    return timedelta(seconds=settings.MESSAGE_EDIT_WINDOW_SECONDS)


@dataclass(frozen=True)
class ChangeTarget:
    """A message someone may change, and its chat as read for the change."""

    chat: Chat
    message: Message


def _target_get(*, chat_id: str, seq: int, user_id: str, message_id: str | None) -> ChangeTarget:
    chat = chat_get(chat_id=chat_id)
    if chat is None or user_id not in chat.member_ids:
        raise NotFound(CHAT_NOT_FOUND)
    message = message_get(chat_id=chat_id, seq=seq) if seq >= 1 else None
    if message is None or (message_id is not None and message.message_id != message_id):
        raise NotFound(MESSAGE_NOT_FOUND)
    return ChangeTarget(chat=chat, message=message)


def _group_creator(*, chat: Chat, user_id: str) -> bool:
    return chat.kind == CHAT_KIND_GROUP and chat.created_by == user_id


def message_edit_check(
    *, chat_id: str, seq: int, user_id: str, message_id: str | None, now: datetime
) -> ChangeTarget:
    """The message the user may edit now: 404 for a chat they are not in or no such message,
    403 for someone else's, 409 deleted, 422 not a text message, 409 once the window has passed."""
    target = _target_get(chat_id=chat_id, seq=seq, user_id=user_id, message_id=message_id)
    _edit_refusal_raise(message=target.message, user_id=user_id, now=now)
    return target


def _edit_refusal_raise(*, message: Message, user_id: str, now: datetime) -> None:
    if message.from_user_id != user_id:
        raise Forbidden(NOT_YOURS_TO_EDIT)
    if message_deleted(message):
        raise Conflict(ALREADY_DELETED)
    if message.kind != MessageKind.TEXT.value:
        raise InvalidInput(ONLY_TEXT_EDITABLE)
    if message.created_at < now - message_edit_window():
        raise Conflict(EDIT_WINDOW_PASSED)


def message_delete_check(
    *, chat_id: str, seq: int, user_id: str, message_id: str | None
) -> ChangeTarget:
    """The message the user may delete for everyone: 404 as for an edit, 403 for someone
    else's (unless the user created the group), 409 when deleted already."""
    target = _target_get(chat_id=chat_id, seq=seq, user_id=user_id, message_id=message_id)
    _delete_refusal_raise(target=target, user_id=user_id)
    return target


def _delete_refusal_raise(*, target: ChangeTarget, user_id: str) -> None:
    message = target.message
    if message.from_user_id != user_id and not _group_creator(chat=target.chat, user_id=user_id):
        raise Forbidden(NOT_YOURS_TO_DELETE)
    if message_deleted(message):
        raise Conflict(ALREADY_DELETED)


def _condition_failed(error: TransactWriteError) -> bool:
    return "ConditionalCheckFailed" in transaction_cancellation_codes(error)


def message_edit_write(
    *,
    target: ChangeTarget,
    user_id: str,
    text: str,
    source: str,
    translations: dict[str, str],
    pending: set[str],
    edited_at: datetime,
    member_languages: dict[str, str],
    read_languages: ReadLanguages,
) -> Message:
    """Store the edited text with its translations, in one transaction with its owed record
    (put for what it lacks, else deleted). Refused (the same 4xx as `message_edit_check`)
    when the message changed meanwhile: deleted, or the window passed while translating."""
    message = target.message
    edited = Message(
        message.chat_id,
        message.sk,
        message_id=message.message_id,
        seq=int(message.seq),
        from_user_id=message.from_user_id,
        kind=message.kind,
        original_text=text,
        original_language=source,
        translations=dict(translations),
        pending_languages=set(pending) or None,
        client_msg_id=message.client_msg_id,
        created_at=message.created_at,
        meta=message.meta,
        edited_at=edited_at,
    )
    condition: Condition = (
        Message.sk.exists()
        & (Message.message_id == message.message_id)
        & (Message.from_user_id == user_id)
        & Message.deleted_at.does_not_exist()
        & (Message.kind == MessageKind.TEXT.value)
        & (Message.created_at >= edited_at - message_edit_window())
    )
    lacking = languages_lacking(
        message=edited, member_languages=member_languages, read_languages=read_languages
    )
    seq = int(message.seq)
    try:
        with TransactWrite(connection=chats_connection()) as transaction:
            transaction.update(
                Message(message.chat_id, message.sk),
                actions=[
                    Message.original_text.set(text),
                    Message.original_language.set(source),
                    Message.translations.set(dict(translations)),
                    (
                        Message.pending_languages.set(set(pending))
                        if pending
                        else Message.pending_languages.remove()
                    ),
                    Message.edited_at.set(edited_at),
                ],
                condition=condition,
            )
            if lacking:
                # The edited text's debt, afresh: attempts counted from this edit.
                transaction.save(
                    owed_translation_new(
                        chat_id=message.chat_id, seq=seq, languages=lacking, created_at=edited_at
                    )
                )
            else:
                transaction.delete(OwedTranslation(*_owed_key(message)))
    except TransactWriteError as error:
        if not _condition_failed(error):
            raise
        now_stored = message_get(chat_id=message.chat_id, seq=seq)
        if now_stored is None or now_stored.message_id != message.message_id:
            raise NotFound(MESSAGE_NOT_FOUND) from error
        _edit_refusal_raise(message=now_stored, user_id=user_id, now=edited_at)
        raise Conflict(EDIT_WINDOW_PASSED) from error
    return edited


def _owed_key(message: Message) -> tuple[str, str]:
    return owed_translation_key(chat_id=message.chat_id, seq=int(message.seq))


def message_delete_write(*, target: ChangeTarget, user_id: str, deleted_at: datetime) -> Message:
    """Make the message a tombstone: its text, translations, owed languages and meta (a
    turn's or a note's transcript references, a call's details) removed, its owed record
    deleted with it, in one transaction. Refused (409) when it was deleted meanwhile."""
    message = target.message
    condition: Condition = (
        Message.sk.exists()
        & (Message.message_id == message.message_id)
        & Message.deleted_at.does_not_exist()
    )
    if not _group_creator(chat=target.chat, user_id=user_id):
        condition = condition & (Message.from_user_id == user_id)
    try:
        with TransactWrite(connection=chats_connection()) as transaction:
            transaction.update(
                Message(message.chat_id, message.sk),
                actions=[
                    Message.original_text.set(""),
                    Message.translations.set({}),
                    Message.pending_languages.remove(),
                    Message.meta.remove(),
                    Message.deleted_at.set(deleted_at),
                ],
                condition=condition,
            )
            transaction.delete(OwedTranslation(*_owed_key(message)))
    except TransactWriteError as error:
        if not _condition_failed(error):
            raise
        now_stored = message_get(chat_id=message.chat_id, seq=int(message.seq))
        if now_stored is None or now_stored.message_id != message.message_id:
            raise NotFound(MESSAGE_NOT_FOUND) from error
        _delete_refusal_raise(
            target=ChangeTarget(chat=target.chat, message=now_stored), user_id=user_id
        )
        raise Conflict(ALREADY_DELETED) from error
    return Message(
        message.chat_id,
        message.sk,
        message_id=message.message_id,
        seq=int(message.seq),
        from_user_id=message.from_user_id,
        kind=message.kind,
        original_text="",
        original_language=message.original_language,
        translations={},
        client_msg_id=message.client_msg_id,
        created_at=message.created_at,
        edited_at=message.edited_at,
        deleted_at=deleted_at,
    )


def message_change_preview(*, message: Message, text: str) -> str:
    return DELETED_PREVIEW if message_deleted(message) else message_preview(text)


def change_previews_refresh(
    *,
    message: Message,
    chat: Chat,
    member_languages: dict[str, str],
    read_languages: ReadLanguages,
) -> list[str]:
    """Each member's inbox preview, in their language, where this message is still the chat's
    latest (on condition, per row, that its `last_seq` is the message's). The member ids
    updated. Nothing is written when the chat had moved on already when read."""
    seq = int(message.seq)
    if int(chat.last_seq) != seq:
        return []
    updated = []
    for member_id, language in member_languages.items():
        text, _, _ = message_text_for(
            message=message,
            language=language,
            reader_id=member_id,
            read_languages=read_languages.get(member_id, ()),
        )
        try:
            ChatMembership(member_id, message.chat_id).update(
                actions=[
                    ChatMembership.last_message_preview.set(
                        message_change_preview(message=message, text=text)
                    )
                ],
                condition=ChatMembership.last_seq == seq,
            )
        except UpdateError as error:
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            continue
        updated.append(member_id)
    return updated

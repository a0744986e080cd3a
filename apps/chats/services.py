"""Writes for chats: creating chats, membership changes, committing messages, read marks,
a member's mute.

Everything here is synchronous PynamoDB work; async callers use `run_blocking`. Nothing here
sends an event: the use cases in `actions.py` do, after these writes. The orchestration of a
send (translation streaming, commit, broadcast) is `actions.do_send_message`.
"""

from __future__ import annotations

import functools
import logging
import operator
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from apps.accounts.models import User
from apps.accounts.selectors import user_get_by_username, user_read_languages
from apps.chats.chat_snapshots import chat_snapshots, chat_with_last_seq
from apps.chats.models import (
    CHAT_KIND_DIRECT,
    CHAT_KIND_GROUP,
    CLIENT_ID_KEY_PREFIX,
    MESSAGE_KEY_PREFIX,
    Chat,
    ChatMembership,
    ClientMessageId,
    Message,
    MessageKind,
    client_message_sort_key,
    message_sort_key,
)
from apps.chats.owed_translations import owed_translation_new
from apps.chats.presenters import (
    ReadLanguages,
    languages_lacking,
    member_read_languages,
    message_preview,
    message_text_for,
    reads_as_written,
)
from apps.chats.selectors import (
    CHAT_NOT_FOUND,
    chat_get,
    chat_get_for_member,
    chat_id_plausible,
    chat_membership_get,
    client_message_get,
    map_as_dict,
    message_get,
)
from apps.core.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound
from apps.core.outages import outage_caused
from apps.core.text import display_text_clean
from apps.core.transactions import (
    CONFLICT_RETRY_ATTEMPTS,
    conflict_backoff,
    conflict_retry,
    transaction_cancellation_codes,
    transaction_write,
    update_conflicted,
)

logger = logging.getLogger(__name__)

GROUP_TITLE_MAX_CHARS = 100
AUTHOR_NOT_A_MEMBER = "Not a member of this chat"
# A message is one transaction: chat, message, client id and one row per member (100 max).
GROUP_MAX_MEMBERS = 50
_DIRECT_CHAT_NAMESPACE = uuid.UUID("6f1d7a52-8f0e-4f5e-9a43-1c6c2b8d0e11")


def _now() -> datetime:
    return datetime.now(UTC)


def _activity_key(moment: datetime, chat_id: str) -> str:
    return f"{moment.isoformat()}#{chat_id}"


def chats_connection():
    """The connection every chat transaction is written on."""
    return Chat._get_connection().connection


def direct_chat_id(user_a: str, user_b: str) -> str:
    """The one chat id two people share: both creating it at once still make one chat."""
    first, second = sorted((user_a, user_b))
    return uuid.uuid5(_DIRECT_CHAT_NAMESPACE, f"{first}:{second}").hex


def _read_languages_of(users: list[User]) -> dict[str, list[str]]:
    """Chat.member_read_languages for these members: only those who read other languages."""
    return {user.user_id: reads for user in users if (reads := user_read_languages(user=user))}


def _membership_new(
    *, user_id: str, chat: Chat, moment: datetime, other: User | None
) -> ChatMembership:
    return ChatMembership(
        user_id,
        chat.chat_id,
        activity_at=_activity_key(moment, chat.chat_id),
        kind=chat.kind,
        title=chat.title,
        other_user_id=other.user_id if other else None,
        other_username=other.username if other else None,
        joined_at=moment,
        updated_at=moment,
        last_seq=int(chat.last_seq),
        last_read_seq=int(chat.last_seq),
        unread_count=0,
    )


@dataclass(frozen=True)
class ChatCreated:
    membership: ChatMembership
    created: bool
    member_ids: frozenset[str] = field(default_factory=frozenset)


def chat_direct_create(*, user: User, other_username: str) -> ChatCreated:
    other = user_get_by_username(username=other_username) if other_username else None
    if other is None or not other.is_active:
        raise NotFound("User not found")
    if other.user_id == user.user_id:
        raise BadRequest("Cannot start a chat with yourself")
    moment = _now()
    chat = Chat(
        direct_chat_id(user.user_id, other.user_id),
        kind=CHAT_KIND_DIRECT,
        created_by=user.user_id,
        created_at=moment,
        member_ids={user.user_id, other.user_id},
        member_languages={user.user_id: user.native_language, other.user_id: other.native_language},
        member_read_languages=_read_languages_of([user, other]),
        last_seq=0,
    )
    mine = _membership_new(user_id=user.user_id, chat=chat, moment=moment, other=other)
    theirs = _membership_new(user_id=other.user_id, chat=chat, moment=moment, other=user)

    def write(transaction: TransactWrite) -> None:
        transaction.save(chat, condition=Chat.chat_id.does_not_exist())
        transaction.save(mine)
        transaction.save(theirs)

    try:
        transaction_write(connection=chats_connection(), write=write)
    except TransactWriteError as error:
        if "ConditionalCheckFailed" not in transaction_cancellation_codes(error):
            raise
        existing = chat_membership_get(user_id=user.user_id, chat_id=chat.chat_id)
        if existing is None:
            raise Conflict("Chat is being created; try again") from error
        return ChatCreated(membership=existing, created=False)
    return ChatCreated(membership=mine, created=True, member_ids=frozenset(chat.member_ids))


def _users_by_username(usernames: list[str]) -> list[User]:
    users = []
    for username in usernames:
        found = user_get_by_username(username=username)
        if found is None or not found.is_active:
            raise NotFound(f"User not found: {username}")
        users.append(found)
    return users


def chat_group_create(*, user: User, title: str, usernames: list[str]) -> ChatCreated:
    title = display_text_clean(value=title, field="title")
    if not 1 <= len(title) <= GROUP_TITLE_MAX_CHARS:
        raise InvalidInput(f"title must be 1 to {GROUP_TITLE_MAX_CHARS} characters")
    distinct = list(dict.fromkeys(name.casefold() for name in usernames))
    # Even with the creator among them, more names than this cannot fit: refuse before
    # looking any up, so a long list costs no reads.
    if len(distinct) > GROUP_MAX_MEMBERS:
        raise InvalidInput(f"a group has at most {GROUP_MAX_MEMBERS} members")
    others = [other for other in _users_by_username(distinct) if other.user_id != user.user_id]
    if len(others) < 2:
        raise InvalidInput("a group needs at least two other members")
    if len(others) + 1 > GROUP_MAX_MEMBERS:
        raise InvalidInput(f"a group has at most {GROUP_MAX_MEMBERS} members")
    members = [user, *others]
    moment = _now()
    chat = Chat(
        uuid.uuid4().hex,
        kind=CHAT_KIND_GROUP,
        title=title,
        created_by=user.user_id,
        created_at=moment,
        member_ids={member.user_id for member in members},
        member_languages={member.user_id: member.native_language for member in members},
        member_read_languages=_read_languages_of(members),
        last_seq=0,
    )
    rows = [
        _membership_new(user_id=m.user_id, chat=chat, moment=moment, other=None) for m in members
    ]

    def write(transaction: TransactWrite) -> None:
        transaction.save(chat, condition=Chat.chat_id.does_not_exist())
        for row in rows:
            transaction.save(row)

    transaction_write(connection=chats_connection(), write=write)
    return ChatCreated(membership=rows[0], created=True, member_ids=frozenset(chat.member_ids))


def chat_member_add(*, user: User, chat_id: str, username: str) -> tuple[Chat, User]:
    chat = chat_get_for_member(chat_id=chat_id, user_id=user.user_id)
    if chat.kind != CHAT_KIND_GROUP:
        raise BadRequest("Members can only be added to a group chat")
    (newcomer,) = _users_by_username([username])
    if newcomer.user_id in chat.member_ids:
        raise Conflict("Already a member of this chat")
    if len(chat.member_ids) >= GROUP_MAX_MEMBERS:
        raise InvalidInput(f"a group has at most {GROUP_MAX_MEMBERS} members")
    moment = _now()
    row = _membership_new(user_id=newcomer.user_id, chat=chat, moment=moment, other=None)
    reads_actions, reads_condition = _member_reads_set(
        chat=chat, user_id=newcomer.user_id, reads=user_read_languages(user=newcomer)
    )

    def write(transaction: TransactWrite) -> None:
        transaction.update(
            chat,
            actions=[
                Chat.member_ids.add({newcomer.user_id}),
                Chat.member_languages[newcomer.user_id].set(newcomer.native_language),
                Chat.roster_version.add(1),
                *reads_actions,
            ],
            condition=_conditions_all(
                Chat.member_ids.contains(user.user_id),
                ~Chat.member_ids.contains(newcomer.user_id),
                reads_condition,
            ),
        )
        transaction.save(row)

    try:
        transaction_write(connection=chats_connection(), write=write)
    except TransactWriteError as error:
        if "ConditionalCheckFailed" in transaction_cancellation_codes(error):
            raise Conflict("Membership changed meanwhile; try again") from error
        raise
    chat_snapshots.forget(chat_id)
    refreshed = chat_get(chat_id=chat_id)
    if refreshed is None:  # deleted in the moment since the write
        raise NotFound("Chat not found")
    return refreshed, newcomer


def chat_leave(*, user: User, chat_id: str) -> Chat:
    chat = chat_get_for_member(chat_id=chat_id, user_id=user.user_id)
    if chat.kind != CHAT_KIND_GROUP:
        raise BadRequest("Only group chats can be left")

    # A path inside a map the item lacks cannot be removed (DynamoDB refuses the update).
    reads_removal = (
        [Chat.member_read_languages[user.user_id].remove()]
        if user.user_id in member_read_languages(chat)
        else []
    )

    def write(transaction: TransactWrite) -> None:
        transaction.update(
            chat,
            actions=[
                Chat.member_ids.delete({user.user_id}),
                Chat.member_languages[user.user_id].remove(),
                Chat.roster_version.add(1),
                *reads_removal,
            ],
            condition=Chat.member_ids.contains(user.user_id),
        )
        transaction.delete(ChatMembership(user.user_id, chat_id))

    try:
        transaction_write(connection=chats_connection(), write=write)
    except TransactWriteError as error:
        if "ConditionalCheckFailed" in transaction_cancellation_codes(error):
            raise NotFound(CHAT_NOT_FOUND) from error
        raise
    chat_snapshots.forget(chat_id)
    return chat


def _conditions_all(*conditions: Condition | None) -> Condition:
    """Every one of `conditions` (None: no condition), of which there is at least one."""
    present = [condition for condition in conditions if condition is not None]
    return functools.reduce(operator.and_, present)


def _member_reads_set(
    *, chat: Chat, user_id: str, reads: list[str]
) -> tuple[list[Action], Condition | None]:
    """The update actions that record `user_id`'s read languages in `chat` as read, and the
    condition they need (None: none). A chat item from before member_read_languages existed has no map
    to set a path in: the whole map is written, on condition that it is still absent."""
    # Read through attribute_values: pynamodb's types do not follow null= (see
    # _roster_unchanged) and say the map is always there.
    if chat.attribute_values.get("member_read_languages") is not None:
        action = (
            Chat.member_read_languages[user_id].set(reads)
            if reads
            else Chat.member_read_languages[user_id].remove()
        )
        return [action], Chat.member_read_languages.exists()
    if not reads:
        return [], None
    return [Chat.member_read_languages.set({user_id: reads})], (
        Chat.member_read_languages.does_not_exist()
    )


def chat_languages_refresh(*, user: User) -> int:
    """After a change of the user's native or read languages: record them in every chat of
    the user, so messages written from now on are translated (or not) accordingly. Returns
    how many chats changed."""
    reads = user_read_languages(user=user)
    changed = 0
    for row in ChatMembership.query(user.user_id):
        if _chat_languages_set(chat_id=row.chat_id, user=user, reads=reads):
            chat_snapshots.forget(row.chat_id)
            changed += 1
    return changed


def _chat_languages_set(*, chat_id: str, user: User, reads: list[str]) -> bool:
    """One chat's part of `chat_languages_refresh`: False when the user is no longer in it.
    Tried first as if the chat kept read languages (nearly all do); a chat that does not
    is read once to write its first map."""
    chat = Chat(chat_id)
    chat.member_read_languages = {}
    for attempt in range(CONFLICT_RETRY_ATTEMPTS):
        reads_actions, reads_condition = _member_reads_set(
            chat=chat, user_id=user.user_id, reads=reads
        )
        try:
            chat.update(
                actions=[
                    Chat.member_languages[user.user_id].set(user.native_language),
                    Chat.roster_version.add(1),
                    *reads_actions,
                ],
                condition=_conditions_all(Chat.member_ids.contains(user.user_id), reads_condition),
            )
            return True
        except UpdateError as error:
            if update_conflicted(error):
                # A message's transaction holds the item for milliseconds.
                conflict_backoff(attempt=attempt)
                continue
            if getattr(error, "cause_response_code", None) not in (
                "ConditionalCheckFailedException",
                "ValidationException",
            ):
                logger.warning(
                    "chat %s did not take up user %s's languages (%s)",
                    chat_id,
                    user.user_id,
                    type(error).__name__,
                )
                return False
            # Not a member any more, or the map is not as this attempt took it to be.
            read = chat_get(chat_id=chat_id)
            if read is None or user.user_id not in read.member_ids:
                return False
            chat = read
    logger.warning("chat %s stayed busy; user %s's languages not taken up", chat_id, user.user_id)
    return False


# --- Messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageDraft:
    """A message ready to commit: its text in every language it was translated into."""

    chat_id: str
    message_id: str
    from_user_id: str
    original_text: str
    original_language: str
    translations: dict[str, str]
    pending_languages: frozenset[str]
    client_msg_id: str | None
    created_at: datetime
    kind: MessageKind = MessageKind.TEXT
    meta: dict | None = None
    # {"seq", "message_id"} of the message this one replies to (replies.reply_to_stored).
    reply_to: dict | None = None


@dataclass(frozen=True)
class CommittedMessage:
    message: Message
    member_languages: dict[str, str]
    # True only for a resend: the client id was already used by another message.
    duplicate: bool
    # The chat as the message was committed against it (last_seq is the message's), for
    # the next send's copy. None for a duplicate.
    chat: Chat | None = None
    # The other languages each member reads (presenters.member_read_languages), as committed.
    read_languages: dict[str, list[str]] = field(default_factory=dict)


class CommitOutcomeUnknown(Exception):
    """DynamoDB did not answer a message's transaction (it timed out, or the connection
    failed, after botocore's own retries): it may have been applied or not. `message` is
    what the last attempt tried to write, at its sequence number. Raised from the outage,
    so it still counts as one (apps/core/outages.py)."""

    def __init__(
        self,
        *,
        message: Message,
        member_languages: dict[str, str],
        read_languages: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__("the message's transaction was not answered")
        self.message = message
        self.member_languages = member_languages
        self.read_languages = read_languages or {}


def message_commit(*, draft: MessageDraft, chat: Chat) -> CommittedMessage:
    """Write the message as the chat's next sequence number, in one transaction with the
    chat's counter, the client id marker and every member's inbox row.

    `last_seq = seq - 1` as a condition makes sequence numbers gapless and in commit order.
    A concurrent writer makes the transaction fail; then the chat is read again and the
    write retried. A client id that was already used returns the first message instead.

    A transaction can be applied while its reply is lost (DynamoDB stalled past the read
    timeout); botocore's retry of it, or a later attempt, is then refused by our own write.
    A refusal that shows this draft's message id (on the message at the sequence number
    tried, or on the client id marker) is that: the message is returned as new, not as a
    duplicate, and is not written a second time.

    The loop takes its attempts and waits from apps/core/transactions.py, but not its
    `conflict_retry`: a refusal here is not only a conflict to wait out but usually a new
    sequence number to try, from the chat item the refusal returned, with no wait at all.
    """
    for attempt in range(CONFLICT_RETRY_ATTEMPTS):
        if draft.from_user_id not in chat.member_ids:
            # Every caller has already found the author in the chat, so this is an author who
            # left meanwhile (they know the chat exists: no oracle). do_store_message catches it.
            raise Forbidden(AUTHOR_NOT_A_MEMBER)
        member_languages = map_as_dict(chat.member_languages)
        read_languages = member_read_languages(chat)
        seq = int(chat.last_seq) + 1
        message = Message(
            draft.chat_id,
            message_sort_key(seq),
            message_id=draft.message_id,
            seq=seq,
            from_user_id=draft.from_user_id,
            kind=MessageKind(draft.kind).value,
            original_text=draft.original_text,
            original_language=draft.original_language,
            translations=dict(draft.translations),
            pending_languages=set(draft.pending_languages) or None,
            client_msg_id=draft.client_msg_id,
            created_at=draft.created_at,
            meta=dict(draft.meta) if draft.meta else None,
            reply_to=dict(draft.reply_to) if draft.reply_to else None,
        )
        try:
            _message_transaction(
                message=message,
                chat=chat,
                member_languages=member_languages,
                read_languages=read_languages,
            )
        except TransactWriteError as error:
            codes = transaction_cancellation_codes(error)
            if "ConditionalCheckFailed" not in codes and "TransactionConflict" not in codes:
                if outage_caused(error):
                    raise CommitOutcomeUnknown(
                        message=message,
                        member_languages=member_languages,
                        read_languages=read_languages,
                    ) from error
                raise
            refusal = _Refusal.of(error)
            if refusal.message_id_at_seq == draft.message_id:
                return _committed_earlier(
                    message=message,
                    member_languages=member_languages,
                    read_languages=read_languages,
                    chat=refusal.chat or chat,
                )
            if draft.client_msg_id and (refusal.client_id_used or not refusal.explained):
                stored = _message_of_client_id(draft, client_msg_id=draft.client_msg_id)
                if stored is not None and stored.message_id == draft.message_id:
                    return _committed_earlier(
                        message=stored,
                        member_languages=member_languages,
                        read_languages=read_languages,
                        chat=refusal.chat or chat,
                    )
                if stored is not None:
                    chat_now = chat_get(chat_id=draft.chat_id)
                    return CommittedMessage(
                        message=stored,
                        member_languages=map_as_dict(chat_now.member_languages) if chat_now else {},
                        duplicate=True,
                        read_languages=member_read_languages(chat_now) if chat_now else {},
                    )
            refreshed = refusal.chat or chat_get(chat_id=draft.chat_id)
            if refreshed is None:
                raise NotFound(CHAT_NOT_FOUND) from error
            if refusal.message_id_at_seq is None and int(refreshed.last_seq) >= seq:
                # Someone took this sequence number, and the refusal does not say who (a
                # conflict, or a server that returns no items): was it our own write?
                stored = message_get(chat_id=draft.chat_id, seq=seq)
                if stored is not None and stored.message_id == draft.message_id:
                    return _committed_earlier(
                        message=stored,
                        member_languages=member_languages,
                        read_languages=read_languages,
                        chat=refreshed,
                    )
            unchanged = int(refreshed.last_seq) == int(chat.last_seq) and (
                refreshed.roster_version == chat.roster_version
            )
            if unchanged or "TransactionConflict" in codes:
                # Nobody else committed: a transaction in flight collided with ours. Let it end.
                conflict_backoff(attempt=attempt)
            chat = refreshed
            continue
        return CommittedMessage(
            message=message,
            member_languages=member_languages,
            duplicate=False,
            chat=chat_with_last_seq(chat, seq),
            read_languages=read_languages,
        )
    raise Conflict("The chat is busy; try again")


def _committed_earlier(
    *,
    message: Message,
    member_languages: dict[str, str],
    read_languages: dict[str, list[str]],
    chat: Chat,
) -> CommittedMessage:
    """This draft's own message, found stored by a later attempt: new to everyone but the
    lost reply."""
    seq = int(message.seq)
    latest = chat if int(chat.last_seq) >= seq else chat_with_last_seq(chat, seq)
    return CommittedMessage(
        message=message,
        member_languages=member_languages,
        duplicate=False,
        chat=latest,
        read_languages=read_languages,
    )


def _message_transaction(
    *,
    message: Message,
    chat: Chat,
    member_languages: dict[str, str],
    read_languages: ReadLanguages,
) -> None:
    seq = int(message.seq)
    moment = message.created_at
    activity = _activity_key(moment, message.chat_id)
    # A token of its own per attempt: botocore's retries of this attempt send it again, and
    # DynamoDB then answers them with this attempt's outcome instead of refusing the write
    # it already made. (moto ignores the token; the refusal's message id tells it then.)
    with TransactWrite(
        connection=chats_connection(), client_request_token=uuid.uuid4().hex
    ) as transaction:
        transaction.update(
            Chat(message.chat_id),
            actions=[Chat.last_seq.set(seq)],
            condition=(Chat.last_seq == seq - 1)
            & Chat.member_ids.contains(message.from_user_id)
            & _roster_unchanged(chat),
            return_values="ALL_OLD",
        )
        transaction.save(message, condition=Message.sk.does_not_exist(), return_values="ALL_OLD")
        if message.client_msg_id:
            transaction.save(
                ClientMessageId(
                    message.chat_id,
                    client_message_sort_key(message.from_user_id, message.client_msg_id),
                    message_id=message.message_id,
                    seq=seq,
                ),
                condition=ClientMessageId.sk.does_not_exist(),
                return_values="ALL_OLD",
            )
        lacking = languages_lacking(
            message=message, member_languages=member_languages, read_languages=read_languages
        )
        if lacking:
            # The debt is stored with the message, so no restart can lose it.
            transaction.save(
                owed_translation_new(
                    chat_id=message.chat_id, seq=seq, languages=lacking, created_at=moment
                )
            )
        for member_id, language in member_languages.items():
            text, _, _ = message_text_for(
                message=message,
                language=language,
                reader_id=member_id,
                read_languages=read_languages.get(member_id, ()),
            )
            actions: list[Action] = [
                ChatMembership.activity_at.set(activity),
                ChatMembership.updated_at.set(moment),
                ChatMembership.last_message_preview.set(message_preview(text)),
                ChatMembership.last_seq.set(seq),
            ]
            if member_id == message.from_user_id:
                actions += [
                    ChatMembership.last_read_seq.set(seq),
                    ChatMembership.unread_count.set(0),
                ]
            else:
                actions.append(ChatMembership.unread_count.add(1))
            transaction.update(
                ChatMembership(member_id, message.chat_id),
                actions=actions,
                condition=ChatMembership.chat_id.exists(),
            )


@dataclass(frozen=True)
class _Refusal:
    """Why DynamoDB refused a message's transaction, from the items it returned with the
    refusal (ALL_OLD on the chat, the message and the client id marker): each failed
    condition names its item. A server that returns no item leaves `explained` False, and
    the caller looks things up instead."""

    explained: bool
    chat: Chat | None
    client_id_used: bool
    # The id of the message already at the sequence number tried, if the refusal shows
    # one: this draft's own when an earlier send of the same transaction was applied.
    message_id_at_seq: str | None = None

    @classmethod
    def of(cls, error: TransactWriteError) -> _Refusal:
        reasons = [reason for reason in error.cancellation_reasons or [] if reason is not None]
        failed = [reason for reason in reasons if reason.code == "ConditionalCheckFailed"]
        items = [reason.raw_item for reason in failed if reason.raw_item]
        chat_items = [item for item in items if "sk" not in item]
        return cls(
            explained=bool(reasons) and len(items) == len(failed),
            chat=Chat.from_raw_data(chat_items[0]) if chat_items else None,
            client_id_used=any(
                item["sk"].get("S", "").startswith(CLIENT_ID_KEY_PREFIX)
                for item in items
                if "sk" in item
            ),
            message_id_at_seq=next(
                (
                    item.get("message_id", {}).get("S")
                    for item in items
                    if item.get("sk", {}).get("S", "").startswith(MESSAGE_KEY_PREFIX)
                ),
                None,
            ),
        )


def _roster_unchanged(chat: Chat):
    version = chat.roster_version
    if version is None:
        # A chat item written before roster_version existed has none (the attribute is
        # null=True); pynamodb's types do not follow null= and say it is always a number.
        return Chat.roster_version.does_not_exist()  # type: ignore[unreachable]
    return Chat.roster_version == int(version)


def _message_of_client_id(draft: MessageDraft, *, client_msg_id: str) -> Message | None:
    """The message first written with this draft's client id (maybe this draft's own), if
    there is one."""
    marker = client_message_get(
        chat_id=draft.chat_id, sender_id=draft.from_user_id, client_msg_id=client_msg_id
    )
    if marker is None:
        return None
    original = message_get(chat_id=draft.chat_id, seq=int(marker.seq))
    if original is None:
        raise Conflict("client_msg_id was already used")
    return original


def message_translations_add(
    *, chat_id: str, seq: int, translations: dict[str, str], of: Message | None = None
) -> Message | None:
    """Store translations that were owed (or asked for later); each language only once.
    With `of` (the message as translated), only while its text is still that one: not
    deleted, nor edited since (message_changes.py).

    Returns the updated message, or None when every language was already stored.
    """
    message = Message(chat_id, message_sort_key(seq))
    stored = None
    same_text = Message.sk.exists()
    if of is not None:
        same_text = same_text & Message.deleted_at.does_not_exist()
        same_text = same_text & (
            Message.edited_at.does_not_exist()
            if of.edited_at is None
            else Message.edited_at == of.edited_at
        )
    for language, text in translations.items():
        try:
            stored = message.update(
                actions=[
                    Message.translations[language].set(text),
                    Message.pending_languages.delete({language}),
                ],
                condition=same_text & Message.translations[language].does_not_exist(),
            )
        except UpdateError as error:
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
    if stored is None:
        return None
    return message


def membership_previews_refresh(
    *,
    message: Message,
    member_languages: dict[str, str],
    languages: set[str],
    read_languages: ReadLanguages | None = None,
) -> list[str]:
    """Replace the untranslated preview with the translation for readers of `languages`
    (not those who read it as written), where this message is still the latest. Returns the
    member ids updated."""
    translations = map_as_dict(message.translations)
    reads = read_languages or {}
    updated = []
    for member_id, language in member_languages.items():
        if (
            language not in languages
            or language not in translations
            or reads_as_written(
                source=message.original_language, read_languages=reads.get(member_id, ())
            )
        ):
            continue
        try:
            ChatMembership(member_id, message.chat_id).update(
                actions=[
                    ChatMembership.last_message_preview.set(message_preview(translations[language]))
                ],
                condition=ChatMembership.last_seq == int(message.seq),
            )
            updated.append(member_id)
        except UpdateError:
            continue
    return updated


def chat_mark_read(*, user: User, chat_id: str, seq: int) -> ChatMembership:
    """Record that the user has read up to `seq`; the mark only moves forward.

    The unread count is arithmetic, never a read of the messages: every message after a
    member's read mark is someone else's, since sending one moves the sender's mark to it
    in the message's own transaction. So after the mark moves to `seq`, the count is
    `last_seq - seq`, worked out by DynamoDB from the row as it is at the write: a message
    committed meanwhile is counted too."""
    membership = chat_membership_get(user_id=user.user_id, chat_id=chat_id)
    if membership is None:
        raise NotFound(CHAT_NOT_FOUND)
    if seq < 1:
        raise InvalidInput("seq must be a positive message sequence number")
    seq = min(seq, int(membership.last_seq))
    if seq <= int(membership.last_read_seq):
        return membership

    def mark() -> None:
        membership.update(
            actions=[
                ChatMembership.last_read_seq.set(seq),
                ChatMembership.unread_count.set(ChatMembership.last_seq - seq),
            ],
            # Also false once the row is gone (the user left the chat).
            condition=ChatMembership.last_read_seq < seq,
        )

    try:
        # A message's transaction holding the row ends in milliseconds.
        conflict_retry(mark, conflicted=update_conflicted)
        return membership
    except UpdateError as error:
        if update_conflicted(error):
            raise Conflict("The chat is busy; try again") from error
        if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
    refreshed = chat_membership_get(user_id=user.user_id, chat_id=chat_id)
    if refreshed is None:
        raise NotFound(CHAT_NOT_FOUND)
    # A send or another read moved the mark to `seq` or past it meanwhile.
    return refreshed


def chat_muted_set(*, user_id: str, chat_id: str, muted: bool) -> bool:
    """Mute (or unmute) the chat for this member, on every device of theirs: one UpdateItem
    of their own inbox row, on condition that it exists (404 otherwise: not a member). Only
    they write it, so the last choice stands. Unmuting removes the attribute (absent: not
    muted)."""
    if not chat_id_plausible(chat_id):
        raise NotFound(CHAT_NOT_FOUND)
    row = ChatMembership(user_id, chat_id)
    action = ChatMembership.muted.set(True) if muted else ChatMembership.muted.remove()

    def write() -> None:
        # The row exists exactly while the user is a member.
        row.update(actions=[action], condition=ChatMembership.chat_id.exists())

    try:
        # A message's transaction holding the row ends in milliseconds.
        conflict_retry(write, conflicted=update_conflicted)
    except UpdateError as error:
        if update_conflicted(error):
            raise Conflict("The chat is busy; try again") from error
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise NotFound(CHAT_NOT_FOUND) from error
        raise
    return muted

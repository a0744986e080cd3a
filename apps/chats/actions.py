"""The chat use cases, one `do_*` function each: validate, write through services, then send
the events that follow the write. Views, the socket consumer, the owed-translation sweeper,
voice and management commands call these; nothing else in the chat app sends an event to a
caller's readers. The machinery of the translations made later (turns, provider calls,
back-off: late_translations.py) and of the partials of a message being translated
(live_translation.py) is handed the writes and events it needs from here.

| action                      | writes                                | then sends |
|-----------------------------|---------------------------------------|------------|
| `do_send_message`           | the message, its inbox rows (then its search index entries, search_index.py) | `message_started`, partials, `message` (or `message_withdrawn`) |
| `do_resend_message`         | nothing (a stored client id)          | `message` again, at most every few seconds |
| `do_store_message`          | a message nobody typed (voice)        | `message` |
| `do_edit_message`           | the edited text, its translations, previews | `message_edited` to every member (then `message_updated` for what it owes) |
| `do_delete_message`         | the message as a tombstone, previews  | `message_deleted` to every member |
| `do_read_history`           | translations made on demand           | `message_updated` for each |
| `do_translate_messages`     | translations a reader lacks, previews | `message_updated` for each, as it is made |
| `do_make_owed_translations` | what a message owes, the previews     | `message_updated` for each, as it is made (sweepers, the sender's follow-up) |
| `do_create_direct_chat`     | the chat and both inbox rows          | `chat_created` to both, if new |
| `do_create_group_chat`      | the chat and every inbox row          | `chat_created` to every member |
| `do_add_member`             | the chat's roster, the newcomer's row | `member_added` to the others, `chat_created` to the newcomer |
| `do_leave_chat`             | the chat's roster, the leaver's row   | `member_left` to every member before the leave |
| `do_mark_read`              | the reader's inbox row                | `read` to every member |
| `do_send_typing`            | nothing                               | `typing` to the other members |
| `do_glossary_update`        | the chat's glossary (glossary.py)     | `glossary_updated` to every member |
| `do_chat_formality_set`     | the reader's inbox row                | nothing (only the reader sees it) |
| `do_set_chat_muted`         | the member's inbox row (`muted`)      | `chat_muted` to the member's own sockets |
| `do_toggle_reaction`        | the message's reactions (reactions.py) | `reaction_updated` to every member |
| `do_delete_user`            | the account and the person's data     | `session.revoked` to the person's own sockets |
| `do_export_own_data`        | nothing (reads the person's data)     | nothing |
| `do_delete_own_account`     | as `do_delete_user`, once the password is confirmed | as `do_delete_user` |
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from apps.accounts import actions as account_actions
from apps.accounts import events as account_events
from apps.accounts import presence_events
from apps.accounts.models import User
from apps.accounts.presence import presence_forget
from apps.accounts.push_subscriptions import (
    push_settings_changed,
    push_subscription_add,
    push_subscription_remove,
)
from apps.accounts.selectors import user_read_languages
from apps.chats import (
    events,
    glossary,
    late_translations,
    live_translation,
    message_changes,
    personal_data,
    push_notifications,
    reactions,
    reader_choices,
    replies,
    search_index,
    sending,
    services,
    translation_context,
)
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.models import Chat, ChatMembership, Message, MessageKind, OwedTranslation
from apps.chats.presenters import (
    ReadLanguages,
    chat_summary,
    glossary_view,
    languages_lacking,
    languages_to_translate,
    member_read_languages,
    message_view,
    reads_as_written,
    translation_readers,
)
from apps.chats.protocol import ChatSummary, Glossary
from apps.chats.protocol import Message as MessageView
from apps.chats.selectors import (
    NOT_A_MEMBER,
    MessagePage,
    chat_get,
    chat_get_for_member,
    chat_membership_exists,
    chat_membership_get,
    map_as_dict,
    message_history,
    message_of_client_id,
)
from apps.chats.sending import SendOutcome
from apps.core import web_push
from apps.core.background import background_task_start
from apps.core.concurrency import run_blocking
from apps.core.errors import Forbidden, InvalidInput, NotFound
from apps.core.ratelimit import SettingsRateLimit, rate_limit_hit

logger = logging.getLogger(__name__)

# Who a frame about a chat goes to, given its id (a socket passes its own cached lookup).
MemberLookup = Callable[[str], Awaitable[Iterable[str]]]


async def _chat_member_ids(chat_id: str) -> frozenset[str] | None:
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    return frozenset(chat.member_ids) if chat is not None else None


async def chat_member_ids_recent(chat_id: str) -> frozenset[str]:
    """Who a typing or read frame goes to, from this process's recent copy of the chat
    (chat_snapshots.py) when it has one: a socket's lookup (`members=`). Access is checked
    elsewhere, fresh; a socket that sees the roster change forgets the copy."""
    chat = chat_snapshots.get(chat_id)
    if chat is None:
        chat = await run_blocking(chat_get)(chat_id=chat_id)
        if chat is None:
            return frozenset()
        chat_snapshots.put(chat)
    return frozenset(chat.member_ids)


async def _summaries_for_members(chat_id: str, member_ids: Iterable[str]) -> dict[str, ChatSummary]:
    summaries: dict[str, ChatSummary] = {}
    for member_id in member_ids:
        row = await run_blocking(chat_membership_get)(user_id=member_id, chat_id=chat_id)
        if row is not None:
            summaries[member_id] = chat_summary(membership=row)
    return summaries


# --- Messages --------------------------------------------------------------------------------


async def do_send_message(
    *,
    user: User,
    chat_id: str,
    text: str,
    client_msg_id: str | None = None,
    commit_after: asyncio.Future | None = None,
    kind: MessageKind = MessageKind.TEXT,
    reply_to_seq: object = None,
) -> SendOutcome:
    """Send a message: translated into every other member language while readers watch,
    then stored with its translations in one transaction, then broadcast. `commit_after`,
    when given, is the previous send from the same socket into the same chat: the
    translations run at once, but this message is stored only after that one, so a person's
    messages keep the order they were written in. A resent `client_msg_id` is answered with
    the message stored under it (`duplicate`). Past this process's sends in progress
    (SENDS_IN_FLIGHT_MAX), after a short wait, the send is refused `Busy` with nothing
    claimed, counted or stored (sending.send_gate). `reply_to_seq` quotes a message of the
    same chat (replies.py); one that is not there is refused with nothing stored."""
    text = sending.message_text_validate(text)
    client_msg_id = sending.client_msg_id_validate(client_msg_id)
    valid_reply_to_seq = replies.reply_to_seq_validate(reply_to_seq)
    async with sending.send_gate().admitted():
        return await _message_send(
            user=user,
            chat_id=chat_id,
            text=text,
            client_msg_id=client_msg_id,
            commit_after=commit_after,
            kind=kind,
            reply_to_seq=valid_reply_to_seq,
        )


async def _message_send(
    *,
    user: User,
    chat_id: str,
    text: str,
    client_msg_id: str | None,
    commit_after: asyncio.Future | None,
    kind: MessageKind,
    reply_to_seq: int | None,
) -> SendOutcome:
    chat = await sending.chat_of_sender(chat_id=chat_id, user_id=user.user_id)
    if client_msg_id is not None and not await sending.client_msg_id_claim(
        chat_id=chat_id, user_id=user.user_id, client_msg_id=client_msg_id
    ):
        earlier = await do_resend_message(chat_id=chat_id, user=user, client_msg_id=client_msg_id)
        if earlier is not None:
            return earlier
    # The quoted message is read once here (one GetItem), for every reader's frame.
    quoted = (
        await replies.quoted_message_for_send(chat_id=chat_id, reply_to_seq=reply_to_seq)
        if reply_to_seq is not None
        else None
    )
    await sending.message_rate_limit_check(user_id=user.user_id)

    # Spoken turns keep the language speech-to-text was asked for; text is read for its own.
    source = (
        await sending.language_written(text=text, fallback=user.native_language)
        if kind == MessageKind.TEXT
        else user.native_language
    )
    member_languages = map_as_dict(chat.member_languages)
    created_at = datetime.now(UTC)
    message_id = uuid.uuid4().hex
    targets = languages_to_translate(
        text=text,
        member_languages=member_languages,
        sender_id=user.user_id,
        source=source,
        read_languages=member_read_languages(chat),
    )
    # The sender's own tabs learn of it from the ack and the stored message.
    readers = [member for member in member_languages if member != user.user_id]
    announcement = live_translation.Announcement(
        lambda: events.message_started_broadcast(
            chat_id=chat_id,
            message_id=message_id,
            from_user_id=user.user_id,
            original_text=text,
            original_language=source,
            timestamp=created_at.isoformat(),
            member_ids=readers,
        ),
        delay=live_translation.PARTIAL_INTERVAL_SECONDS if targets else None,
    )
    try:
        committed = await _message_translate_and_commit(
            announcement=announcement,
            chat=chat,
            user=user,
            message_id=message_id,
            text=text,
            client_msg_id=client_msg_id,
            created_at=created_at,
            kind=kind,
            commit_after=commit_after,
            source=source,
            targets=targets,
            reply_to=replies.reply_to_stored(quoted) if quoted is not None else None,
        )
    except BaseException as error:
        _withdraw_if_announced(
            announcement, chat_id=chat_id, message_id=message_id, readers=readers
        )
        if isinstance(error, services.CommitOutcomeUnknown):
            sending.follow_up_start(_unanswered_commit_settle(unanswered=error))
        raise
    if committed.chat is not None:
        chat_snapshots.put(committed.chat)
    # Nothing more is read for a new message's quote; a duplicate's stored quote may differ.
    quotes = await replies.page_quotes(
        chat_id=chat_id,
        messages=[committed.message],
        known={int(quoted.seq): quoted} if quoted is not None else replies.NO_QUOTES,
    )
    # A resend too: the first broadcast of what it repeats may never have gone out (sockets
    # that have the message drop it by its seq). The broadcast is not waited for.
    await events.message_broadcast(
        message=committed.message,
        member_languages=committed.member_languages,
        read_languages=committed.read_languages,
        quotes=quotes,
    )
    if committed.duplicate:
        _withdraw_if_announced(
            announcement, chat_id=chat_id, message_id=message_id, readers=readers
        )
    else:
        _message_stored_follow_up(
            message=committed.message,
            member_languages=committed.member_languages,
            read_languages=committed.read_languages,
        )
        owed = languages_lacking(
            message=committed.message,
            member_languages=committed.member_languages,
            read_languages=committed.read_languages,
        )
        if owed:
            sending.follow_up_start(
                _owed_translations_follow(message=committed.message, languages=owed)
            )
    return SendOutcome(
        chat_id=chat_id,
        message=message_view(
            message=committed.message,
            language=user.native_language,
            reader_id=user.user_id,
            quotes=quotes,
        ),
        duplicate=committed.duplicate,
    )


async def _message_translate_and_commit(
    *,
    announcement: live_translation.Announcement,
    chat: Chat,
    user: User,
    message_id: str,
    text: str,
    client_msg_id: str | None,
    created_at: datetime,
    kind: MessageKind,
    commit_after: asyncio.Future | None,
    source: str,
    targets: set[str],
    reply_to: dict | None = None,
) -> services.CommittedMessage:
    chat_id = chat.chat_id

    async def partial_send(language: str, readers: list[str], partial: str) -> None:
        await events.translation_partial_broadcast(
            chat_id=chat_id,
            message_id=message_id,
            language=language,
            text=partial,
            member_ids=readers,
        )

    # Read only when something is to be translated: a message nobody needs translated costs
    # no context.
    context = (
        await translation_context.message_context_for_send(chat=chat, text=text)
        if targets
        else translation_context.NO_MESSAGE_CONTEXT
    )
    try:
        translations = await live_translation.translations_stream(
            text=text,
            source=source,
            context=context,
            # Readers who read it as written get no partial translations.
            member_languages=translation_readers(
                text=text,
                member_languages=map_as_dict(chat.member_languages),
                sender_id=user.user_id,
                source=source,
                read_languages=member_read_languages(chat),
            ),
            announcement=announcement,
            partial_send=partial_send,
        )
    finally:
        await announcement.settle()
    translations = sending.translations_fitting(translations)
    draft = services.MessageDraft(
        chat_id=chat_id,
        message_id=message_id,
        from_user_id=user.user_id,
        original_text=text,
        original_language=source,
        translations={lang: value for lang, value in translations.items() if value is not None},
        pending_languages=frozenset(lang for lang, value in translations.items() if value is None),
        client_msg_id=client_msg_id,
        created_at=created_at,
        kind=kind,
        reply_to=reply_to,
    )
    return await sending.message_commit_in_turn(draft=draft, chat=chat, commit_after=commit_after)


def _withdraw_if_announced(
    announcement: live_translation.Announcement,
    *,
    chat_id: str,
    message_id: str,
    readers: list[str],
) -> None:
    """Readers who were shown a message being translated learn that it will not come (the
    send failed, or it was a resend of a message they already have)."""
    if announcement.sent:
        sending.follow_up_start(
            events.message_withdrawn_broadcast(
                chat_id=chat_id, message_id=message_id, member_ids=readers
            )
        )


async def _unanswered_commit_settle(*, unanswered: services.CommitOutcomeUnknown) -> None:
    """Deliver the message of a commit that was not answered, if it was stored after all."""
    stored = await sending.unanswered_commit_find(unanswered=unanswered)
    if stored is None:
        return
    logger.info("an unanswered commit in chat %s was stored: delivering it", stored.chat_id)
    await events.message_broadcast(
        message=stored,
        member_languages=unanswered.member_languages,
        read_languages=unanswered.read_languages,
        quotes=await replies.page_quotes(chat_id=stored.chat_id, messages=[stored]),
    )
    _message_stored_follow_up(
        message=stored,
        member_languages=unanswered.member_languages,
        read_languages=unanswered.read_languages,
    )
    owed = languages_lacking(
        message=stored,
        member_languages=unanswered.member_languages,
        read_languages=unanswered.read_languages,
    )
    if owed:
        await _owed_translations_follow(message=stored, languages=owed)


async def do_resend_message(*, chat_id: str, user: User, client_msg_id: str) -> SendOutcome | None:
    """A resend of a message already stored under this client id: acknowledged again with
    the stored message, which is broadcast again (the first broadcast may have been lost,
    or the sender never heard that it was stored; sockets that have it drop it by its seq).
    None when nothing is stored under it."""
    original = await run_blocking(message_of_client_id)(
        chat_id=chat_id, sender_id=user.user_id, client_msg_id=client_msg_id
    )
    if original is None:
        return None
    quotes = await replies.page_quotes(chat_id=chat_id, messages=[original])
    if await sending.resent_broadcast_claim(message_id=original.message_id):
        chat = await sending.chat_of_resend(chat_id=chat_id)
        if chat is not None:
            await events.message_broadcast(
                message=original,
                member_languages=map_as_dict(chat.member_languages),
                read_languages=member_read_languages(chat),
                quotes=quotes,
            )
    return SendOutcome(
        chat_id=chat_id,
        message=message_view(
            message=original,
            language=user.native_language,
            reader_id=user.user_id,
            quotes=quotes,
        ),
        duplicate=True,
    )


async def do_store_message(*, draft: services.MessageDraft) -> Message | None:
    """Store a message nobody typed here (a call's outcome, a spoken turn: apps.voice) as the
    chat's next one, then broadcast it to the members. None when the chat is gone or the
    author is no longer a member."""
    chat = await run_blocking(chat_get)(chat_id=draft.chat_id)
    if chat is None:
        return None
    try:
        committed = await run_blocking(services.message_commit)(draft=draft, chat=chat)
    except Forbidden:
        logger.info(
            "a %s message in chat %s was not stored: its author left", draft.kind, draft.chat_id
        )
        return None
    if not committed.duplicate:
        await events.message_broadcast(
            message=committed.message,
            member_languages=committed.member_languages,
            read_languages=committed.read_languages,
        )
        _message_stored_follow_up(
            message=committed.message,
            member_languages=committed.member_languages,
            read_languages=committed.read_languages,
        )
    return committed.message


def _message_stored_follow_up(
    *, message: Message, member_languages: dict[str, str], read_languages: ReadLanguages
) -> None:
    """What follows each newly stored message off its path: a Web Push offer to members who
    are away, and its search index entries (both in the background)."""
    push_notifications.message_push_offer(
        message=message, member_languages=member_languages, read_languages=read_languages
    )
    search_index.search_index_later(
        message=message, member_languages=member_languages, read_languages=read_languages
    )


# --- Edit and delete for everyone (message_changes.py) --------------------------------------

_MESSAGE_CHANGES_PER_USER = SettingsRateLimit(
    "message-change",
    "MESSAGE_CHANGE_RATE_LIMIT",
    "too many edits and deletes: at most {count} every {window_seconds} seconds",
)


async def _nothing() -> None:
    return None


async def _no_partial(language: str, readers: list[str], partial: str) -> None:
    return None


async def do_edit_message(
    *, user: User, chat_id: str, seq: int, text: str, message_id: str | None = None
) -> MessageView:
    """Edit the user's own text message within MESSAGE_EDIT_WINDOW_SECONDS (404 for a chat
    they are not in or no such message, 403 someone else's, 409 deleted or too late, 422 bad
    text or not a text message): re-translated like a send (same bounds; a language that
    fails is owed and follows as `message_updated`), stored once with `edited_at`, the inbox
    previews rewritten where it is the latest, and `message_edited` sent to every member in
    their language. No partials stream for an edit: readers keep the old text until then.
    The editor's view of the edited message."""
    text = sending.message_text_validate(text)
    await rate_limit_hit(limit=_MESSAGE_CHANGES_PER_USER, subject=user.user_id)
    target = await run_blocking(message_changes.message_edit_check)(
        chat_id=chat_id,
        seq=seq,
        user_id=user.user_id,
        message_id=message_id,
        now=datetime.now(UTC),
    )
    chat = target.chat
    member_languages = map_as_dict(chat.member_languages)
    read_languages = member_read_languages(chat)
    async with sending.send_gate().admitted():
        source = await sending.language_written(text=text, fallback=user.native_language)
        readers = translation_readers(
            text=text,
            member_languages=member_languages,
            sender_id=user.user_id,
            source=source,
            read_languages=read_languages,
        )
        context = (
            await translation_context.message_context_for_send(chat=chat, text=text)
            if readers
            else translation_context.NO_MESSAGE_CONTEXT
        )
        announcement = live_translation.Announcement(_nothing, delay=None)
        try:
            made = await live_translation.translations_stream(
                text=text,
                source=source,
                context=context,
                member_languages=readers,
                announcement=announcement,
                partial_send=_no_partial,
            )
        finally:
            await announcement.settle()
        made = sending.translations_fitting(made)
        edited = await run_blocking(message_changes.message_edit_write)(
            target=target,
            user_id=user.user_id,
            text=text,
            source=source,
            translations={lang: value for lang, value in made.items() if value is not None},
            pending={lang for lang, value in made.items() if value is None},
            edited_at=datetime.now(UTC),
            member_languages=member_languages,
            read_languages=read_languages,
        )
    translation_context.recent_turns.forget(chat_id)
    await run_blocking(message_changes.change_previews_refresh)(
        message=edited,
        chat=chat,
        member_languages=member_languages,
        read_languages=read_languages,
    )
    await events.message_edited_broadcast(
        message=edited, member_languages=member_languages, read_languages=read_languages
    )
    # Its new words become searchable, and the words the edit took away are forgotten.
    search_index.search_index_later(
        message=edited, member_languages=member_languages, read_languages=read_languages
    )
    search_index.search_entries_forget_later(
        message=target.message,
        member_languages=member_languages,
        read_languages=read_languages,
        kept=edited,
    )
    owed = languages_lacking(
        message=edited, member_languages=member_languages, read_languages=read_languages
    )
    if owed:
        sending.follow_up_start(_owed_translations_follow(message=edited, languages=owed))
    return message_view(
        message=edited,
        language=user.native_language,
        reader_id=user.user_id,
        read_languages=user_read_languages(user=user),
    )


async def do_delete_message(
    *, user: User, chat_id: str, seq: int, message_id: str | None = None
) -> Message:
    """Delete a message for everyone: its sender, or a group's creator (404 for a chat they
    are not in or no such message, 403 someone else's, 409 deleted already). Any kind. The
    message becomes a tombstone, what it owed is dropped, the previews say so where it was
    the latest, and every member gets `message_deleted`. The tombstone."""
    await rate_limit_hit(limit=_MESSAGE_CHANGES_PER_USER, subject=user.user_id)
    target = await run_blocking(message_changes.message_delete_check)(
        chat_id=chat_id, seq=seq, user_id=user.user_id, message_id=message_id
    )
    tombstone = await run_blocking(message_changes.message_delete_write)(
        target=target, user_id=user.user_id, deleted_at=datetime.now(UTC)
    )
    translation_context.recent_turns.forget(chat_id)
    await run_blocking(message_changes.change_previews_refresh)(
        message=tombstone,
        chat=target.chat,
        member_languages=map_as_dict(target.chat.member_languages),
        read_languages=member_read_languages(target.chat),
    )
    await events.message_deleted_broadcast(
        chat_id=chat_id,
        message_id=tombstone.message_id,
        seq=int(tombstone.seq),
        member_ids=target.chat.member_ids,
    )
    search_index.search_entries_forget_later(
        message=target.message,
        member_languages=map_as_dict(target.chat.member_languages),
        read_languages=member_read_languages(target.chat),
    )
    return tombstone


async def do_read_history(
    *, user: User, chat_id: str, limit: int, before_seq: int | None
) -> MessagePage:
    """A page of the chat's history for a member (403/404 otherwise), newest first, in the
    reader's language: messages written before the reader had it are translated now, once
    (stored, and the chat's readers told: `do_translate_messages`)."""
    await run_blocking(chat_get_for_member)(chat_id=chat_id, user_id=user.user_id)
    page = await run_blocking(message_history)(chat_id=chat_id, limit=limit, before_seq=before_seq)
    reads = user_read_languages(user=user)
    # Those the reader reads as written need no translation (presenters.message_text_for).
    await do_translate_messages(
        messages=[
            message
            for message in page.messages
            if not reads_as_written(source=message.original_language, read_languages=reads)
        ],
        language=user.native_language,
        reader_id=user.user_id,
    )
    return MessagePage(messages=page.messages, next_cursor=page.next_cursor)


# --- Translations made later -----------------------------------------------------------------


async def do_translate_messages(
    *, messages: list[Message], language: str, reader_id: str | None = None
) -> list[Message]:
    """The messages, each with its translation into `language` if it can be had now: the
    ones written before a reader had that language (or whose translation failed at send) are
    translated on their turn (late_translations.messages_in_language), each stored, its
    readers' inbox previews refreshed and `message_updated` sent to them as it is made. For a
    history page or a voice note read aloud; the caller checks the reader may see them."""
    return await late_translations.messages_in_language(
        messages=messages, language=language, delivery=_TRANSLATIONS_DELIVERY, reader_id=reader_id
    )


async def do_make_owed_translations(*, record: OwedTranslation) -> float | None:
    """One attempt at what a message owes, for whoever claimed its record (a sweeper, or the
    sending instance's follow-up): each translation it still lacks is asked for on its turn,
    then stored and announced like `do_translate_messages`'s; ones stored since (by a reader,
    or an attempt cut short) are announced again. When the record is due again (seconds since
    the epoch), or None (late_translations.owed_translation_attempt)."""
    return await late_translations.owed_translation_attempt(
        record=record, delivery=_TRANSLATIONS_DELIVERY
    )


async def _owed_translations_follow(*, message: Message, languages: set[str]) -> None:
    """The sending instance's own first attempts at what its message owes, on the back-off
    schedule (late_translations.owed_translations_follow)."""
    await late_translations.owed_translations_follow(
        message=message, languages=languages, attempt=do_make_owed_translations
    )


async def _translations_store_and_announce(
    *, message: Message, translations: dict[str, str]
) -> None:
    """Store translations just made, then tell their readers; nobody is told again when
    another reader or instance stored them first."""
    updated = await run_blocking(services.message_translations_add)(
        chat_id=message.chat_id, seq=int(message.seq), translations=translations, of=message
    )
    if updated is None:
        return
    await _translations_announce(message=updated, languages=set(translations))


async def _translations_announce(*, message: Message, languages: set[str]) -> None:
    """The inbox previews and `message_updated` for readers of `languages`."""
    chat = await run_blocking(chat_get)(chat_id=message.chat_id)
    if chat is None:
        return
    member_languages = map_as_dict(chat.member_languages)
    read_languages = member_read_languages(chat)
    await run_blocking(services.membership_previews_refresh)(
        message=message,
        member_languages=member_languages,
        languages=languages,
        read_languages=read_languages,
    )
    await events.message_updated_broadcast(
        message=message,
        member_languages=member_languages,
        languages=languages,
        read_languages=read_languages,
    )
    search_index.search_index_later(
        message=message,
        member_languages=member_languages,
        read_languages=read_languages,
        languages=languages,
    )


_TRANSLATIONS_DELIVERY = late_translations.TranslationsDelivery(
    store_and_announce=_translations_store_and_announce, announce=_translations_announce
)


# --- Chats and members -----------------------------------------------------------------------


async def _chat_created_announce(created: services.ChatCreated) -> None:
    if created.created:
        await events.chat_created_broadcast(
            chat_summaries=await _summaries_for_members(
                created.membership.chat_id, created.member_ids
            )
        )


async def do_create_direct_chat(*, user: User, other_username: str) -> services.ChatCreated:
    """The 1:1 chat with `other_username`, new or existing; both hear of a new one."""
    created = await run_blocking(services.chat_direct_create)(
        user=user, other_username=other_username
    )
    await _chat_created_announce(created)
    return created


async def do_create_group_chat(
    *, user: User, title: str, usernames: list[str]
) -> services.ChatCreated:
    """A group of the user and `usernames`; every member hears of it."""
    created = await run_blocking(services.chat_group_create)(
        user=user, title=title, usernames=usernames
    )
    await _chat_created_announce(created)
    return created


async def do_add_member(*, user: User, chat_id: str, username: str) -> User:
    """Add `username` to a group the user is in; returns the newcomer."""
    chat, newcomer = await run_blocking(services.chat_member_add)(
        user=user, chat_id=chat_id, username=username
    )
    await events.member_added_broadcast(
        chat_id=chat_id,
        user_id=newcomer.user_id,
        username=newcomer.username,
        member_ids=chat.member_ids,
    )
    await events.chat_created_broadcast(
        chat_summaries=await _summaries_for_members(chat_id, [newcomer.user_id])
    )
    return newcomer


async def do_leave_chat(*, user: User, chat_id: str) -> None:
    """Leave a group; the members, the leaver's own sockets too, hear of it."""
    chat = await run_blocking(services.chat_leave)(user=user, chat_id=chat_id)
    await events.member_left_broadcast(
        chat_id=chat_id, user_id=user.user_id, member_ids=chat.member_ids
    )


# --- Read marks and typing -------------------------------------------------------------------


async def do_mark_read(
    *, user: User, chat_id: str, seq: int, members: MemberLookup | None = None
) -> ChatMembership:
    """Move the user's read mark up to `seq` (404 for a chat they are not in) and tell every
    member where it is now. `members` finds who to tell; by default the chat is read."""
    membership = await run_blocking(services.chat_mark_read)(user=user, chat_id=chat_id, seq=seq)
    if members is not None:
        member_ids = await members(chat_id)
    else:
        member_ids = await _chat_member_ids(chat_id) or [user.user_id]
    await events.read_broadcast(
        chat_id=chat_id,
        user_id=user.user_id,
        seq=int(membership.last_read_seq),
        member_ids=member_ids,
    )
    return membership


async def do_send_typing(*, user: User, chat_id: str, members: MemberLookup | None = None) -> None:
    """Tell the other members the user is typing: 403 for a chat they are not in, checked
    against their inbox row (never a cached roster). `members` finds who to tell; by default
    the chat is read."""
    if not await run_blocking(chat_membership_exists)(user_id=user.user_id, chat_id=chat_id):
        raise Forbidden(NOT_A_MEMBER)
    if members is not None:
        member_ids = await members(chat_id)
    else:
        member_ids = await _chat_member_ids(chat_id) or frozenset()
    await events.typing_broadcast(chat_id=chat_id, user_id=user.user_id, member_ids=member_ids)


# --- Glossary and reader choices ---------------------------------------------------------


async def do_glossary_update(
    *, user: User, chat_id: str, version: object, entries: object
) -> Glossary:
    """Replace the chat's glossary with `entries`, an edit of `version` (422 for bad input,
    with nothing written; 404 for a chat the user is not in; 409 when someone else's edit
    came first), then send every member the glossary now stored."""
    cleaned = glossary.glossary_entries_validate(entries)
    base_version = glossary.glossary_version_validate(version)
    stored, member_ids = await run_blocking(glossary.glossary_replace)(
        chat_id=chat_id, user_id=user.user_id, version=base_version, entries=cleaned
    )
    view = glossary_view(glossary=stored)
    translation_context.chat_profile_forget(chat_id=chat_id)
    await events.glossary_updated_broadcast(
        chat_id=chat_id, user_id=user.user_id, glossary=view, member_ids=member_ids
    )
    return view


async def do_chat_formality_set(*, user: User, chat_id: str, formality: object) -> str | None:
    """Set how translations into the user's language address people in this chat (422 for
    anything but "formal", "informal" or null; 404 for a chat the user is not in)."""
    choice = reader_choices.formality_validate(formality)
    stored = await run_blocking(reader_choices.chat_formality_set)(
        user_id=user.user_id, chat_id=chat_id, formality=choice
    )
    translation_context.chat_profile_forget(chat_id=chat_id)
    return stored


_MUTES_PER_USER = SettingsRateLimit("chat-mute", "CHAT_MUTE_RATE_LIMIT", "too many mute changes")


async def do_set_chat_muted(*, user: User, chat_id: str, muted: object) -> bool:
    """Mute or unmute a chat for the user on all their devices (422 for anything but true or
    false, nothing written; 404 for a chat they are not in; 429 past the limit): their inbox
    row's `muted`, then `chat_muted` to their own sockets so their other devices follow. A
    muted chat's messages are not pushed to them (push_notifications.py); its calls are."""
    if not isinstance(muted, bool):
        raise InvalidInput("muted must be true or false")
    await rate_limit_hit(limit=_MUTES_PER_USER, subject=user.user_id)
    stored = await run_blocking(services.chat_muted_set)(
        user_id=user.user_id, chat_id=chat_id, muted=muted
    )
    await push_settings_changed(user_id=user.user_id)
    try:
        await events.chat_muted_broadcast(chat_id=chat_id, user_id=user.user_id, muted=stored)
    except Exception as error:
        # The mute is stored either way; the other devices read it with the inbox when they
        # next load or reconnect.
        logger.warning(
            "telling user %s's sockets about a mute failed (%s)",
            user.user_id,
            type(error).__name__,
        )
    return stored


# --- Reactions -------------------------------------------------------------------------------

_REACTIONS_PER_USER = SettingsRateLimit("reaction", "REACTION_RATE_LIMIT", "too many reactions")


async def do_toggle_reaction(
    *, user: User, chat_id: str, seq: object, emoji: object
) -> reactions.ReactionToggled:
    """Toggle the user's `emoji` on message `seq`: the same emoji again takes it away, another
    replaces theirs (422 for anything but one emoji or a sequence number, nothing written; 404
    for a chat the user is not in or a message it lacks; 409 for a deleted message or an emoji
    past the bound), then send every member the message's reactions now."""
    cleaned = reactions.reaction_emoji_validate(emoji)
    message_seq = reactions.reaction_seq_validate(seq)
    await rate_limit_hit(limit=_REACTIONS_PER_USER, subject=user.user_id)
    toggled = await run_blocking(reactions.reaction_toggle)(
        chat_id=chat_id, seq=message_seq, user_id=user.user_id, emoji=cleaned
    )
    await events.reaction_updated_broadcast(
        chat_id=chat_id,
        seq=message_seq,
        message_id=toggled.message.message_id,
        user_id=user.user_id,
        reactions=reactions.message_reactions_view(toggled.message),
        reactions_version=int(toggled.message.reactions_version),
        member_ids=toggled.member_ids,
    )
    return toggled


# --- Accounts --------------------------------------------------------------------------------


async def do_delete_user(*, user: User) -> personal_data.UserDeleted:
    """Delete an account and the person's data (personal_data.user_delete), then close the
    person's open sockets on every instance (whose close forgets their presence too), end
    every watch of them (`presence.gone`) and forget their presence (last seen, watchers).
    Other members get no chat event: they find the changes when they next read."""
    deleted = await run_blocking(personal_data.user_delete)(user=user)
    await push_settings_changed(user_id=deleted.user_id)
    try:
        await account_events.session_revoked_broadcast(
            user_id=deleted.user_id, token_version=deleted.token_version, account_deleted=True
        )
    except Exception:
        # The account is gone either way; a socket that missed this closes at its next
        # periodic check of the account.
        logger.exception("telling the sockets of deleted user %s to close failed", deleted.user_id)
    try:
        # Watchers first: a watch renewed later would record them last seen again.
        await presence_events.presence_gone_broadcast(user_id=deleted.user_id)
        await presence_forget(user_id=deleted.user_id)
    except Exception:
        # Both keys run out by themselves (their TTLs, 30 days at most).
        logger.exception("forgetting the presence of deleted user %s failed", deleted.user_id)
    return deleted


_DATA_EXPORTS_PER_USER = SettingsRateLimit(
    "data-export", "DATA_EXPORT_RATE_LIMIT", "too many data exports"
)


async def do_export_own_data(*, user: User) -> dict:
    """A signed-in person's own data, as `export_user_data` gives it to an operator (the same
    function); a few per hour (429 beyond), as each reads every message they wrote."""
    await rate_limit_hit(limit=_DATA_EXPORTS_PER_USER, subject=user.user_id)
    return await run_blocking(personal_data.user_data_export)(user=user)


async def do_delete_own_account(
    *, user: User, password: str, client_address: str
) -> personal_data.UserDeleted:
    """A signed-in person deletes their account: the password typed again (403 when wrong,
    counted like a login), then exactly what `delete_user` does (`do_delete_user`).

    Done before the reply rather than left to a job: it is one request per chat and per
    message the person wrote, and the account is disabled by its first write, so every token
    and socket stops working at once whatever follows. It runs as a task of its own that the
    request awaits, so a client that hangs up mid-way cannot cut it short.
    """
    await account_actions.do_password_confirm(
        user=user, password=password, client_address=client_address
    )
    task = background_task_start(do_delete_user(user=user), name=f"delete-user-{user.user_id}")
    return await asyncio.shield(task)


_PUSH_SUBSCRIBES_PER_USER = SettingsRateLimit(
    "push-subscribe",
    "WEB_PUSH_SUBSCRIBE_RATE_LIMIT",
    "too many push subscription changes",
)


def _push_subscription_fields(subscription: object) -> tuple[str, str, str]:
    """The endpoint and keys of a browser's `PushSubscription.toJSON()`, checked."""
    if not isinstance(subscription, dict):
        raise InvalidInput("a push subscription is an object with endpoint and keys")
    endpoint = subscription.get("endpoint")
    keys = subscription.get("keys")
    if not isinstance(endpoint, str) or not web_push.endpoint_allowed(endpoint):
        raise InvalidInput("endpoint is not a push service this server sends to")
    if not isinstance(keys, dict):
        raise InvalidInput("keys are required: p256dh and auth")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not (
        isinstance(p256dh, str)
        and isinstance(auth, str)
        and web_push.subscription_keys_valid(p256dh=p256dh, auth=auth)
    ):
        raise InvalidInput("keys.p256dh must be a P-256 public key and keys.auth 16 bytes")
    return endpoint, p256dh, auth


async def do_push_subscribe(*, user: User, subscription: object) -> None:
    """Store a browser's push subscription: the user is sent new messages while away."""
    if not web_push.web_push_enabled():
        raise NotFound("Web Push is not enabled on this server")
    endpoint, p256dh, auth = _push_subscription_fields(subscription)
    await rate_limit_hit(limit=_PUSH_SUBSCRIBES_PER_USER, subject=user.user_id)
    await run_blocking(push_subscription_add)(
        user_id=user.user_id, endpoint=endpoint, p256dh=p256dh, auth=auth
    )
    await push_settings_changed(user_id=user.user_id)


async def do_push_unsubscribe(*, user: User, endpoint: object) -> None:
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 1024:
        raise InvalidInput("endpoint is required")
    await rate_limit_hit(limit=_PUSH_SUBSCRIBES_PER_USER, subject=user.user_id)
    await run_blocking(push_subscription_remove)(user_id=user.user_id, endpoint=endpoint)
    await push_settings_changed(user_id=user.user_id)

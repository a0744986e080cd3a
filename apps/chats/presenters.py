"""How chats and messages look to one reader: the shapes of apps/chats/protocol.py, built
from items already read (nothing here reads or writes)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import cast

from apps.accounts.models import User
from apps.chats import protocol
from apps.chats.models import CHAT_KIND_GROUP, Chat, ChatMembership, Message, message_deleted
from apps.chats.reactions import message_reactions_view
from apps.chats.replies import Quotes, reply_to_of
from apps.chats.selectors import Glossary, map_as_dict
from apps.chats.translation_need import translation_needed

PREVIEW_MAX_CHARS = 100
# A reply's quote shows at most this much of the quoted message.
QUOTE_MAX_CHARS = 160


def chat_summary(*, membership: ChatMembership) -> protocol.ChatSummary:
    """A chat as the contract shows it to this member, plus additions."""
    is_group = membership.kind == CHAT_KIND_GROUP
    return {
        "chat_id": membership.chat_id,
        # Old clients show other_username as the chat's name; a group shows its title there.
        "other_username": membership.title if is_group else membership.other_username,
        "other_user_id": None if is_group else membership.other_user_id,
        "last_message_preview": membership.last_message_preview,
        "updated_at": membership.updated_at.isoformat(),
        # Stored as one of ChatKind's values (services write only those).
        "kind": cast(protocol.ChatKind, membership.kind),
        "title": membership.title,
        "unread_count": int(membership.unread_count),
        "last_seq": int(membership.last_seq),
        "last_read_seq": int(membership.last_read_seq),
        "muted": bool(membership.muted),
    }


def chat_members_view(
    *, members: list[tuple[User, ChatMembership | None]]
) -> list[protocol.Member]:
    """Who is in the chat, with each member's read mark (0 for a member with no inbox row)."""
    return [
        {
            "user_id": user.user_id,
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "native_language": user.native_language,
            "last_read_seq": int(row.last_read_seq) if row is not None else 0,
        }
        for user, row in members
    ]


def message_preview(text: str) -> str:
    return text if len(text) <= PREVIEW_MAX_CHARS else text[: PREVIEW_MAX_CHARS - 1] + "…"


def message_translation_needed(message: Message) -> bool:
    """False for a message that reads the same in every language (only emoji, links, numbers,
    mentions or code: translation_need.py): delivered as written, nothing owed."""
    return translation_needed(text=message.original_text)


# member id -> the other languages that member reads (Chat.member_read_languages).
ReadLanguages = Mapping[str, Collection[str]]


def member_read_languages(chat: Chat) -> dict[str, list[str]]:
    """The chat's members' other read languages; a chat item from before they were kept has
    none (nobody reads anything but their own language)."""
    return {
        member_id: [str(code) for code in codes]
        for member_id, codes in map_as_dict(chat.member_read_languages).items()
    }


def reads_as_written(*, source: str, read_languages: Collection[str]) -> bool:
    """A reader who also reads `source` gets what was written in it, untranslated."""
    return source in read_languages


def languages_to_translate(
    *,
    text: str,
    member_languages: dict[str, str],
    sender_id: str,
    source: str,
    read_languages: ReadLanguages | None = None,
) -> set[str]:
    """The languages a message from `sender_id` written in `source` is translated into: its
    readers' (its sender reads the original, and so does a reader who also reads `source`)
    other than `source`; none when it reads the same in every language
    (translation_need.py)."""
    return set(
        translation_readers(
            text=text,
            member_languages=member_languages,
            sender_id=sender_id,
            source=source,
            read_languages=read_languages,
        ).values()
    )


def translation_readers(
    *,
    text: str,
    member_languages: dict[str, str],
    sender_id: str,
    source: str,
    read_languages: ReadLanguages | None = None,
) -> dict[str, str]:
    """member id -> language, for the members who read the message translated (and so are
    sent its partial translations): `message_text_for` shows everyone else the original."""
    if not translation_needed(text=text):
        return {}
    reads = read_languages or {}
    return {
        member_id: language
        for member_id, language in member_languages.items()
        if member_id != sender_id
        and language != source
        and not reads_as_written(source=source, read_languages=reads.get(member_id, ()))
    }


def languages_lacking(
    *,
    message: Message,
    member_languages: dict[str, str],
    read_languages: ReadLanguages | None = None,
) -> set[str]:
    """The languages of the message's readers it owes a translation into: those whose readers
    `message_text_for` would show it untranslated."""
    wanted = languages_to_translate(
        text=message.original_text,
        member_languages=member_languages,
        sender_id=message.from_user_id,
        source=message.original_language,
        read_languages=read_languages,
    )
    return wanted - map_as_dict(message.translations).keys()


def message_text_for(
    *,
    message: Message,
    language: str,
    reader_id: str | None = None,
    read_languages: Collection[str] = (),
) -> tuple[str, str, bool]:
    """(text, its language, translated?) of a message for a reader of `language` who also
    reads `read_languages`. Its sender (`reader_id`) reads what they wrote, whatever language
    it was detected in; a reader who also reads that language reads it as written."""
    if (
        language == message.original_language
        or reader_id == message.from_user_id
        or reads_as_written(source=message.original_language, read_languages=read_languages)
        or not message_translation_needed(message)
    ):
        return message.original_text, message.original_language, True
    translated = map_as_dict(message.translations).get(language)
    if translated is not None:
        return translated, language, True
    return message.original_text, message.original_language, False


def message_view(
    *,
    message: Message,
    language: str,
    reader_id: str | None = None,
    read_languages: Collection[str] = (),
    quotes: Quotes | None = None,
) -> protocol.Message:
    """A message as the contract shows it to a reader of `language` who also reads
    `read_languages` (`reader_id`, when known: its sender reads the original), plus
    additions. A reply carries its quote (`reply_to`) when `quotes` were resolved for it
    (replies.py); without them (`message_updated`) it carries none."""
    text, text_language, translated = message_text_for(
        message=message, language=language, reader_id=reader_id, read_languages=read_languages
    )
    view: protocol.Message = {
        "message_id": message.message_id,
        "text": text,
        "from_user_id": message.from_user_id,
        "language": text_language,
        "timestamp": message.created_at.isoformat(),
        "seq": int(message.seq),
        # Stored as one of MessageKind's values (services write only those).
        "kind": cast(protocol.MessageKind, message.kind),
        "original_text": message.original_text,
        "original_language": message.original_language,
        "translated": translated,
        "client_msg_id": message.client_msg_id,
    }
    if not message_translation_needed(message):
        view["translation_skipped"] = "nothing_to_translate"
    elif (
        language != message.original_language
        and reader_id != message.from_user_id
        and reads_as_written(source=message.original_language, read_languages=read_languages)
    ):
        view["translation_skipped"] = "reader_reads_language"
    meta = map_as_dict(getattr(message, "meta", None))
    if meta:
        # Written by the call and turn services with MessageMeta's keys only.
        view["meta"] = cast(protocol.MessageMeta, meta)
    reactions = message_reactions_view(message)
    if reactions:
        view["reactions"] = reactions
    if getattr(message, "reactions_version", None):
        view["reactions_version"] = int(message.reactions_version)
    reply_to = reply_to_of(message)
    if reply_to is not None and quotes is not None:
        view["reply_to"] = quoted_view(
            quoted=quotes.get(reply_to[0]),
            seq=reply_to[0],
            message_id=reply_to[1],
            language=language,
            reader_id=reader_id,
            read_languages=read_languages,
        )
    edited_at = getattr(message, "edited_at", None)
    if edited_at is not None:
        view["edited_at"] = edited_at.isoformat()
    if message_deleted(message):
        # A tombstone (message_changes.py): its text is gone, nothing was skipped.
        view["deleted"] = True
        view.pop("translation_skipped", None)
        # Nothing of what it said or quoted, nor what people made of it, is shown any more.
        view.pop("reactions", None)
        view.pop("reply_to", None)
    return view


def quoted_view(
    *,
    quoted: Message | None,
    seq: int,
    message_id: str,
    language: str,
    reader_id: str | None = None,
    read_languages: Collection[str] = (),
) -> protocol.ReplyQuote:
    """The message a reply quotes, as this reader reads it (their stored translation, or the
    original when they read it as written: `message_text_for`), cut to QUOTE_MAX_CHARS. A
    quoted message that was deleted (or is gone) shows as deleted, without its text."""
    if quoted is None or message_deleted(quoted):
        return {
            "seq": seq,
            "message_id": message_id,
            "from_user_id": quoted.from_user_id if quoted is not None else "",
            "text": "",
            "language": "",
            "deleted": True,
        }
    text, text_language, _ = message_text_for(
        message=quoted, language=language, reader_id=reader_id, read_languages=read_languages
    )
    if len(text) > QUOTE_MAX_CHARS:
        text = text[: QUOTE_MAX_CHARS - 1] + "…"
    return {
        "seq": int(quoted.seq),
        "message_id": quoted.message_id,
        "from_user_id": quoted.from_user_id,
        "text": text,
        "language": text_language,
    }


def glossary_view(*, glossary: Glossary) -> protocol.Glossary:
    return {
        "chat_id": glossary.chat_id,
        "version": glossary.version,
        "entries": [
            {"term": entry.term, "rendering": entry.rendering} for entry in glossary.entries
        ],
    }


def chat_preferences_view(*, chat_id: str, formality: str | None) -> protocol.ChatPreferences:
    # Stored only as one of Formality's values (reader_choices.formality_validate).
    return {"chat_id": chat_id, "formality": cast(protocol.Formality | None, formality)}

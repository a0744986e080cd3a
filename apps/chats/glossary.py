"""A chat's glossary: its rules and its one write (reads: selectors.glossary_get and
selectors.translation_profile_read; the use case with its event: actions.do_glossary_update).

Any member may edit it. An edit replaces the whole list and names the version it was made
from; DynamoDB writes it only while that version is still the stored one, so an edit made
from a stale copy is refused (409) instead of silently undoing someone else's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import PutError

from apps.chats.models import GLOSSARY_SORT_KEY, ChatGlossary, GlossaryEntry
from apps.chats.selectors import Glossary, GlossaryTerm, chat_get_for_member
from apps.core.errors import Conflict, InvalidInput
from apps.core.text import display_text_clean

GLOSSARY_MAX_ENTRIES = 50
GLOSSARY_TERM_MAX_CHARS = 60
GLOSSARY_RENDERING_MAX_CHARS = 60
GLOSSARY_STALE = "The glossary was changed meanwhile; reload it and edit again"


def _text_clean(value: object, *, field: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string")
    cleaned = display_text_clean(value=value, field=field)
    if not 1 <= len(cleaned) <= max_chars:
        raise InvalidInput(f"{field} must be 1 to {max_chars} characters")
    return cleaned


def glossary_entries_validate(entries: object) -> tuple[GlossaryTerm, ...]:
    """The entries of an edit, cleaned: at most GLOSSARY_MAX_ENTRIES, each a `term` and a
    `rendering` (null: keep the term as written), both one line of 1 to 60 characters, no term
    twice (regardless of case). Anything else is InvalidInput (422)."""
    if not isinstance(entries, list):
        raise InvalidInput("entries must be a list of {term, rendering}")
    if len(entries) > GLOSSARY_MAX_ENTRIES:
        raise InvalidInput(f"a glossary holds at most {GLOSSARY_MAX_ENTRIES} entries")
    cleaned: list[GlossaryTerm] = []
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) - {"term", "rendering"}:
            raise InvalidInput("each entry must be an object with term and rendering")
        term = _text_clean(entry.get("term"), field="term", max_chars=GLOSSARY_TERM_MAX_CHARS)
        raw_rendering = entry.get("rendering")
        rendering = (
            None
            if raw_rendering is None
            else _text_clean(
                raw_rendering, field="rendering", max_chars=GLOSSARY_RENDERING_MAX_CHARS
            )
        )
        if term.casefold() in seen:
            raise InvalidInput("a term may appear only once")
        seen.add(term.casefold())
        cleaned.append(GlossaryTerm(term=term, rendering=rendering))
    return tuple(cleaned)


# No glossary gets near it; a larger number would be refused by DynamoDB (38 digits) as an error.
GLOSSARY_VERSION_MAX = 2**53 - 1


def glossary_version_validate(version: object) -> int:
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or not 0 <= version <= GLOSSARY_VERSION_MAX
    ):
        raise InvalidInput("version must be the glossary's version, a whole number from 0")
    return version


def glossary_replace(
    *, chat_id: str, user_id: str, version: int, entries: tuple[GlossaryTerm, ...]
) -> tuple[Glossary, frozenset[str]]:
    """Store `entries` as the chat's glossary, made from `version` (404 unless `user_id` is a
    member; 409 if the stored version is another). Returns the glossary now stored and the
    members to tell."""
    chat = chat_get_for_member(chat_id=chat_id, user_id=user_id)
    item = ChatGlossary(
        chat_id,
        GLOSSARY_SORT_KEY,
        entries=[GlossaryEntry(term=entry.term, rendering=entry.rendering) for entry in entries],
        version=version + 1,
        updated_at=datetime.now(UTC),
    )
    condition = (
        ChatGlossary.sk.does_not_exist() if version == 0 else ChatGlossary.version == version
    )
    try:
        item.save(condition=condition)
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(GLOSSARY_STALE) from error
        raise
    stored = Glossary(chat_id=chat_id, version=version + 1, entries=entries)
    return stored, frozenset(chat.member_ids)

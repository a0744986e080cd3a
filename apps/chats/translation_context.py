"""What a message's translation is told about its chat (translation.TranslationContext): the
last few turns, the glossary terms and member names found in the text, the fixed renderings,
and the formality each target language's readers agreed on.

**The turns.** At most `CONTEXT_MESSAGES_MAX` messages before the one translated, and of
those only the newest that fit in `CONTEXT_CHARS_MAX` characters of text (the oldest one that
fits in part keeps its end, marked "…"), each in its original text and language with the
name the members see for its sender. Only that chat's messages, only what its members see
already: no user ids, no other account field. A call's outcome and a deleted person's message
are no one's words and are left out.

A send must not pay a DynamoDB Query for them (issue 13 counts each send's CPU), so this
process keeps the last turns of each chat it sends or delivers in (`RecentTurns`: bounded,
thread-safe, each chat's copy replaced, never changed in place), fed by every message it
broadcasts (events.message_broadcast) or sees delivered (`turn_seen`). The copy is used only
when it holds every sequence number from the window's start up to the chat copy's `last_seq`
(chat_snapshots.py): a message this process never saw (sent through another instance and not
delivered here yet) leaves a gap, and the send then Queries the last messages instead (off
the event loop) and keeps what it read. Copies expire after `RECENT_TURNS_SECONDS`, so a
deleted person's words leave the copies of chats still active soon after. Translations made
later (history, owed) Query, or take the turns from the page being read.

**The glossary, names and formality** are read once per chat per `PROFILE_SECONDS` in this
process (`ChatProfiles`: one GetItem, two BatchGetItem), and the copy is dropped at once when
this process changes them (actions.do_glossary_update, do_chat_formality_set) or the chat's
members or languages differ from the ones it was read for. An edit made through another
instance is not seen here until the copy expires: that, not an invalidation across instances,
is what bounds a translation's staleness, at `PROFILE_SECONDS`. Only the terms and names that
occur in the text go in a request (compared case-insensitively, as whole words in scripts that
write spaces), which keeps prompts short.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.models import DELETED_USER_ID, Chat, Message, MessageKind
from apps.chats.reader_choices import FORMALITY_LANGUAGES
from apps.chats.selectors import (
    chat_get,
    map_as_dict,
    message_history,
    translation_profile_read,
)
from apps.chats.translation import ContextTurn, TranslationContext
from apps.core.concurrency import run_blocking
from apps.core.outages import outage_caused
from apps.core.recent_copies import RecentCopies

logger = logging.getLogger(__name__)

CONTEXT_MESSAGES_MAX = 6
CONTEXT_CHARS_MAX = 1_500
# A sender whose account is gone (or who left before the copy was read).
FORMER_MEMBER = "a former member"

RECENT_TURNS_SECONDS = 120.0
RECENT_TURNS_CHATS_KEPT = 10_000
# Bounds the copies' memory whatever the messages' length (each text is cut to the window).
RECENT_TURNS_CHARS_KEPT = 4_000_000

PROFILE_SECONDS = 30.0
# A send waits no longer than this for its context (DynamoDB slow or stalled): it is then
# translated without one rather than late.
CONTEXT_READ_TIMEOUT_SECONDS = 1.0
PROFILES_KEPT = 10_000


# --- The last turns of each chat ------------------------------------------------------------


@dataclass(frozen=True)
class _Turn:
    seq: int
    from_user_id: str
    language: str
    # None: a message that is no one's words (a call's outcome, a deleted person's).
    text: str | None


@dataclass(frozen=True)
class _Recent:
    # Consecutive sequence numbers, oldest first, at most CONTEXT_MESSAGES_MAX.
    turns: tuple[_Turn, ...]
    expires_at: float

    @property
    def chars(self) -> int:
        return sum(len(turn.text or "") for turn in self.turns)


def _turn_of(
    *, seq: int, from_user_id: str, language: str, text: str, kind: str = MessageKind.TEXT
) -> _Turn:
    worded = kind != MessageKind.CALL and from_user_id != DELETED_USER_ID and bool(text)
    # Only the end of a text can ever be in a window.
    return _Turn(seq, from_user_id, language, text[-CONTEXT_CHARS_MAX:] if worded else None)


def _message_turn(message: Message) -> _Turn:
    return _turn_of(
        seq=int(message.seq),
        from_user_id=message.from_user_id,
        language=message.original_language,
        text=message.original_text,
        kind=message.kind,
    )


class RecentTurns:
    """The last messages of each chat this process has seen, per chat."""

    def __init__(
        self,
        *,
        seconds: float = RECENT_TURNS_SECONDS,
        chats_kept: int = RECENT_TURNS_CHATS_KEPT,
        chars_kept: int = RECENT_TURNS_CHARS_KEPT,
    ) -> None:
        self._seconds = seconds
        self._chats_kept = chats_kept
        self._chars_kept = chars_kept
        self._lock = threading.Lock()
        self._copies: OrderedDict[str, _Recent] = OrderedDict()
        self._chars = 0

    def turns_before_next(self, chat_id: str, *, last_seq: int) -> tuple[_Turn, ...] | None:
        """The chat's last CONTEXT_MESSAGES_MAX messages (fewer in a young chat), oldest
        first, if this copy holds all of them up to `last_seq` at least; None otherwise."""
        if last_seq <= 0:
            return ()
        with self._lock:
            copy = self._copies.get(chat_id)
            if copy is None:
                return None
            if copy.expires_at < time.monotonic():
                self._remove(chat_id)
                return None
        turns = copy.turns
        if turns[-1].seq < last_seq:
            return None  # messages committed elsewhere are missing
        if len(turns) < CONTEXT_MESSAGES_MAX and turns[0].seq != 1:
            return None  # only part of the window
        return turns

    def messages_read(self, chat_id: str, messages: Sequence[Message]) -> None:
        """Keep what a Query of the chat's newest messages found (any order)."""
        turns = tuple(sorted((_message_turn(message) for message in messages), key=_seq))
        if turns:
            self._put(chat_id, _Recent(turns[-CONTEXT_MESSAGES_MAX:], self._expiry()))

    def message_seen(self, message: Message) -> None:
        """A message this process stored or delivered."""
        self.turn_seen(chat_id=message.chat_id, turn=_message_turn(message))

    def turn_seen(self, *, chat_id: str, turn: _Turn) -> None:
        with self._lock:
            copy = self._copies.get(chat_id)
        if copy is not None and turn.seq <= copy.turns[-1].seq:
            return  # held already, or older than the window (a resend's broadcast)
        if copy is not None and copy.turns[-1].seq == turn.seq - 1:
            # The copy's expiry stands: an active chat is read again now and then too.
            self._put(
                chat_id, _Recent((*copy.turns, turn)[-CONTEXT_MESSAGES_MAX:], copy.expires_at)
            )
        else:
            # A gap (or nothing) before it: a copy of one, trusted once it has grown to a
            # window or reaches back to the chat's first message.
            self._put(chat_id, _Recent((turn,), self._expiry()))

    def forget(self, chat_id: str) -> None:
        with self._lock:
            self._remove(chat_id)

    def clear(self) -> None:
        with self._lock:
            self._copies.clear()
            self._chars = 0

    def _expiry(self) -> float:
        return time.monotonic() + self._seconds

    def _put(self, chat_id: str, copy: _Recent) -> None:
        with self._lock:
            self._remove(chat_id)
            self._copies[chat_id] = copy
            self._chars += copy.chars
            while self._copies and (
                len(self._copies) > self._chats_kept or self._chars > self._chars_kept
            ):
                _, oldest = self._copies.popitem(last=False)
                self._chars -= oldest.chars

    def _remove(self, chat_id: str) -> None:
        old = self._copies.pop(chat_id, None)
        if old is not None:
            self._chars -= old.chars


def _seq(turn: _Turn) -> int:
    return turn.seq


recent_turns = RecentTurns()


def turn_seen(
    *, chat_id: str, seq: int, from_user_id: str, language: str, text: str, kind: str
) -> None:
    """For a socket delivering a `message` frame written elsewhere: keeps this process's copy
    of the chat's last turns whole, so the next send here needs no Query."""
    recent_turns.turn_seen(
        chat_id=chat_id,
        turn=_turn_of(seq=seq, from_user_id=from_user_id, language=language, text=text, kind=kind),
    )


def _window(turns: Sequence[_Turn], *, names: dict[str, str]) -> tuple[ContextTurn, ...]:
    """The newest turns that fit in CONTEXT_CHARS_MAX characters of text, oldest first."""
    chosen: list[ContextTurn] = []
    budget = CONTEXT_CHARS_MAX
    for turn in reversed(turns[-CONTEXT_MESSAGES_MAX:]):
        if turn.text is None:
            continue
        text = turn.text
        if len(text) > budget:
            if budget < 2:
                break
            text = "…" + text[-(budget - 1) :]
        budget -= len(text)
        chosen.append(
            ContextTurn(
                speaker=names.get(turn.from_user_id, FORMER_MEMBER),
                language=turn.language,
                text=text,
            )
        )
        if budget <= 0:
            break
    chosen.reverse()
    return tuple(chosen)


# --- Glossary, names and formality ----------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    term: str
    folded: str
    rendering: str | None


@dataclass(frozen=True)
class ChatProfile:
    """A chat's glossary, its members' names and their formality, as read at one time."""

    # The roster it was read for: a copy read for other members or languages is read again.
    member_languages: dict[str, str]
    names: dict[str, str] = field(default_factory=dict)
    terms: tuple[_Term, ...] = ()
    # Language (of FORMALITY_LANGUAGES) -> "formal" / "informal", where its readers agree.
    formality: dict[str, str] = field(default_factory=dict)


def _profile_read(*, chat_id: str, member_languages: dict[str, str]) -> ChatProfile:
    reads = translation_profile_read(chat_id=chat_id, member_languages=member_languages)
    glossary, members = reads.glossary, reads.members
    terms: dict[str, _Term] = {}
    for term, rendering in glossary.renderings.items():
        terms.setdefault(term.casefold(), _Term(term, term.casefold(), rendering))
    names = tuple(name for member in members.values() for name in member.kept)
    for term in (*glossary.kept, *names):
        terms.setdefault(term.casefold(), _Term(term, term.casefold(), None))
    formality = {
        language: choice
        for language, choice in reads.formality.items()
        if language in FORMALITY_LANGUAGES
    }
    return ChatProfile(
        member_languages=member_languages,
        names={member_id: member.display_name for member_id, member in members.items()},
        terms=tuple(terms.values()),
        formality=formality,
    )


class ChatProfiles:
    def __init__(self, *, seconds: float = PROFILE_SECONDS, kept: int = PROFILES_KEPT) -> None:
        self._copies: RecentCopies[ChatProfile] = RecentCopies(seconds=seconds, kept=kept)

    def get(self, chat_id: str, *, member_languages: dict[str, str]) -> ChatProfile | None:
        """The chat's profile, unless its members or their languages have changed since."""
        return self._copies.get(
            chat_id, still_good=lambda profile: profile.member_languages == member_languages
        )

    def put(self, chat_id: str, profile: ChatProfile) -> None:
        self._copies.put(chat_id, profile)

    def forget(self, chat_id: str) -> None:
        self._copies.forget(chat_id)

    def clear(self) -> None:
        self._copies.clear()


chat_profiles = ChatProfiles()


def chat_profile_forget(*, chat_id: str) -> None:
    """This process changed the chat's glossary or a reader's formality: the next
    translation reads them again."""
    chat_profiles.forget(chat_id)


async def _profile_of(chat: Chat) -> ChatProfile:
    member_languages = map_as_dict(chat.member_languages)
    profile = chat_profiles.get(chat.chat_id, member_languages=member_languages)
    if profile is None:
        profile = await run_blocking(_profile_read)(
            chat_id=chat.chat_id, member_languages=member_languages
        )
        chat_profiles.put(chat.chat_id, profile)
    return profile


# Scripts written without spaces between words, or with particles glued to names (Korean):
# a term there is found wherever it appears.
_UNSPACED_PREFIXES = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR")


def _word_character(character: str) -> bool:
    if not (character.isalnum() or character == "_"):
        return False
    return not unicodedata.name(character, "").startswith(_UNSPACED_PREFIXES)


def term_occurs(*, folded_term: str, folded_text: str) -> bool:
    """Whether the (casefolded) term occurs in the (casefolded) text as a whole word: "Ana"
    is in "ana's" but not in "banana"."""
    if not folded_term:
        return False
    start = folded_text.find(folded_term)
    edges = (_word_character(folded_term[0]), _word_character(folded_term[-1]))
    while start != -1:
        end = start + len(folded_term)
        before_ok = not (edges[0] and start > 0 and _word_character(folded_text[start - 1]))
        after_ok = not (edges[1] and end < len(folded_text) and _word_character(folded_text[end]))
        if before_ok and after_ok:
            return True
        start = folded_text.find(folded_term, start + 1)
    return False


# --- A message's context ----------------------------------------------------------------------


@dataclass(frozen=True)
class MessageContext:
    """What every translation of one message is told; `for_target` adds the formality."""

    turns: tuple[ContextTurn, ...] = ()
    kept: tuple[str, ...] = ()
    renderings: tuple[tuple[str, str], ...] = ()
    formality: dict[str, str] = field(default_factory=dict)

    def for_target(self, target: str) -> TranslationContext:
        return TranslationContext(
            turns=self.turns,
            kept=self.kept,
            renderings=self.renderings,
            formality=self.formality.get(target),
        )


NO_MESSAGE_CONTEXT = MessageContext()


def _message_context(*, text: str, turns: Sequence[_Turn], profile: ChatProfile) -> MessageContext:
    folded = text.casefold()
    found = [
        term for term in profile.terms if term_occurs(folded_term=term.folded, folded_text=folded)
    ]
    return MessageContext(
        turns=_window(turns, names=profile.names),
        kept=tuple(term.term for term in found if term.rendering is None),
        renderings=tuple(
            (term.term, term.rendering) for term in found if term.rendering is not None
        ),
        formality=profile.formality,
    )


def _context_failed(error: BaseException, *, chat_id: str) -> None:
    if isinstance(error, TimeoutError) or outage_caused(error):
        logger.warning(
            "translation context for chat %s unavailable (%s); translating without it",
            chat_id,
            type(error).__name__,
        )
    else:
        logger.error(
            "translation context for chat %s failed; translating without it",
            chat_id,
            exc_info=error,
        )


async def _turns_read(chat_id: str, *, before_seq: int | None) -> tuple[_Turn, ...]:
    page = await run_blocking(message_history)(
        chat_id=chat_id, limit=CONTEXT_MESSAGES_MAX, before_seq=before_seq
    )
    if before_seq is None:
        recent_turns.messages_read(chat_id, page.messages)
    return tuple(sorted((_message_turn(message) for message in page.messages), key=_seq))


async def message_context_for_send(*, chat: Chat, text: str) -> MessageContext:
    """The context of a message about to be sent in `chat` (this process's copy of it): the
    recent turns from this process's copy when whole (else one Query), the profile from its
    copy (else read). A context that cannot be read, or not within
    CONTEXT_READ_TIMEOUT_SECONDS, is no reason to refuse or hold up a message: it is then
    translated without one (logged)."""
    chat_id = chat.chat_id
    try:
        held = recent_turns.turns_before_next(chat_id, last_seq=int(chat.last_seq or 0))
        async with asyncio.timeout(CONTEXT_READ_TIMEOUT_SECONDS):
            if held is None:
                turns, profile = await asyncio.gather(
                    _turns_read(chat_id, before_seq=None), _profile_of(chat)
                )
            else:
                turns, profile = held, await _profile_of(chat)
    except Exception as error:
        _context_failed(error, chat_id=chat_id)
        return NO_MESSAGE_CONTEXT
    return _message_context(text=text, turns=turns, profile=profile)


async def message_context_for_stored(
    *, message: Message, known: Sequence[Message] = ()
) -> MessageContext:
    """The context of a stored message translated later (history, owed): the messages just
    before it, from `known` (a history page) when it holds all of them, else one Query."""
    chat_id = message.chat_id
    seq = int(message.seq)
    try:
        chat = chat_snapshots.get(chat_id)
        if chat is None:
            chat = await run_blocking(chat_get)(chat_id=chat_id)
            if chat is None:
                return NO_MESSAGE_CONTEXT
            # The other messages of a history page find it here.
            chat_snapshots.put(chat)
        by_seq = {int(other.seq): other for other in known}
        wanted = range(max(1, seq - CONTEXT_MESSAGES_MAX), seq)
        if all(number in by_seq for number in wanted):
            turns = tuple(_message_turn(by_seq[number]) for number in wanted)
        else:
            turns = await _turns_read(chat_id, before_seq=seq)
        profile = await _profile_of(chat)
    except Exception as error:
        _context_failed(error, chat_id=chat_id)
        return NO_MESSAGE_CONTEXT
    return _message_context(text=message.original_text, turns=turns, profile=profile)


async def messages_before_page(
    *, messages: Sequence[Message], owed: Sequence[Message]
) -> list[Message]:
    """The messages just before a history page (one Query), when a message of it that is to
    be translated has turns before the page; none otherwise."""
    if not owed or not messages:
        return []
    first = min(int(message.seq) for message in messages)
    if first <= 1 or min(int(message.seq) for message in owed) - CONTEXT_MESSAGES_MAX >= first:
        return []
    chat_id = owed[0].chat_id
    if any(message.chat_id != chat_id for message in messages):
        return []  # not one chat's page: each message reads its own
    try:
        page = await run_blocking(message_history)(
            chat_id=chat_id, limit=CONTEXT_MESSAGES_MAX, before_seq=first
        )
    except Exception as error:
        _context_failed(error, chat_id=chat_id)
        return []
    return page.messages

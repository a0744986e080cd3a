"""The steps of a send that are not translation: validation, the rate limit, idempotency
(client id claims), the chat to send into, and per-chat commit turns. The use case that
puts them together, with live translation (live_translation.py) and the broadcasts, is
`actions.do_send_message`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Coroutine
from dataclasses import dataclass

from django.conf import settings

from apps.chats import protocol, services
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.language_detection import (
    SENDER_LANGUAGE_OVERRULE_CONFIDENCE_MIN,
    language_detect,
    language_detector_ready,
)
from apps.chats.models import Chat, Message
from apps.chats.selectors import CHAT_NOT_FOUND, chat_get, map_as_dict, message_get
from apps.core.admission import AdmissionGate, gate_per_loop
from apps.core.background import background_task_start
from apps.core.concurrency import run_blocking
from apps.core.errors import InvalidInput, NotFound
from apps.core.keyvalue import keyvalue_store
from apps.core.outages import outage_caused
from apps.core.ratelimit import SettingsRateLimit, rate_limit_hit
from apps.core.text import text_problem, text_validate

logger = logging.getLogger(__name__)

CLIENT_MSG_ID_MAX_CHARS = 64
# Clients resend an unacknowledged message within minutes; a later resend still makes no
# duplicate (the commit checks), it only costs a translation.
CLIENT_MSG_ID_CLAIM_SECONDS = 3600
# A resend answered from storage broadcasts the message again at most this often (resends
# are not rate-limited: resending one client id in a loop must cost its readers nothing).
RESENT_BROADCAST_INTERVAL_SECONDS = 5.0
# DynamoDB refuses an item over 400 KB. At the default bounds the translations of a message
# never come near this (9 x 32,256 bytes at most); with raised bounds, those that would pass
# it are not stored, so the message is still stored rather than refused and lost. The original
# text and the rest of the item take well under the remaining 100 KB.
MESSAGE_TRANSLATIONS_MAX_BYTES = 300_000
# After a commit DynamoDB did not answer, its sequence number is looked at after these waits
# (about two minutes in all, past the longest DynamoDB stalls seen): the message there is
# delivered if it is the one sent. The sender was told to try again meanwhile; its resend
# finds the message too, and a reader's socket keeps one copy.
UNANSWERED_COMMIT_CHECKS_SECONDS = (1, 2, 4, 8, 15, 30, 60)

# The name of what sends leave running after they return (withdrawals, owed-translation
# follow-ups, checks on unanswered commits): background tasks (apps.core.background).
FOLLOW_UP_TASK = "chat-send-follow-up"


def follow_up_start(coroutine: Coroutine) -> None:
    background_task_start(coroutine, name=FOLLOW_UP_TASK)


@dataclass(frozen=True)
class SendOutcome:
    chat_id: str
    message: protocol.Message  # the sender's view
    duplicate: bool


SEND_BUSY_DETAIL = "The server is busy; try again in a moment"

_send_gates = gate_per_loop(
    settings_read=lambda: (
        settings.SENDS_IN_FLIGHT_MAX,
        settings.SENDS_IN_FLIGHT_WAIT_SECONDS,
        settings.SENDS_IN_FLIGHT_MAX,
        settings.SENDS_LOOP_LAG_MAX_SECONDS,
        settings.SENDS_DELIVERY_LAG_MAX_SECONDS,
    ),
    busy_detail=SEND_BUSY_DETAIL,
)


def send_gate() -> AdmissionGate:
    """This process's admission for sends (SENDS_IN_FLIGHT_MAX at once, a short wait, then
    `Busy`; also `Busy` while the loop or the deliveries after the ack run late): a send is
    admitted before anything of it is claimed, counted or stored, so a refused one may be
    sent again with the same client_msg_id. The socket that sends notes each ack and the
    sender's own copy of the message coming back in `delivery_watch`."""
    return _send_gates.get()


def message_text_validate(text: str) -> str:
    text_validate(value=text, field="text")
    if not text.strip():
        raise InvalidInput("text must not be empty")
    if len(text) > settings.MESSAGE_MAX_CHARS:
        raise InvalidInput(f"text is longer than {settings.MESSAGE_MAX_CHARS} characters")
    return text


def client_msg_id_validate(client_msg_id: str | None) -> str | None:
    if client_msg_id is None:
        return None
    if (
        not 1 <= len(client_msg_id) <= CLIENT_MSG_ID_MAX_CHARS
        or "#" in client_msg_id
        or text_problem(client_msg_id) is not None
    ):
        raise InvalidInput(
            f"client_msg_id must be 1 to {CLIENT_MSG_ID_MAX_CHARS} characters without '#' "
            "or control characters"
        )
    return client_msg_id


_SEND_LIMIT = SettingsRateLimit(
    name="send",
    setting="MESSAGE_RATE_LIMIT",
    detail="too many messages: at most {count} every {window_seconds} seconds",
)


async def message_rate_limit_check(*, user_id: str) -> None:
    """A sliding window, so no burst fits twice the limit across a window's edge."""
    await rate_limit_hit(limit=_SEND_LIMIT, subject=user_id)


async def chat_of_sender(*, chat_id: str, user_id: str) -> Chat:
    """The chat to send into: this process's recent copy, or read. A copy that says the
    sender is not a member is read again: they may have been added since."""
    chat = chat_snapshots.get(chat_id)
    if chat is None or user_id not in chat.member_ids:
        chat = await run_blocking(chat_get)(chat_id=chat_id)
        if chat is not None:
            chat_snapshots.put(chat)
    if chat is None or user_id not in chat.member_ids:
        raise NotFound(CHAT_NOT_FOUND)
    return chat


async def chat_of_resend(*, chat_id: str) -> Chat | None:
    """The chat a resend's message is broadcast again in: the recent copy, or read."""
    return chat_snapshots.get(chat_id) or await run_blocking(chat_get)(chat_id=chat_id)


async def client_msg_id_claim(*, chat_id: str, user_id: str, client_msg_id: str) -> bool:
    """Whether this client id is certainly new: a claim in the key-value store answers that
    without a DynamoDB read for nearly every send; only a client id claimed before needs a
    look-up. DynamoDB stays the judge: the commit refuses a second message with the same
    client id whatever the claim said."""
    return await keyvalue_store().put_if_absent(
        f"client_msg:{chat_id}:{user_id}:{client_msg_id}",
        "1",
        ttl_seconds=CLIENT_MSG_ID_CLAIM_SECONDS,
    )


async def resent_broadcast_claim(*, message_id: str) -> bool:
    """Whether a resend of this message may broadcast it again now (once per interval)."""
    return await keyvalue_store().put_if_absent(
        f"resent_broadcast:{message_id}", "1", ttl_seconds=RESENT_BROADCAST_INTERVAL_SECONDS
    )


def translations_fitting(translations: dict[str, str | None]) -> dict[str, str | None]:
    """The translations, the shortest first, while they fit in MESSAGE_TRANSLATIONS_MAX_BYTES;
    None (owed) for the rest."""
    fitting: dict[str, str | None] = {}
    total = 0
    for language, text in sorted(
        translations.items(), key=lambda item: len((item[1] or "").encode())
    ):
        size = len((text or "").encode())
        if text is not None and total + size > MESSAGE_TRANSLATIONS_MAX_BYTES:
            logger.warning("translation into %s does not fit in the message; owed", language)
            text = None
        else:
            total += size
        fitting[language] = text
    return fitting


def translation_fits(*, message: Message, text: str) -> bool:
    """Whether one more translation, `text`, fits beside those the message holds."""
    held = sum(len(value.encode()) for value in map_as_dict(message.translations).values())
    return held + len(text.encode()) <= MESSAGE_TRANSLATIONS_MAX_BYTES


async def language_written(*, text: str, fallback: str) -> str:
    """The language a text message is written in (language_detection.py), `fallback` (the
    sender's language) when unsure. On the loop once the detector is built: it reads at most
    DETECTION_MAX_CHARS characters, tens of microseconds. Until then (its model loads in about
    half a second, started by the warm-up) on the blocking pool, so no send stalls the loop.
    The sender's language is overruled only from SENDER_LANGUAGE_OVERRULE_CONFIDENCE_MIN."""
    detect = functools.partial(
        language_detect,
        text=text,
        fallback=fallback,
        confidence_min=SENDER_LANGUAGE_OVERRULE_CONFIDENCE_MIN,
    )
    detected = detect() if language_detector_ready() else await run_blocking(detect)()
    return detected.code


class _CommitTurns:
    """One commit at a time per chat in this process. Two commits from one copy of the
    chat would both claim the same sequence number and one would fail and retry (a wasted
    write); taking turns, the second starts from the copy the first left. Other processes
    are still kept in line by the commit's conditions."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._holders: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: str):
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._holders[chat_id] = self._holders.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[chat_id] -= 1
            if not self._holders[chat_id]:
                del self._holders[chat_id]
                del self._locks[chat_id]


commit_turns = _CommitTurns()


async def message_commit_in_turn(
    *, draft: services.MessageDraft, chat: Chat, commit_after: asyncio.Future | None
) -> services.CommittedMessage:
    """Commit the draft after `commit_after` (the same socket's previous send into the chat,
    so a person's messages keep their order), on this chat's turn in this process."""
    if commit_after is not None:
        await asyncio.wait([commit_after])
    async with commit_turns.turn(chat.chat_id):
        # Messages committed or delivered here while this one was translated have moved the
        # chat on: start from the latest copy, or the commit fails once and tries again.
        chat = chat_snapshots.get(chat.chat_id) or chat
        return await run_blocking(services.message_commit)(draft=draft, chat=chat)


async def unanswered_commit_find(*, unanswered: services.CommitOutcomeUnknown) -> Message | None:
    """The message of a commit DynamoDB did not answer, if it was stored after all: its
    sequence number is looked at after each of UNANSWERED_COMMIT_CHECKS_SECONDS."""
    tried = unanswered.message
    for delay in UNANSWERED_COMMIT_CHECKS_SECONDS:
        await asyncio.sleep(delay)
        try:
            stored = await run_blocking(message_get)(chat_id=tried.chat_id, seq=int(tried.seq))
        except Exception as error:
            if outage_caused(error):
                continue
            raise
        if stored is None:
            continue  # not yet, or not at all
        return stored if stored.message_id == tried.message_id else None
    return None

"""Sending a message: validate, rate-limit, translate (streaming), commit, broadcast.

The message is translated into every other language present among the members before it
is stored, so one transaction writes it with all its translations and every member's inbox
row. Readers watch the translation stream in meanwhile: once it has taken longer than
`PARTIAL_INTERVAL_SECONDS`, they get `message_started` (the original) and then partials;
a quicker translation reaches them only as the finished `message`. When the provider fails or times
out, the message is stored and delivered at once in its original language, marked
untranslated, and the translation follows as `message_updated` once the provider answers.

An owed translation (one that failed at send, or that a reader's new language asks for) is
tried at most once per message and language per back-off period, whoever asks: the retries,
history reads and voice-note playback on any instance take turns through the key-value store
(`translation_turn_take`), and give up after `OWED_TRANSLATION_MAX_ATTEMPTS`. What a message
still owes is stored with it (apps/chats/owed_translations.py), so the retries survive the
instance: the sending instance follows its message for the first short waits, and every
instance's sweeper (apps/chats/owed_sweeper.py) works off whatever is due after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from apps.accounts.models import User
from apps.chats import events, services
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.models import Chat, Message, OwedTranslation
from apps.chats.owed_translations import (
    OWED_TRANSLATION_MAX_ATTEMPTS,
    owed_retry_delay,
    owed_translation_claim,
    owed_translation_get,
    owed_translation_key,
    owed_translation_reschedule,
    owed_translation_settle,
)
from apps.chats.selectors import (
    CHAT_NOT_FOUND,
    chat_get,
    map_as_dict,
    message_get,
    message_of_client_id,
    message_view,
)
from apps.chats.translation import (
    TranslationUnavailable,
    translate_text,
    translation_configured,
    translation_stream,
)
from apps.core.concurrency import run_blocking
from apps.core.errors import (
    InvalidInput,
    NotFound,
    RateLimited,  # noqa: F401  (re-exported for callers)
)
from apps.core.keyvalue import keyvalue_store
from apps.core.outages import outage_caused
from apps.core.ratelimit import RateLimit, rate_limit_hit
from apps.core.text import text_problem, text_validate

logger = logging.getLogger(__name__)

CLIENT_MSG_ID_MAX_CHARS = 64
# Clients resend an unacknowledged message within minutes; a later resend still makes no
# duplicate (the commit checks), it only costs a translation.
CLIENT_MSG_ID_CLAIM_SECONDS = 3600
# A resend answered from storage broadcasts the message again at most this often (resends
# are not rate-limited: resending one client id in a loop must cost its readers nothing).
RESENT_BROADCAST_INTERVAL_SECONDS = 5.0
# Partial translations go out at most this often per language, to spare the channel layer.
PARTIAL_INTERVAL_SECONDS = 0.08
# The attempts are counted afresh after this long, so a provider outage longer than the
# schedule does not leave a message untranslated for good, and a text the provider never
# translates costs at most OWED_TRANSLATION_MAX_ATTEMPTS calls a day.
OWED_TRANSLATION_ATTEMPTS_WINDOW_SECONDS = 24 * 3600
# DynamoDB refuses an item over 400 KB. At the default bounds the translations of a message
# never come near this (9 x 32,256 bytes at most); with raised bounds, those that would pass
# it are not stored, so the message is still stored rather than refused and lost. The original
# text and the rest of the item take well under the remaining 100 KB.
MESSAGE_TRANSLATIONS_MAX_BYTES = 300_000
# Redis keeps a key alive through its last millisecond: a retry that waits this much longer
# than the back-off finds its turn free.
_TURN_MARGIN_SECONDS = 0.01

_background_tasks: set[asyncio.Task] = set()


@dataclass(frozen=True)
class SendOutcome:
    chat_id: str
    message: dict  # the sender's view
    duplicate: bool


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


def _send_limit() -> RateLimit:
    return RateLimit(
        name="send",
        count=settings.MESSAGE_RATE_LIMIT_COUNT,
        window_seconds=settings.MESSAGE_RATE_LIMIT_WINDOW_SECONDS,
        detail=(
            f"too many messages: at most {settings.MESSAGE_RATE_LIMIT_COUNT} "
            f"every {settings.MESSAGE_RATE_LIMIT_WINDOW_SECONDS} seconds"
        ),
    )


async def message_rate_limit_check(*, user_id: str) -> None:
    """A sliding window, so no burst fits twice the limit across a window's edge."""
    await rate_limit_hit(limit=_send_limit(), subject=user_id)


async def message_send(
    *,
    user: User,
    chat_id: str,
    text: str,
    client_msg_id: str | None = None,
    commit_after: asyncio.Future | None = None,
    kind: str = "text",
) -> SendOutcome:
    """Send a message. `commit_after`, when given, is the previous send from the same socket
    into the same chat: the translations run at once, but this message is stored only after
    that one, so a person's messages keep the order they were written in."""
    text = message_text_validate(text)
    client_msg_id = client_msg_id_validate(client_msg_id)
    chat = await _chat_of_sender(chat_id=chat_id, user_id=user.user_id)
    if client_msg_id is not None:
        earlier = await _earlier_send(chat_id=chat_id, user=user, client_msg_id=client_msg_id)
        if earlier is not None:
            return earlier
    await message_rate_limit_check(user_id=user.user_id)

    source = user.native_language
    member_languages = map_as_dict(chat.member_languages)
    created_at = datetime.now(UTC)
    message_id = uuid.uuid4().hex
    targets = {lang for lang in member_languages.values() if lang != source}
    # The sender's own tabs learn of it from the ack and the stored message.
    readers = [member for member in member_languages if member != user.user_id]
    announcement = _Announcement(
        lambda: events.message_started_broadcast(
            chat_id=chat_id,
            message_id=message_id,
            from_user_id=user.user_id,
            original_text=text,
            original_language=source,
            timestamp=created_at.isoformat(),
            member_ids=readers,
        ),
        delay=PARTIAL_INTERVAL_SECONDS if targets else None,
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
        )
    except BaseException as error:
        _withdraw_if_announced(
            announcement, chat_id=chat_id, message_id=message_id, readers=readers
        )
        if isinstance(error, services.CommitOutcomeUnknown):
            _background(_unanswered_commit_settle(unanswered=error))
        raise
    if committed.chat is not None:
        chat_snapshots.put(committed.chat)
    # A resend too: the first broadcast of what it repeats may never have gone out (sockets
    # that have the message drop it by its seq). The broadcast is not waited for.
    await events.message_broadcast(
        message=committed.message, member_languages=committed.member_languages
    )
    if committed.duplicate:
        _withdraw_if_announced(
            announcement, chat_id=chat_id, message_id=message_id, readers=readers
        )
    else:
        owed = _languages_owed(committed.message, committed.member_languages)
        if owed:
            _background(_translations_retry(message=committed.message, languages=owed))
    return SendOutcome(
        chat_id=chat_id,
        message=message_view(message=committed.message, language=source),
        duplicate=committed.duplicate,
    )


def _withdraw_if_announced(
    announcement: _Announcement, *, chat_id: str, message_id: str, readers: list[str]
) -> None:
    """Readers who were shown a message being translated learn that it will not come (the
    send failed, or it was a resend of a message they already have)."""
    if announcement.sent:
        _background(
            events.message_withdrawn_broadcast(
                chat_id=chat_id, message_id=message_id, member_ids=readers
            )
        )


async def _chat_of_sender(*, chat_id: str, user_id: str) -> Chat:
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


async def _earlier_send(*, chat_id: str, user: User, client_msg_id: str) -> SendOutcome | None:
    """The outcome of an earlier send with this client id, if it was stored. A claim in
    the key-value store answers "certainly new" without a DynamoDB read for nearly every
    send; only a client id claimed before is looked up. DynamoDB stays the judge: the commit
    refuses a second message with the same client id whatever the claim said."""
    claimed = await keyvalue_store().put_if_absent(
        f"client_msg:{chat_id}:{user.user_id}:{client_msg_id}",
        "1",
        ttl_seconds=CLIENT_MSG_ID_CLAIM_SECONDS,
    )
    if claimed:
        return None
    return await message_resent_outcome(chat_id=chat_id, user=user, client_msg_id=client_msg_id)


async def message_resent_outcome(
    *, chat_id: str, user: User, client_msg_id: str
) -> SendOutcome | None:
    """A resend of a message already stored under this client id: acknowledged again with
    the stored message, which is broadcast again (the first broadcast may have been lost,
    or the sender never heard that it was stored; sockets that have it drop it by its seq).
    None when nothing is stored under it."""
    original = await run_blocking(message_of_client_id)(
        chat_id=chat_id, sender_id=user.user_id, client_msg_id=client_msg_id
    )
    if original is None:
        return None
    if await keyvalue_store().put_if_absent(
        f"resent_broadcast:{original.message_id}",
        "1",
        ttl_seconds=RESENT_BROADCAST_INTERVAL_SECONDS,
    ):
        chat = chat_snapshots.get(chat_id) or await run_blocking(chat_get)(chat_id=chat_id)
        if chat is not None:
            await events.message_broadcast(
                message=original, member_languages=map_as_dict(chat.member_languages)
            )
    return SendOutcome(
        chat_id=chat_id,
        message=message_view(message=original, language=user.native_language),
        duplicate=True,
    )


# After a commit DynamoDB did not answer, its sequence number is looked at after these waits
# (about two minutes in all, past the longest DynamoDB stalls seen): the message there is
# delivered if it is the one sent. The sender was told to try again meanwhile; its resend
# finds the message too, and a reader's socket keeps one copy.
UNANSWERED_COMMIT_CHECKS_SECONDS = (1, 2, 4, 8, 15, 30, 60)


async def _unanswered_commit_settle(*, unanswered: services.CommitOutcomeUnknown) -> None:
    """Deliver the message of a commit that was not answered, if it was stored after all."""
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
        if stored.message_id == tried.message_id:
            logger.info("an unanswered commit in chat %s was stored: delivering it", tried.chat_id)
            await events.message_broadcast(
                message=stored, member_languages=unanswered.member_languages
            )
            owed = _languages_owed(stored, unanswered.member_languages)
            if owed:
                await _translations_retry(message=stored, languages=owed)
        return


class _Announcement:
    """`message_started` for the readers, sent once, and only when the translation takes
    long enough to be worth showing the original meanwhile: a translation done within
    `delay` reaches them whole in the `message` frame, which saves a broadcast per message.
    `delay` None: never (nothing to translate)."""

    def __init__(self, send: Callable[[], Awaitable[None]], *, delay: float | None) -> None:
        self._send = send
        self._task: asyncio.Task | None = None
        self._timer = (
            asyncio.get_running_loop().call_later(delay, self._start) if delay is not None else None
        )

    @property
    def sent(self) -> bool:
        return self._task is not None

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def now(self) -> None:
        """Make sure it has gone out (before a partial translation refers to it)."""
        self._start()
        await asyncio.shield(self._task)

    async def settle(self) -> None:
        """No announcement from now on; one already under way finishes first, so readers
        get it before the message."""
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            await asyncio.shield(self._task)


async def _message_translate_and_commit(
    *,
    announcement: _Announcement,
    chat: Chat,
    user: User,
    message_id: str,
    text: str,
    client_msg_id: str | None,
    created_at: datetime,
    kind: str,
    commit_after: asyncio.Future | None,
) -> services.CommittedMessage:
    source = user.native_language
    try:
        translations = await _translations_stream(
            chat_id=chat.chat_id,
            message_id=message_id,
            text=text,
            source=source,
            member_languages=map_as_dict(chat.member_languages),
            announcement=announcement,
        )
    finally:
        await announcement.settle()
    translations = _translations_fitting(translations)
    draft = services.MessageDraft(
        chat_id=chat.chat_id,
        message_id=message_id,
        from_user_id=user.user_id,
        original_text=text,
        original_language=source,
        translations={lang: value for lang, value in translations.items() if value is not None},
        pending_languages=frozenset(lang for lang, value in translations.items() if value is None),
        client_msg_id=client_msg_id,
        created_at=created_at,
        kind=kind,
    )
    if commit_after is not None:
        await asyncio.wait([commit_after])
    async with _commit_turns.turn(chat.chat_id):
        # Messages committed or delivered here while this one was translated have moved the
        # chat on: start from the latest copy, or the commit fails once and tries again.
        chat = chat_snapshots.get(chat.chat_id) or chat
        return await run_blocking(services.message_commit)(draft=draft, chat=chat)


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


_commit_turns = _CommitTurns()


def _translations_fitting(translations: dict[str, str | None]) -> dict[str, str | None]:
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


def _translations_bytes(message: Message) -> int:
    return sum(len(text.encode()) for text in map_as_dict(message.translations).values())


def _languages_owed(message: Message, member_languages: dict[str, str]) -> set[str]:
    stored = map_as_dict(message.translations)
    return {
        language
        for language in member_languages.values()
        if language != message.original_language and language not in stored
    }


async def _translations_stream(
    *,
    chat_id: str,
    message_id: str,
    text: str,
    source: str,
    member_languages: dict[str, str],
    announcement: _Announcement,
) -> dict[str, str | None]:
    """Translate into every other member language at once; None where the provider failed."""
    targets = sorted({lang for lang in member_languages.values() if lang != source})
    results = await asyncio.gather(
        *(
            _translation_stream_one(
                chat_id=chat_id,
                message_id=message_id,
                text=text,
                source=source,
                target=target,
                readers=[member for member, lang in member_languages.items() if lang == target],
                announcement=announcement,
            )
            for target in targets
        )
    )
    return dict(zip(targets, results, strict=True))


async def _translation_stream_one(
    *,
    chat_id: str,
    message_id: str,
    text: str,
    source: str,
    target: str,
    readers: list[str],
    announcement: _Announcement,
) -> str | None:
    partials = _PartialSender(
        send=lambda partial: events.translation_partial_broadcast(
            chat_id=chat_id,
            message_id=message_id,
            language=target,
            text=partial,
            member_ids=readers,
        ),
        announcement=announcement,
    )
    translated = None
    try:
        async for partial in translation_stream(
            text=text, source_language=source, target_language=target
        ):
            translated = partial
            partials.offer(partial)
    except TranslationUnavailable as error:
        logger.warning(
            "translation %s->%s unavailable (%s); delivering untranslated", source, target, error
        )
        return None
    finally:
        await partials.close()
    return translated or None


class _PartialSender:
    """Sends the latest partial translation at most once per `PARTIAL_INTERVAL_SECONDS`,
    from a task of its own. The stream only offers each new value; values that arrive
    together go out as one, so a loaded server (whose reads of the reply are spread out)
    sends fewer partials, not more. The first waits one interval too: a translation done by
    then reaches readers whole in the `message` frame."""

    def __init__(
        self, *, send: Callable[[str], Awaitable[None]], announcement: _Announcement
    ) -> None:
        self._send = send
        self._announcement = announcement
        self._loop = asyncio.get_running_loop()
        self._last_sent_at = self._loop.time()
        self._latest: str | None = None
        self._sent: str | None = None
        self._offered = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._sending = False
        self._closed = False

    def offer(self, partial: str) -> None:
        self._latest = partial
        self._offered.set()
        if self._task is None:
            self._task = self._loop.create_task(self._run())

    async def _run(self) -> None:
        while True:
            wait = self._last_sent_at + PARTIAL_INTERVAL_SECONDS - self._loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if self._latest == self._sent:
                self._offered.clear()
                await self._offered.wait()
                continue
            latest = self._latest
            self._sending = True
            try:
                await self._announcement.now()
                await self._send(latest)
            finally:
                self._sending = False
            self._sent = latest
            self._last_sent_at = self._loop.time()
            if self._closed:
                return

    async def close(self) -> None:
        """No partial after this one returns (the message follows). A partial being
        broadcast is let finish rather than cut off inside the channel layer."""
        self._closed = True
        task = self._task
        if task is None or task.done():
            return
        if not self._sending:
            task.cancel()  # it is only waiting: for the interval, or for a value
        await asyncio.wait([task])


def _background(coroutine) -> None:
    task = asyncio.get_running_loop().create_task(coroutine)
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)


# Sending instances follow at most this many of their messages' owed translations at once;
# the sweepers take care of any more (memory stays bounded through a long provider outage).
LOCAL_FOLLOW_UPS_MAX = 500
_local_follow_ups = 0


def _followed_here(wait: float) -> bool:
    """Whether the sending instance makes the next attempt itself: only while the wait is
    shorter than a sweep interval (a sweep would come late), or when nothing sweeps."""
    interval = settings.OWED_TRANSLATION_SWEEP_SECONDS
    return interval <= 0 or wait < interval


async def _translations_retry(*, message: Message, languages: set[str]) -> None:
    """The sending instance's quick follow-up of the message's owed translations: attempts
    on the back-off schedule through the message's stored record, as long as they are
    `_followed_here`; the sweepers take over from there, or if this process ends."""
    global _local_follow_ups
    if not translation_configured() or _local_follow_ups >= LOCAL_FOLLOW_UPS_MAX:
        return
    _local_follow_ups += 1
    try:
        # The send's attempt was the first: readers wait out its back-off too.
        for language in languages:
            await translation_turn_take(message_id=message.message_id, language=language)
        due = time.time() + owed_retry_delay(1)
        while due is not None and _followed_here(due - time.time()):
            await asyncio.sleep(max(0.0, due - time.time()) + _TURN_MARGIN_SECONDS)
            due = await _owed_translation_follow(chat_id=message.chat_id, seq=int(message.seq))
    except Exception as error:
        _owed_failure_log(error, chat_id=message.chat_id)
    finally:
        _local_follow_ups -= 1


async def _owed_translation_follow(*, chat_id: str, seq: int) -> float | None:
    """Claim the message's record and make the attempt. When it is due again later (seconds
    since the epoch), or None: done, given up, or in another instance's hands."""
    shard, message_key = owed_translation_key(chat_id=chat_id, seq=seq)
    record = await run_blocking(owed_translation_claim)(shard=shard, message_key=message_key)
    if record is not None:
        return await owed_translation_attempt(record=record)
    current = await run_blocking(owed_translation_get)(chat_id=chat_id, seq=seq)
    if current is None or current.claim is not None:
        return None
    return int(current.due_at) / 1000


async def owed_translation_attempt(*, record: OwedTranslation) -> float | None:
    """One attempt at what a claimed record owes: each translation the message still lacks is
    asked for on its turn (`message_translation_fill`: stored, announced). Then the record is
    deleted (nothing owed, or the attempts used up) or due again after the back-off. Returns
    when it is due again (seconds since the epoch), or None."""
    attempts = int(record.attempts)
    if attempts > OWED_TRANSLATION_MAX_ATTEMPTS:
        # Its last holder gave up but could not delete it.
        await run_blocking(owed_translation_settle)(record=record)
        return None
    try:
        remaining = await _owed_translations_fill(record=record)
    except Exception as error:
        _owed_failure_log(error, chat_id=record.chat_id)
        # An outage stopped it before the provider was paid (or stopped the storing of what
        # was paid for: the turn in the key-value store still spaces the calls): not counted.
        due = time.time() + owed_retry_delay(attempts)
        with contextlib.suppress(Exception):  # else the lease runs out and it is due then
            if await run_blocking(owed_translation_reschedule)(
                record=record, due=due, attempt_back=outage_caused(error)
            ):
                return due
        return None
    if remaining and attempts < OWED_TRANSLATION_MAX_ATTEMPTS:
        due = time.time() + owed_retry_delay(attempts) + _TURN_MARGIN_SECONDS
        if await run_blocking(owed_translation_reschedule)(
            record=record, due=due, attempt_back=False
        ):
            return due
        return None
    if remaining:
        logger.warning(
            "gave up on %d owed translations for a message in chat %s",
            len(remaining),
            record.chat_id,
        )
    await run_blocking(owed_translation_settle)(record=record)
    return None


async def _owed_translations_fill(*, record: OwedTranslation) -> set[str]:
    """Ask for the translations the record names that the message still lacks; the languages
    still lacking afterwards."""
    message = await run_blocking(message_get)(chat_id=record.chat_id, seq=int(record.seq))
    if message is None:
        return set()  # deleted with its chat
    stored = map_as_dict(message.translations)
    recorded = set(record.languages) - {message.original_language}
    if recorded & set(stored):
        # Stored since, by a reader's history or by an attempt that stopped before telling
        # the readers (it failed, or its process died): they are told now, perhaps again.
        await _message_translations_announce(message=message, languages=recorded & set(stored))
    owed = sorted(recorded - set(stored))
    filled = await asyncio.gather(
        *(message_translation_fill(message=message, language=language) for language in owed)
    )
    return {language for language, done in zip(owed, filled, strict=True) if not done}


def _owed_failure_log(error: BaseException, *, chat_id: str) -> None:
    if outage_caused(error):
        logger.warning(
            "an attempt at owed translations for a message in chat %s was cut short (%s); "
            "trying again later",
            chat_id,
            type(error).__name__,
        )
    else:
        logger.error(
            "owed translations for a message in chat %s failed; trying again later",
            chat_id,
            exc_info=error,
        )


async def message_translations_store(*, message: Message, translations: dict[str, str]) -> None:
    updated = await run_blocking(services.message_translations_add)(
        chat_id=message.chat_id, seq=int(message.seq), translations=translations
    )
    if updated is None:
        return
    await _message_translations_announce(message=updated, languages=set(translations))


async def _message_translations_announce(*, message: Message, languages: set[str]) -> None:
    """The inbox previews and `message_updated` for readers of `languages`."""
    chat = await run_blocking(chat_get)(chat_id=message.chat_id)
    if chat is None:
        return
    member_languages = map_as_dict(chat.member_languages)
    await run_blocking(services.membership_previews_refresh)(
        message=message, member_languages=member_languages, languages=languages
    )
    await events.message_updated_broadcast(
        message=message, member_languages=member_languages, languages=languages
    )


ON_DEMAND_CONCURRENCY = 8


async def messages_in_language(*, messages: list[Message], language: str) -> list[Message]:
    """Make sure each message has a translation for `language`, translating on demand the
    ones written before this reader had that language (or whose translation failed at send);
    each is stored, so it happens once. A message is asked for only on its turn (one attempt
    per back-off period whoever reads, see `translation_turn_take`): one whose turn it is not,
    or whose translation fails this time, is returned untranslated."""
    owed = [
        message
        for message in messages
        if message.original_language != language
        and language not in map_as_dict(message.translations)
    ]
    if not owed:
        return messages
    limit = asyncio.Semaphore(ON_DEMAND_CONCURRENCY)

    async def fill(message: Message) -> None:
        async with limit:
            await message_translation_fill(message=message, language=language)

    await asyncio.gather(*(fill(message) for message in owed))
    return messages


async def translation_turn_take(*, message_id: str, language: str) -> bool:
    """Whether the caller may ask the provider for this translation now (and if so, counts
    the attempt). The first caller takes the turn for the back-off that follows its attempt,
    on every instance at once; until it ends, and once the attempts are used up, everyone else
    is refused (and shows the message untranslated)."""
    store = keyvalue_store()
    key = f"{message_id}:{language}"
    attempts = int(await store.get(f"translation_attempts:{key}") or 0)
    if attempts >= OWED_TRANSLATION_MAX_ATTEMPTS:
        return False
    if not await store.put_if_absent(
        f"translation_turn:{key}", "1", ttl_seconds=owed_retry_delay(attempts + 1)
    ):
        return False
    await store.counter_hit(
        f"translation_attempts:{key}", window_seconds=OWED_TRANSLATION_ATTEMPTS_WINDOW_SECONDS
    )
    return True


async def message_translation_fill(*, message: Message, language: str) -> bool:
    """Ask the provider for the message's translation into `language`, if it is this caller's
    turn; store it, announce it and add it to `message`. False when it is not this caller's
    turn, or the provider could not translate it this time."""
    if not translation_configured():
        # Nothing is asked, so nothing counts against the attempts: once a key is set, the
        # owed translations are made.
        return False
    if not await translation_turn_take(message_id=message.message_id, language=language):
        return False
    try:
        text = await translate_text(
            text=message.original_text,
            source_language=message.original_language,
            target_language=language,
        )
    except TranslationUnavailable:
        return False
    if _translations_bytes(message) + len(text.encode()) > MESSAGE_TRANSLATIONS_MAX_BYTES:
        logger.warning(
            "translation into %s does not fit in a message in chat %s; not stored",
            language,
            message.chat_id,
        )
        return False
    translations = map_as_dict(message.translations)
    translations[language] = text
    message.translations = translations
    await message_translations_store(message=message, translations={language: text})
    return True

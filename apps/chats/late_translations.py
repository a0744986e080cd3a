"""Translations made after a message is stored: the ones it owes, and the ones a reader asks for.

A translation is owed when it failed at send, did not fit, or a reader's new language asks
for it. It is tried at most once per message and language per back-off period, whoever
asks: the retries, history reads and voice-note playback on any instance take turns through
the key-value store (`translation_turn_take`), and give up after
`OWED_TRANSLATION_MAX_ATTEMPTS`. What a message still owes is stored with it
(owed_translations.py), so the retries survive the instance: the sending instance follows its
message for the first short waits (`owed_translations_follow`), and every instance's sweeper
(owed_sweeper.py) works off whatever is due after that.

This module is the machinery: turns, provider calls, back-off, which languages a message
still owes. It stores no translation and sends no event: the chat actions do
(apps/chats/actions.py, `do_make_owed_translations`, `do_translate_messages`), handing
their store-and-announce step in as a `TranslationsDelivery`, so each translation is stored
and reaches the readers of its language (`message_updated`, their inbox preview) the moment
it is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from apps.chats import sending
from apps.chats.models import Message, OwedTranslation, message_deleted
from apps.chats.owed_translations import (
    OWED_TRANSLATION_MAX_ATTEMPTS,
    owed_retry_delay,
    owed_translation_claim,
    owed_translation_get,
    owed_translation_key,
    owed_translation_reschedule,
    owed_translation_settle,
)
from apps.chats.presenters import message_translation_needed
from apps.chats.selectors import map_as_dict, message_get
from apps.chats.short_translations import (
    short_translation_cached,
    short_translation_keep,
    short_translation_shared,
)
from apps.chats.translation import (
    NO_CONTEXT,
    TranslationUnavailable,
    translate_text,
    translation_configured,
)
from apps.chats.translation_context import (
    MessageContext,
    message_context_for_stored,
    messages_before_page,
)
from apps.core.concurrency import run_blocking
from apps.core.keyvalue import keyvalue_store
from apps.core.outages import outage_caused

logger = logging.getLogger(__name__)

# The attempts are counted afresh after this long, so a provider outage longer than the
# schedule does not leave a message untranslated for good, and a text the provider never
# translates costs at most OWED_TRANSLATION_MAX_ATTEMPTS calls a day.
OWED_TRANSLATION_ATTEMPTS_WINDOW_SECONDS = 24 * 3600
# Redis keeps a key alive through its last millisecond: a retry that waits this much longer
# than the back-off finds its turn free.
_TURN_MARGIN_SECONDS = 0.01

# Sending instances follow at most this many of their messages' owed translations at once;
# the sweepers take care of any more (memory stays bounded through a long provider outage).
LOCAL_FOLLOW_UPS_MAX = 500
_local_follow_ups = 0


class TranslationsStore(Protocol):
    """Store translations just made on the message, then tell the readers of their languages."""

    async def __call__(self, *, message: Message, translations: dict[str, str]) -> None: ...


class TranslationsAnnounce(Protocol):
    """Tell the readers of `languages` of translations the message has stored already."""

    async def __call__(self, *, message: Message, languages: set[str]) -> None: ...


@dataclass(frozen=True)
class TranslationsDelivery:
    """What becomes of the translations made here: the calling action's writes and events."""

    store_and_announce: TranslationsStore
    announce: TranslationsAnnounce


class OwedTranslationAttempt(Protocol):
    """One attempt at a claimed record (the action `do_make_owed_translations`): when it is
    due again, in seconds since the epoch, or None."""

    async def __call__(self, *, record: OwedTranslation) -> float | None: ...


def _followed_here(wait: float) -> bool:
    """Whether the sending instance makes the next attempt itself: only while the wait is
    shorter than a sweep interval (a sweep would come late), or when nothing sweeps."""
    interval = settings.OWED_TRANSLATION_SWEEP_SECONDS
    return interval <= 0 or wait < interval


async def owed_translations_follow(
    *, message: Message, languages: set[str], attempt: OwedTranslationAttempt
) -> None:
    """The sending instance's quick follow-up of the message's owed translations: `attempt`s
    on the back-off schedule at the message's stored record, as long as they are
    `_followed_here`; the sweepers take over from there, or if this process ends."""
    global _local_follow_ups
    if not translation_configured() or _local_follow_ups >= LOCAL_FOLLOW_UPS_MAX:
        return
    _local_follow_ups += 1
    try:
        # The send's attempt was the first: readers wait out its back-off too.
        for language in languages:
            await translation_turn_take(message_id=message.message_id, language=language)
        due: float | None = time.time() + owed_retry_delay(1)
        while due is not None and _followed_here(due - time.time()):
            await asyncio.sleep(max(0.0, due - time.time()) + _TURN_MARGIN_SECONDS)
            due = await _owed_translation_follow(
                chat_id=message.chat_id, seq=int(message.seq), attempt=attempt
            )
    except Exception as error:
        _owed_failure_log(error, chat_id=message.chat_id)
    finally:
        _local_follow_ups -= 1


async def _owed_translation_follow(
    *, chat_id: str, seq: int, attempt: OwedTranslationAttempt
) -> float | None:
    """Claim the message's record and make the attempt. When it is due again later (seconds
    since the epoch), or None: done, given up, or in another instance's hands."""
    shard, message_key = owed_translation_key(chat_id=chat_id, seq=seq)
    record = await run_blocking(owed_translation_claim)(shard=shard, message_key=message_key)
    if record is not None:
        return await attempt(record=record)
    current = await run_blocking(owed_translation_get)(chat_id=chat_id, seq=seq)
    if current is None or current.claim is not None:
        return None
    return int(current.due_at) / 1000


async def owed_translation_attempt(
    *, record: OwedTranslation, delivery: TranslationsDelivery
) -> float | None:
    """One attempt at what a claimed record owes: each translation the message still lacks is
    asked for on its turn (`message_translation_fill`, handed to `delivery`). Then the record is
    deleted (nothing owed, or the attempts used up) or due again after the back-off. Returns
    when it is due again (seconds since the epoch), or None."""
    attempts = int(record.attempts)
    if attempts > OWED_TRANSLATION_MAX_ATTEMPTS:
        # Its last holder gave up but could not delete it.
        await run_blocking(owed_translation_settle)(record=record)
        return None
    try:
        remaining = await _owed_translations_fill(record=record, delivery=delivery)
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


async def _owed_translations_fill(
    *, record: OwedTranslation, delivery: TranslationsDelivery
) -> set[str]:
    """Ask for the translations the record names that the message still lacks; the languages
    still lacking afterwards."""
    message = await run_blocking(message_get)(chat_id=record.chat_id, seq=int(record.seq))
    if message is None or message_deleted(message):
        return set()  # deleted with its chat, or deleted for everyone: nothing is owed
    stored = map_as_dict(message.translations)
    recorded = set(record.languages) - {message.original_language}
    if recorded & set(stored):
        # Stored since, by a reader's history or by an attempt that stopped before telling
        # the readers (it failed, or its process died): they are told now, perhaps again.
        await delivery.announce(message=message, languages=recorded & set(stored))
    owed = sorted(recorded - set(stored))
    context = await message_context_for_stored(message=message) if owed else None
    filled = await asyncio.gather(
        *(
            message_translation_fill(
                message=message, language=language, delivery=delivery, context=context
            )
            for language in owed
        )
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


ON_DEMAND_CONCURRENCY = 8


async def messages_in_language(
    *,
    messages: list[Message],
    language: str,
    delivery: TranslationsDelivery,
    reader_id: str | None = None,
) -> list[Message]:
    """Make sure each message has a translation for `language`, translating on demand the
    ones written before this reader had that language (or whose translation failed at send);
    each is handed to `delivery` to be stored, so it happens once. A message is asked for only on its turn (one attempt
    per back-off period whoever reads, see `translation_turn_take`): one whose turn it is not,
    or whose translation fails this time, is returned untranslated."""
    owed = [
        message
        for message in messages
        if message.original_language != language
        and not message_deleted(message)  # a tombstone has no text
        and message.from_user_id != reader_id  # its sender reads the original
        and message_translation_needed(message)
        and language not in map_as_dict(message.translations)
    ]
    if not owed:
        return messages
    limit = asyncio.Semaphore(ON_DEMAND_CONCURRENCY)
    # Each message's context comes from the page itself; the turns before the page are read
    # once for all of them.
    configured = translation_configured()
    known = (
        [*messages, *(await messages_before_page(messages=messages, owed=owed))]
        if configured
        else []
    )

    async def fill(message: Message) -> None:
        async with limit:
            context = (
                await message_context_for_stored(message=message, known=known)
                if configured
                else None
            )
            await message_translation_fill(
                message=message, language=language, delivery=delivery, context=context
            )

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


async def message_translation_fill(
    *,
    message: Message,
    language: str,
    delivery: TranslationsDelivery,
    context: MessageContext | None = None,
) -> bool:
    """Ask the provider for the message's translation into `language`, if it is this caller's
    turn (or take it from the shared short-text cache, with no turn); add it to `message` and
    hand it to `delivery` (stored, announced). False when it is not this caller's turn, or the
    provider could not translate it this time. `context`: the message's
    (translation_context.message_context_for_stored), read here when not given."""
    if not translation_configured():
        # Nothing is asked, so nothing counts against the attempts: once a key is set, the
        # owed translations are made.
        return False
    if context is None:
        context = await message_context_for_stored(message=message)
    request_context = context.for_target(language)
    cached = None
    if short_translation_shared(
        text=message.original_text,
        source=message.original_language,
        target=language,
        context=request_context,
    ):
        cached = await short_translation_cached(
            text=message.original_text, source=message.original_language, target=language
        )
        request_context = NO_CONTEXT  # the cache's to share: shaped by no chat's turns
    if cached is not None:
        text = cached
    else:
        if not await translation_turn_take(message_id=message.message_id, language=language):
            return False
        try:
            text = await translate_text(
                text=message.original_text,
                source_language=message.original_language,
                target_language=language,
                context=request_context,
            )
        except TranslationUnavailable:
            return False
        await short_translation_keep(
            text=message.original_text,
            source=message.original_language,
            target=language,
            translation=text,
            context=request_context,
        )
    if not sending.translation_fits(message=message, text=text):
        logger.warning(
            "translation into %s does not fit in a message in chat %s; not stored",
            language,
            message.chat_id,
        )
        return False
    translations = map_as_dict(message.translations)
    translations[language] = text
    message.translations = translations
    await delivery.store_and_announce(message=message, translations={language: text})
    return True

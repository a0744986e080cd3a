"""The durable record of owed translations (the `owed_translations` table), and its schedule.

A message stored without the translation into some member language (the provider failed or
was slow at send, the reply was refused, or the chat gained a language meanwhile) is written
in one transaction with an `OwedTranslation` item naming those languages, due after the first
back-off. Whichever instance is alive works it off (apps/chats/owed_sweeper.py, and the
sending instance for the first seconds): it claims the item by moving `due_at` to the end of
a lease on condition that the item is due, so two instances never hold it at once and one
that dies mid-attempt leaves it due again when the lease ends. An attempt is counted when
claimed; after it the holder deletes the item (translations stored, or attempts used up) or
sets the next due time on the back-off schedule. Each of those is conditional on the claim
still being the holder's, so a holder whose lease ran out changes nothing.

Everything here is synchronous PynamoDB work; async callers use `run_blocking`.
"""

from __future__ import annotations

import time
import uuid
import zlib
from datetime import datetime

from django.conf import settings
from pynamodb.exceptions import DeleteError, UpdateError
from pynamodb.expressions.update import Action

from apps.chats.models import SEQ_DIGITS, OwedTranslation

# Waits between attempts at an owed translation (times TRANSLATION_RETRY_SCALE), the first
# after the send's own attempt: 1 + 11 attempts over about 15 minutes.
RETRY_DELAYS_SECONDS = (1, 2, 4, 8, 15, 30, 60, 60, 120, 300, 300)
OWED_TRANSLATION_MAX_ATTEMPTS = 1 + len(RETRY_DELAYS_SECONDS)
# Partitions the records are spread over. A sweep is one Query per shard; more shards spread
# a long provider outage's writes over more partitions.
OWED_SHARDS = 4


def owed_retry_delay(attempt: int) -> float:
    """The wait in seconds after the `attempt`-th attempt (1 is the send's) before the next."""
    index = min(max(attempt, 1), len(RETRY_DELAYS_SECONDS)) - 1
    return RETRY_DELAYS_SECONDS[index] * settings.TRANSLATION_RETRY_SCALE


def owed_claim_lease() -> float:
    """How long a claim keeps an item from everyone else: well past the translation's own
    time limit, so an item is taken over only from a holder that has stopped (or is stuck
    storing; the turn in the key-value store still spaces the provider calls)."""
    return 3 * settings.TRANSLATION_TIMEOUT_SECONDS


def _milliseconds(moment: float) -> int:
    return int(moment * 1000)


def owed_translation_key(*, chat_id: str, seq: int) -> tuple[str, str]:
    """(shard, message_key) of a message's record."""
    message_key = f"{chat_id}#{seq:0{SEQ_DIGITS}d}"
    return str(zlib.crc32(message_key.encode()) % OWED_SHARDS), message_key


def owed_translation_new(
    *, chat_id: str, seq: int, languages: set[str], created_at: datetime
) -> OwedTranslation:
    """The record of a message about to be stored lacking `languages`, due after the back-off
    that follows the send's own attempt."""
    shard, message_key = owed_translation_key(chat_id=chat_id, seq=seq)
    return OwedTranslation(
        shard,
        message_key,
        due_at=_milliseconds(time.time() + owed_retry_delay(1)),
        chat_id=chat_id,
        seq=seq,
        languages=set(languages),
        attempts=1,
        created_at=created_at,
    )


def owed_translations_due(*, shard: str, limit: int) -> list[OwedTranslation]:
    """Up to `limit` records of one shard that are due now, the longest overdue first."""
    now = _milliseconds(time.time())
    return list(OwedTranslation.due_index.query(shard, OwedTranslation.due_at <= now, limit=limit))


def owed_translation_get(*, chat_id: str, seq: int) -> OwedTranslation | None:
    shard, message_key = owed_translation_key(chat_id=chat_id, seq=seq)
    try:
        return OwedTranslation.get(shard, message_key, consistent_read=True)
    except OwedTranslation.DoesNotExist:
        return None


def _condition_failed(error: UpdateError | DeleteError) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def owed_translation_claim(*, shard: str, message_key: str) -> OwedTranslation | None:
    """Take the record for one attempt, counting it, if it is due (nobody holds it, or the
    holder's lease has run out). None when it is not due, or gone."""
    now = time.time()
    record = OwedTranslation(shard, message_key)
    token = uuid.uuid4().hex
    try:
        record.update(
            actions=[
                OwedTranslation.due_at.set(_milliseconds(now + owed_claim_lease())),
                OwedTranslation.attempts.add(1),
                OwedTranslation.claim.set(token),
            ],
            condition=OwedTranslation.due_at <= _milliseconds(now),
        )
    except UpdateError as error:
        if _condition_failed(error):
            return None
        raise
    return record


def owed_translation_reschedule(*, record: OwedTranslation, due: float, attempt_back: bool) -> bool:
    """Let go of a claimed record, due again at `due` (seconds since the epoch). With
    `attempt_back`, the claim's attempt is not counted (it never reached the provider).
    False when the claim was no longer the holder's."""
    actions: list[Action] = [
        OwedTranslation.due_at.set(_milliseconds(due)),
        OwedTranslation.claim.remove(),
    ]
    if attempt_back:
        actions.append(OwedTranslation.attempts.add(-1))
    try:
        record.update(actions=actions, condition=OwedTranslation.claim == record.claim)
    except UpdateError as error:
        if _condition_failed(error):
            return False
        raise
    return True


def owed_translation_settle(*, record: OwedTranslation) -> bool:
    """Delete a claimed record: nothing more is owed, or the attempts are used up. False when
    the claim was no longer the holder's (the new holder settles it)."""
    try:
        record.delete(condition=OwedTranslation.claim == record.claim)
    except DeleteError as error:
        if _condition_failed(error):
            return False
        raise
    return True

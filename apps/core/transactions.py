"""DynamoDB transactions, and the one policy for a write that meets another in flight.

DynamoDB cancels a transaction (reason `TransactionConflict`) or refuses a single-item write
(`TransactionConflictException`) while another transaction holds the same item. That one
ends within milliseconds, so the write is tried again after a short random wait, a little
longer each time, up to `CONFLICT_RETRY_ATTEMPTS` attempts in all: under heavy contention on
one chat a write may need several. Every retry loop over such conflicts uses this policy.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

CONFLICT_RETRY_ATTEMPTS = 50
# The random wait before the next attempt is this range times the attempt number, up to
# CONFLICT_BACKOFF_GROWTH_MAX times.
CONFLICT_BACKOFF_SECONDS = (0.002, 0.01)
CONFLICT_BACKOFF_GROWTH_MAX = 10

T = TypeVar("T")


def conflict_backoff(*, attempt: int) -> None:
    """Wait after the failed `attempt` (0 for the first) for the conflicting one to end.
    Random, so two writers that collided do not collide again."""
    low, high = CONFLICT_BACKOFF_SECONDS
    time.sleep(random.uniform(low, high) * min(attempt + 1, CONFLICT_BACKOFF_GROWTH_MAX))


def conflict_retry(operation: Callable[[], T], *, conflicted: Callable[[Exception], bool]) -> T:
    """`operation()`, again after `conflict_backoff` while it raises an error that
    `conflicted` says is only a conflict; the last attempt's error is raised."""
    for attempt in range(CONFLICT_RETRY_ATTEMPTS):
        try:
            return operation()
        except Exception as error:
            if not conflicted(error) or attempt + 1 == CONFLICT_RETRY_ATTEMPTS:
                raise
            conflict_backoff(attempt=attempt)
    raise AssertionError("unreachable")  # the last attempt returns or raises


def transaction_cancellation_codes(error: TransactWriteError) -> list[str | None]:
    """Each item's reason for a cancelled transaction, in the order the items were written
    (None for an item that was not at fault)."""
    return [
        reason.code if reason is not None else None for reason in error.cancellation_reasons or []
    ]


def transaction_conflicted(error: Exception) -> bool:
    """A transaction cancelled only because another was in flight: nothing it asked for was
    refused, so trying again can succeed."""
    if not isinstance(error, TransactWriteError):
        return False
    codes = transaction_cancellation_codes(error)
    return "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes


def update_conflicted(error: Exception) -> bool:
    """A single-item write refused because a transaction holds the item."""
    return getattr(error, "cause_response_code", None) == "TransactionConflictException"


def transaction_write(*, connection: Connection, write: Callable[[TransactWrite], None]) -> None:
    """Run `write(transaction)` as one transaction, again while DynamoDB cancels it only for
    a conflict with another transaction in flight on the same items."""

    def attempt() -> None:
        with TransactWrite(connection=connection) as transaction:
            write(transaction)

    conflict_retry(attempt, conflicted=transaction_conflicted)

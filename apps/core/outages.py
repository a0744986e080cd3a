"""Telling an outage of what we depend on (Redis, DynamoDB) from a bug.

An outage is answered as a wait (REST: 503 with `Retry-After`; a socket handshake: close code
4503, which clients retry), never as a 500, because waiting is what fixes it. Anything else
unexpected is still a bug and still a 500 with a logged traceback.
"""

from __future__ import annotations

import botocore.exceptions
import redis.exceptions
from pynamodb.exceptions import PynamoDBException

UNAVAILABLE_DETAIL = "The service is briefly unavailable; try again in a moment"
UNAVAILABLE_RETRY_AFTER_SECONDS = 2
# DynamoDB's answers that mean "not now" rather than "not this request".
DYNAMODB_TRANSIENT_CODES = frozenset(
    {
        "InternalServerError",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ThrottlingException",
    }
)
_TRANSPORT_FAILURES = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
)


def outage_caused(error: BaseException) -> bool:
    """True when `error`, or what caused it, is a dependency being down, slow or throttling."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _TRANSPORT_FAILURES):
            return True
        if isinstance(current, PynamoDBException):
            if _response_code(current) in DYNAMODB_TRANSIENT_CODES:
                return True
            cause = getattr(current, "cause", None)
            if isinstance(cause, BaseException) and id(cause) not in seen:
                current = cause
                continue
        current = current.__cause__ or current.__context__
    return False


def _response_code(error: PynamoDBException) -> str | None:
    """DynamoDB's error code behind a PynamoDB error. (PynamoDB's own `cause_response_code`
    fails on a cause whose `response` is None, as a botocore read timeout's is.)"""
    response = getattr(error.cause, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None

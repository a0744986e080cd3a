"""Per-subject limits on how often something may happen, shared by every instance.

Each limit is a sliding window: at most `count` hits in any `window_seconds`, counted in the
shared key-value store (Redis across instances). A refused hit is not counted, so a client
that waits as told by `Retry-After` gets through, however long it kept trying before.

    SEND = RateLimit(name="send", count=30, window_seconds=10, detail="too many messages")
    await rate_limit_hit(limit=SEND, subject=user.user_id)   # raises RateLimited (429)
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.core.errors import RateLimited
from apps.core.keyvalue import keyvalue_store

KEY_PREFIX = "rl:"


@dataclass(frozen=True)
class RateLimit:
    name: str
    count: int
    window_seconds: float
    # What the client is told: "<detail>; try again in N seconds".
    detail: str


async def rate_limit_hit(*, limit: RateLimit, subject: str) -> None:
    """Count one hit for `subject`, or raise RateLimited (429) with how long to wait."""
    wait_seconds = await keyvalue_store().sliding_window_hit(
        f"{KEY_PREFIX}{limit.name}:{subject}",
        limit=limit.count,
        window_seconds=limit.window_seconds,
    )
    if wait_seconds > 0:
        error = RateLimited(limit.detail, retry_after=wait_seconds)
        error.detail = f"{limit.detail}; try again in {error.retry_after} seconds"
        raise error

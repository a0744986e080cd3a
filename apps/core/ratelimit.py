"""Per-subject limits on how often something may happen, shared by every instance.

Each limit is a sliding window: at most `count` hits in any `window_seconds`, counted in the
shared key-value store (Redis across instances). A refused hit is not counted, so a client
that waits as told by `Retry-After` gets through, however long it kept trying before.

    SEND = RateLimit(name="send", count=30, window_seconds=10, detail="too many messages")
    await rate_limit_hit(limit=SEND, subject=user.user_id)   # raises RateLimited (429)

A limit set in Django settings as `<SETTING>_COUNT` and `<SETTING>_WINDOW_SECONDS` is built
when it is used (so a test's or an operator's change applies at once):

    rate_limit_from_settings(name="send", setting="MESSAGE_RATE_LIMIT",
                             detail="too many messages: at most {count} every {window_seconds} seconds")

or declared once as a `SettingsRateLimit` with the same fields and hit like any other limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

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


def rate_limit_from_settings(
    *, name: str, setting: str, detail: str, window_setting: str | None = None
) -> RateLimit:
    """The limit whose count is the setting `<setting>_COUNT` and whose window is
    `<window_setting or setting>_WINDOW_SECONDS`, read now. `detail` may name `{count}` and
    `{window_seconds}`."""
    count = getattr(settings, f"{setting}_COUNT")
    window_seconds = getattr(settings, f"{window_setting or setting}_WINDOW_SECONDS")
    return RateLimit(
        name=name,
        count=count,
        window_seconds=window_seconds,
        detail=detail.format(count=count, window_seconds=window_seconds),
    )


@dataclass(frozen=True)
class SettingsRateLimit:
    """A limit whose numbers are settings, read at each hit (rate_limit_from_settings)."""

    name: str
    setting: str
    detail: str
    window_setting: str | None = None


async def rate_limit_hit(*, limit: RateLimit | SettingsRateLimit, subject: str) -> None:
    """Count one hit for `subject`, or raise RateLimited (429) with how long to wait."""
    if isinstance(limit, SettingsRateLimit):
        limit = rate_limit_from_settings(
            name=limit.name,
            setting=limit.setting,
            detail=limit.detail,
            window_setting=limit.window_setting,
        )
    wait_seconds = await keyvalue_store().sliding_window_hit(
        f"{KEY_PREFIX}{limit.name}:{subject}",
        limit=limit.count,
        window_seconds=limit.window_seconds,
    )
    if wait_seconds > 0:
        error = RateLimited(limit.detail, retry_after=wait_seconds)
        error.detail = f"{limit.detail}; try again in {error.retry_after} seconds"
        raise error

"""How often one user may make voice cost something: ring people, take push-to-talk turns,
have voice notes transcribed, and have messages read aloud (settings "Voice: per-user
limits"). Each is a sliding window in Redis (apps.core.ratelimit), shared by every instance;
over it, RateLimited (429) carries how long to wait.

Each check is made before anything is written, rung or bought, so a refused request leaves
no trace but the refusal.
"""

from __future__ import annotations

from django.conf import settings

from apps.core.ratelimit import RateLimit, rate_limit_hit

DAY_SECONDS = 86400


def _limit(name: str, count: int, window_seconds: int, what: str) -> RateLimit:
    return RateLimit(
        name=name,
        count=count,
        window_seconds=window_seconds,
        detail=f"too many {what}: at most {count} every {window_seconds} seconds",
    )


async def call_start_limit_check(*, user_id: str) -> None:
    await rate_limit_hit(
        limit=_limit(
            "call_start",
            settings.VOICE_CALL_START_LIMIT_COUNT,
            settings.VOICE_CALL_START_LIMIT_WINDOW_SECONDS,
            "calls",
        ),
        subject=user_id,
    )


async def chat_call_start_limit_check(*, chat_id: str) -> None:
    """Several accounts together cannot ring a chat's members more often than this. Check it
    only once the caller is known to be a member, so outsiders cannot use up a chat's calls."""
    await rate_limit_hit(
        limit=_limit(
            "chat_call_start",
            settings.VOICE_CHAT_CALL_START_LIMIT_COUNT,
            settings.VOICE_CHAT_CALL_START_LIMIT_WINDOW_SECONDS,
            "calls in this chat",
        ),
        subject=chat_id,
    )


async def turn_start_limit_check(*, user_id: str) -> None:
    await rate_limit_hit(
        limit=_limit(
            "turn_start",
            settings.VOICE_TURN_START_LIMIT_COUNT,
            settings.VOICE_TURN_START_LIMIT_WINDOW_SECONDS,
            "push-to-talk turns",
        ),
        subject=user_id,
    )


async def voice_note_limit_check(*, user_id: str) -> None:
    await rate_limit_hit(
        limit=_limit(
            "voice_note",
            settings.VOICE_NOTE_LIMIT_COUNT,
            settings.VOICE_NOTE_LIMIT_WINDOW_SECONDS,
            "voice notes",
        ),
        subject=user_id,
    )


async def speech_limit_check(*, user_id: str) -> None:
    """Every request for message audio, cached or not."""
    await rate_limit_hit(
        limit=_limit(
            "speech",
            settings.VOICE_SPEECH_LIMIT_COUNT,
            settings.VOICE_SPEECH_LIMIT_WINDOW_SECONDS,
            "audio requests",
        ),
        subject=user_id,
    )


async def speech_synthesis_limit_check(*, user_id: str) -> None:
    """Only what is bought: a request that needs a new synthesis (not cached, none under
    way). Bounds a reader's speech bill at this many messages a day."""
    await rate_limit_hit(
        limit=_limit(
            "speech_synthesis",
            settings.VOICE_SPEECH_DAILY_LIMIT_COUNT,
            DAY_SECONDS,
            "audio syntheses today",
        ),
        subject=user_id,
    )

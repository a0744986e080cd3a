"""Presence: whether a user is online, and when they were last seen, shared by every
instance through the key-value store (Redis).

Online means at least one open socket on any instance. That is the socket leases the chat
socket already keeps (`wsocks:<user_id>`, a sorted set of socket channel names scored by
when each lease runs out, renewed every SOCKET_RECHECK_SECONDS): a user is online while one
of them has not run out, so an instance that dies takes its sockets offline by itself within
a lease (2.5 re-check periods), and online costs no command of its own.

Keys of its own (apps/core/keyvalue.py runs each step as one script):
- `presence:seen:<user_id>`: when the user's last socket closed (epoch ms), kept
  LAST_SEEN_TTL_SECONDS (30 days). Written when a socket closes and no live lease is left,
  or, for sockets of an instance that died, by a watcher that saw the user online and finds
  no live lease now (last seen then).
- `presence:watchers:<user_id>`: the sockets watching the user (an open chat they share),
  a sorted set scored by when each registration runs out; each watcher renews its own every
  re-check period and removes it when it stops watching. While it is absent nothing about
  the user is published.

Both go when the account is deleted (`presence_forget`, called by the deletion and by the
close of each of the person's sockets; watchers stop watching on `presence.gone`).

Changes go to the channel-layer group `presence.<user_id>`, which only watching sockets
join, as the event `presence.changed` (apps/accounts/presence_events.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from apps.accounts.protocol import PresenceFrame
from apps.core.keyvalue import PresenceTarget, keyvalue_store, socket_lease_key

PRESENCE_SEEN_KEY_PREFIX = "presence:seen:"
PRESENCE_WATCHERS_KEY_PREFIX = "presence:watchers:"
LAST_SEEN_TTL_SECONDS = 30 * 24 * 3600
# A watcher's registration outlives this many re-check periods without renewal.
WATCH_PERIODS = 2.5


def presence_group(user_id: str) -> str:
    """The channel-layer group of the sockets watching `user_id`."""
    return f"presence.{user_id}"


def _seen_key(user_id: str) -> str:
    return f"{PRESENCE_SEEN_KEY_PREFIX}{user_id}"


def _watchers_key(user_id: str) -> str:
    return f"{PRESENCE_WATCHERS_KEY_PREFIX}{user_id}"


def now_ms() -> int:
    return int(time.time() * 1000)


def presence_refresh_seconds() -> float:
    """How often a watching socket renews its registrations and looks again."""
    return float(settings.SOCKET_RECHECK_SECONDS)


@dataclass(frozen=True)
class PresenceState:
    user_id: str
    online: bool
    # Epoch ms; None while unknown.
    last_seen_ms: int | None
    # The user's own switch: False hides both from everyone else.
    visible: bool


def presence_frame(*, state: PresenceState, viewer_visible: bool) -> PresenceFrame:
    """What a watcher sees of `state`: nothing of a hidden user; no last seen while online,
    nor for a watcher who hides their own (as WhatsApp does)."""
    online = state.visible and state.online
    show_seen = state.visible and viewer_visible and not online and state.last_seen_ms is not None
    return {
        "type": "presence",
        "user_id": state.user_id,
        "online": online,
        "last_seen": (
            datetime.fromtimestamp(state.last_seen_ms / 1000, tz=UTC).isoformat()
            if show_seen and state.last_seen_ms is not None
            else None
        ),
    }


async def presence_arrive(*, user_id: str) -> tuple[int, bool]:
    """After a socket of the user took its lease: (live sockets, anyone watching)."""
    return await keyvalue_store().presence_arrive(
        lease_key=socket_lease_key(user_id), watchers_key=_watchers_key(user_id)
    )


async def presence_leave(*, user_id: str) -> tuple[int, bool]:
    """After a socket of the user gave up its lease: (live sockets left, anyone watching).
    With none left, the user is last seen now."""
    return await keyvalue_store().presence_leave(
        lease_key=socket_lease_key(user_id),
        seen_key=_seen_key(user_id),
        watchers_key=_watchers_key(user_id),
        seen_ttl_seconds=LAST_SEEN_TTL_SECONDS,
    )


async def presence_last_seen(*, user_id: str) -> int | None:
    seen = await keyvalue_store().get(_seen_key(user_id))
    return int(seen) if seen is not None else None


async def presence_look(
    *, watcher: str, observed_online_ms: dict[str, int]
) -> dict[str, tuple[bool, int | None]]:
    """Register `watcher` (a socket's channel name) as watching each user of
    `observed_online_ms` (user id -> when this watcher last saw them online, 0 never) and read
    their state: user id -> (online, last seen ms)."""
    user_ids = list(observed_online_ms)
    states = await keyvalue_store().presence_look(
        targets=[
            PresenceTarget(
                watchers_key=_watchers_key(user_id),
                lease_key=socket_lease_key(user_id),
                seen_key=_seen_key(user_id),
                observed_online_ms=observed_online_ms[user_id],
            )
            for user_id in user_ids
        ],
        watcher=watcher,
        watch_ttl_seconds=presence_refresh_seconds() * WATCH_PERIODS,
        seen_ttl_seconds=LAST_SEEN_TTL_SECONDS,
    )
    return {
        user_id: (live > 0, seen) for user_id, (live, seen) in zip(user_ids, states, strict=True)
    }


async def presence_unwatch(*, watcher: str, user_ids: list[str]) -> None:
    await keyvalue_store().presence_unwatch(
        watchers_keys=[_watchers_key(user_id) for user_id in user_ids], watcher=watcher
    )


async def presence_forget(*, user_id: str) -> None:
    """Delete the user's presence keys (their account was deleted): when they were last seen,
    and who watched them."""
    await keyvalue_store().delete(_seen_key(user_id), _watchers_key(user_id))

"""The presence use cases: a socket opened or closed, a user changed their switch. Each
writes (or reads) the shared state (apps/accounts/presence.py), then publishes only when
someone watches the user: while nobody does, a socket's open and close cost one script
each and publish nothing.
"""

from __future__ import annotations

from apps.accounts import presence_events
from apps.accounts.models import User
from apps.accounts.presence import (
    PresenceState,
    now_ms,
    presence_arrive,
    presence_last_seen,
    presence_leave,
)
from apps.accounts.selectors import user_presence_visible


async def do_presence_arrive(*, user: User) -> None:
    """A socket of the user is open (its lease taken): the user is online. A hidden user
    costs nothing."""
    if not user_presence_visible(user=user):
        return
    _, watched = await presence_arrive(user_id=user.user_id)
    if watched:
        await presence_events.presence_changed_broadcast(
            state=PresenceState(user_id=user.user_id, online=True, last_seen_ms=None, visible=True)
        )


async def do_presence_leave(*, user: User) -> None:
    """A socket of the user closed (its lease given up): with none left, the user is offline
    and last seen now (recorded even while hidden, for when they show it again)."""
    left_at = now_ms()
    live, watched = await presence_leave(user_id=user.user_id)
    if live == 0 and watched and user_presence_visible(user=user):
        await presence_events.presence_changed_broadcast(
            state=PresenceState(
                user_id=user.user_id, online=False, last_seen_ms=left_at, visible=True
            )
        )


async def do_presence_visibility_announce(*, user: User) -> None:
    """The user switched presence on or off: their current watchers see it at once."""
    live, watched = await presence_arrive(user_id=user.user_id)
    if not watched:
        return
    await presence_events.presence_changed_broadcast(
        state=PresenceState(
            user_id=user.user_id,
            online=live > 0,
            last_seen_ms=await presence_last_seen(user_id=user.user_id),
            visible=user_presence_visible(user=user),
        )
    )

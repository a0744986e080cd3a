"""The presence side of a chat socket: `presence_watch` and `presence_unwatch` frames, the
`presence.changed` events of the users it watches, and the socket's own arrival and leaving.

A socket watches one chat at a time (a new watch replaces the last): it joins the group
`presence.<user_id>` of each other member (through the Redis channel layer, so a change on
any instance reaches it), registers itself as their watcher in Redis, and answers with one
`presence` frame per member. While watching it renews those registrations every
SOCKET_RECHECK_SECONDS and looks again, so a member whose instance died (no close, their
lease runs out) turns offline here too. The state itself is apps/accounts/presence.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from channels.layers import get_channel_layer

from apps.accounts.models import User
from apps.accounts.presence import (
    PresenceState,
    now_ms,
    presence_forget,
    presence_frame,
    presence_group,
    presence_look,
    presence_refresh_seconds,
    presence_unwatch,
)
from apps.accounts.presence_actions import do_presence_arrive, do_presence_leave
from apps.accounts.protocol import PresenceFrame
from apps.accounts.selectors import user_presence_visible
from apps.chats.presence import presence_watch_members
from apps.core.concurrency import run_blocking
from apps.core.outages import outage_caused
from apps.core.ratelimit import SettingsRateLimit, rate_limit_hit
from apps.realtime.frames import Frame, frame_chat_id

logger = logging.getLogger(__name__)

WATCH_LIMIT = SettingsRateLimit(
    name="presence_watch",
    setting="PRESENCE_WATCH_RATE_LIMIT",
    detail="too many presence watches: at most {count} every {window_seconds} seconds",
)

Handler = Callable[[Frame], Awaitable[None]]


@dataclass
class _Watched:
    state: PresenceState
    # When this socket last knew them online (epoch ms, 0 never): if they are found offline
    # with an older last seen, their instance died and they were last seen then.
    observed_online_ms: int
    # The frame last sent for them, so a look that changes nothing sends nothing.
    sent: PresenceFrame | None = None


class PresenceSocket:
    def __init__(
        self,
        *,
        user: Callable[[], User],
        channel_name: str,
        send_json: Callable[[Mapping[str, object]], Awaitable[None]],
    ) -> None:
        self._user = user
        self._channel_name = channel_name
        self._send_json = send_json
        self.chat_id: str | None = None
        self.watched: dict[str, _Watched] = {}
        self._viewer_visible = True
        self._refresh: asyncio.Task | None = None
        # One watch or unwatch at a time, so groups joined match `watched`.
        self._lock = asyncio.Lock()

    def frame_handlers(self) -> dict[str, Handler]:
        return {"presence_watch": self.on_watch, "presence_unwatch": self.on_unwatch}

    # --- The socket's own presence -------------------------------------------------------------

    async def arrive(self) -> None:
        """The socket is open: tell its user's watchers (if any). A failure costs only that."""
        self._viewer_visible = user_presence_visible(user=self._user())
        try:
            await do_presence_arrive(user=self._user())
        except Exception as error:
            _failure_log("announcing a socket's user online failed", error)

    async def leave(self, *, account_deleted: bool = False) -> None:
        """The socket closed (its lease given up): stop watching; with no socket left, its user
        is offline. For a deleted account, their presence is forgotten instead (this close
        may come after the deletion forgot it)."""
        if self._refresh is not None:
            self._refresh.cancel()
        try:
            await self._watch_end()
        except Exception as error:
            _failure_log("ending a presence watch failed; the registrations lapse", error)
        try:
            if account_deleted:
                await presence_forget(user_id=self._user().user_id)
            else:
                await do_presence_leave(user=self._user())
        except Exception as error:
            _failure_log("announcing a socket's user offline failed", error)

    # --- Frames ---------------------------------------------------------------------------------

    async def on_watch(self, frame: Frame) -> None:
        chat_id = frame_chat_id(frame)
        await rate_limit_hit(limit=WATCH_LIMIT, subject=self._user().user_id)
        members = await run_blocking(presence_watch_members)(user=self._user(), chat_id=chat_id)
        async with self._lock:
            await self._watch_end(keep=set(members))
            layer = get_channel_layer()
            for user_id in members:
                if user_id not in self.watched:
                    await layer.group_add(presence_group(user_id), self._channel_name)
            # Joined before the look: a change from here on reaches this socket.
            self.chat_id = chat_id
            previous = self.watched
            self.watched = {
                user_id: _Watched(
                    state=PresenceState(
                        user_id=user_id, online=False, last_seen_ms=None, visible=visible
                    ),
                    observed_online_ms=(
                        previous[user_id].observed_online_ms if user_id in previous else 0
                    ),
                )
                for user_id, visible in members.items()
            }
            await self._look(resend=True)
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.get_running_loop().create_task(self._refresh_periodically())

    async def on_unwatch(self, frame: Frame) -> None:
        async with self._lock:
            await self._watch_end()

    # --- Events and the periodic look ----------------------------------------------------------

    async def on_changed(self, event: Mapping[str, object]) -> None:
        user_id = event.get("user_id")
        watched = self.watched.get(user_id) if isinstance(user_id, str) else None
        if watched is None or not isinstance(user_id, str):
            return
        online = event.get("online") is True
        last_seen_ms = event.get("last_seen_ms")
        watched.state = PresenceState(
            user_id=user_id,
            online=online,
            last_seen_ms=last_seen_ms if isinstance(last_seen_ms, int) else None,
            visible=event.get("visible") is not False,
        )
        if online:
            watched.observed_online_ms = now_ms()
        await self._send(watched)

    async def on_gone(self, event: Mapping[str, object]) -> None:
        """A watched user's account was deleted: stop watching them, and show them offline
        and never seen."""
        user_id = event.get("user_id")
        if not isinstance(user_id, str):
            return
        async with self._lock:
            watched = self.watched.get(user_id)
            if watched is None:
                return
            await self._watch_end(keep=set(self.watched) - {user_id})
            watched.state = PresenceState(
                user_id=user_id, online=False, last_seen_ms=None, visible=False
            )
            await self._send(watched)

    async def viewer_refreshed(self) -> None:
        """The socket's user re-read (a profile change): a new switch changes what it sees."""
        visible = user_presence_visible(user=self._user())
        if visible == self._viewer_visible:
            return
        self._viewer_visible = visible
        for watched in list(self.watched.values()):
            await self._send(watched)

    async def _refresh_periodically(self) -> None:
        while True:
            await asyncio.sleep(presence_refresh_seconds())
            if not self.watched:
                return
            try:
                async with self._lock:
                    await self._look(resend=False)
            except Exception as error:
                _failure_log("renewing a presence watch failed; trying again later", error)

    async def _look(self, *, resend: bool) -> None:
        looked = await presence_look(
            watcher=self._channel_name,
            observed_online_ms={
                user_id: watched.observed_online_ms for user_id, watched in self.watched.items()
            },
        )
        moment = now_ms()
        for user_id, (online, last_seen_ms) in looked.items():
            watched = self.watched[user_id]
            watched.state = PresenceState(
                user_id=user_id,
                online=online,
                last_seen_ms=last_seen_ms,
                visible=watched.state.visible,
            )
            if online:
                watched.observed_online_ms = moment
            if resend:
                watched.sent = None
            await self._send(watched)

    async def _send(self, watched: _Watched) -> None:
        frame = presence_frame(state=watched.state, viewer_visible=self._viewer_visible)
        if frame == watched.sent:
            return
        watched.sent = frame
        await self._send_json(frame)

    async def _watch_end(self, *, keep: set[str] | frozenset[str] = frozenset()) -> None:
        """Stop watching everyone but `keep`: leave their groups and registrations."""
        dropped = [user_id for user_id in self.watched if user_id not in keep]
        if not keep:
            self.chat_id = None
        for user_id in dropped:
            self.watched.pop(user_id, None)
        if not dropped:
            return
        layer = get_channel_layer()
        for user_id in dropped:
            with contextlib.suppress(Exception):
                await layer.group_discard(presence_group(user_id), self._channel_name)
        await presence_unwatch(watcher=self._channel_name, user_ids=dropped)


def _failure_log(what: str, error: Exception) -> None:
    if outage_caused(error):
        logger.warning("%s: a dependency is unavailable (%s)", what, type(error).__name__)
    else:
        logger.error("%s", what, exc_info=error)

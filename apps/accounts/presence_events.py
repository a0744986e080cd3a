"""The presence broadcast: to the sockets watching a user (group `presence.<user_id>`,
apps/accounts/presence.py), never a frame as such.

| event              | when | carries |
|--------------------|------|---------|
| `presence.changed` | a watched user came online, went offline, or changed their switch | `user_id`, `online`, `last_seen_ms`, `visible`: each watching socket makes its own `presence` frame (what it may see) |
| `presence.gone`    | the watched user's account was deleted | `user_id`: each watching socket stops watching them (so no renewal brings their keys back) and sends them offline, never seen |
"""

from __future__ import annotations

from channels.layers import get_channel_layer

from apps.accounts.presence import PresenceState, presence_group

PRESENCE_CHANGED_HANDLER = "presence.changed"
PRESENCE_GONE_HANDLER = "presence.gone"


async def presence_changed_broadcast(*, state: PresenceState) -> None:
    await get_channel_layer().group_send(
        presence_group(state.user_id),
        {
            "type": PRESENCE_CHANGED_HANDLER,
            "user_id": state.user_id,
            "online": state.online,
            "last_seen_ms": state.last_seen_ms,
            "visible": state.visible,
        },
    )


async def presence_gone_broadcast(*, user_id: str) -> None:
    await get_channel_layer().group_send(
        presence_group(user_id), {"type": PRESENCE_GONE_HANDLER, "user_id": user_id}
    )

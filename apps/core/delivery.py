"""Sending to a user's sockets, wherever they are open.

Every socket of a user joins the group `user.<user_id>` (on whichever instance holds it), so
one group send reaches all of them. A frame for the client travels as a `chat.frame` event:
the socket's handler of that name writes it out as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from channels.layers import get_channel_layer

# The socket handler that writes a frame to the client.
FRAME_HANDLER = "chat.frame"


def user_group(user_id: str) -> str:
    return f"user.{user_id}"


async def frames_deliver(user_ids: Iterable[str], frame: Mapping[str, object]) -> None:
    """Send `frame` to every socket of each of `user_ids`, one group send per user. The frame's
    shape is one of the typed dicts of the apps' protocol modules (gathered in
    apps.realtime.protocol.ServerFrame)."""
    layer = get_channel_layer()
    for user_id in user_ids:
        await layer.group_send(user_group(user_id), {"type": FRAME_HANDLER, "frame": frame})


async def user_event_send(*, user_id: str, event: dict) -> None:
    """Send an event for the sockets themselves (never a frame) to every socket of the user."""
    await get_channel_layer().group_send(user_group(user_id), event)

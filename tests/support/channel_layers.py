"""A channel layer that records what is sent to groups, so a test can assert who receives
which frame without opening sockets."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from channels.layers import DEFAULT_CHANNEL_LAYER, InMemoryChannelLayer, channel_layers

from apps.core.delivery import FRAME_HANDLER, user_group


class RecordingChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.group_sends: list[tuple[str, dict]] = []

    async def group_send(self, group: str, message: dict) -> None:
        self.group_sends.append((group, message))
        await super().group_send(group, message)

    def frames_to(self, user_id: str, kind: str | None = None) -> list[dict]:
        """The chat frames sent to one user's sockets, in order; only `kind` when given."""
        return [
            message["frame"]
            for group, message in self.group_sends
            if group == user_group(user_id)
            and message["type"] == FRAME_HANDLER
            and (kind is None or message["frame"]["type"] == kind)
        ]

    def receivers(self, kind: str) -> list[str]:
        """The user ids a frame of `kind` went to, in order (a user twice if sent twice)."""
        prefix = user_group("")
        return [
            group.removeprefix(prefix)
            for group, message in self.group_sends
            if message["type"] == FRAME_HANDLER and message["frame"]["type"] == kind
        ]

    def events_to(self, user_id: str, handler: str) -> list[dict]:
        """Channel events for a user's sockets themselves (not frames), e.g. `voice.signal`."""
        return [
            message
            for group, message in self.group_sends
            if group == user_group(user_id) and message.get("type") == handler
        ]

    def chat_frames(self) -> list[dict]:
        return [
            message["frame"] for _, message in self.group_sends if message["type"] == FRAME_HANDLER
        ]


@contextlib.contextmanager
def recording_channel_layer() -> Iterator[RecordingChannelLayer]:
    """The default channel layer replaced by a recording one, for the block."""
    recording = RecordingChannelLayer()
    previous = channel_layers.set(DEFAULT_CHANNEL_LAYER, recording)
    try:
        yield recording
    finally:
        if previous is None:
            channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
        else:
            channel_layers.set(DEFAULT_CHANNEL_LAYER, previous)

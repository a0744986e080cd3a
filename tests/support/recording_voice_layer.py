"""A channel layer that remembers every group send: who an action told what, without
sockets. Point CHANNEL_LAYERS at `RecordingLayer` (the `recording_layer` fixture in
tests/voice/test_actions.py does) and read `sent`."""

from __future__ import annotations

from channels.layers import InMemoryChannelLayer

from apps.chats.events import FRAME_HANDLER, user_group


class RecordingLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sent: list[tuple[str, dict]] = []

    async def group_send(self, group: str, message: dict) -> None:
        self.sent.append((group, message))
        await super().group_send(group, message)

    def frames_to(self, user_id: str, kind: str | None = None) -> list[dict]:
        """The frames a user's sockets were sent, in order (of one type, if given)."""
        return [
            message["frame"]
            for group, message in self.sent
            if group == user_group(user_id)
            and message.get("type") == FRAME_HANDLER
            and (kind is None or message["frame"].get("type") == kind)
        ]

    def receivers(self, kind: str) -> set[str]:
        """Everyone sent a frame of this type."""
        return {
            group.removeprefix("user.")
            for group, message in self.sent
            if message.get("type") == FRAME_HANDLER and message["frame"].get("type") == kind
        }

    def events_to(self, user_id: str, handler: str) -> list[dict]:
        """Channel events for a user's sockets themselves (not frames), e.g. `voice.signal`."""
        return [
            message
            for group, message in self.sent
            if group == user_group(user_id) and message.get("type") == handler
        ]

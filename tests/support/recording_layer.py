"""A channel layer that remembers every group send, for tests of who receives what.

    settings.CHANNEL_LAYERS = RecordingChannelLayer.settings()
    layer = get_channel_layer()
    ...
    assert layer.frames_to(user_group(user.user_id)) == [{"type": "profile_updated", ...}]

It delivers like the in-memory layer too, so a socket joined to a group still gets its events.
"""

from __future__ import annotations

from channels.layers import InMemoryChannelLayer

from apps.core.delivery import FRAME_HANDLER


class RecordingChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # (group, message) in the order they were sent.
        self.sent: list[tuple[str, dict]] = []

    @staticmethod
    def settings() -> dict:
        return {"default": {"BACKEND": f"{__name__}.RecordingChannelLayer"}}

    async def group_send(self, group: str, message: dict) -> None:
        self.sent.append((group, message))
        await super().group_send(group, message)

    def groups_sent_to(self) -> list[str]:
        return [group for group, _ in self.sent]

    def events_to(self, group: str) -> list[dict]:
        return [message for sent_to, message in self.sent if sent_to == group]

    def frames_to(self, group: str) -> list[dict]:
        """The client frames sent to `group` (what its sockets write out)."""
        return [event["frame"] for event in self.events_to(group) if event["type"] == FRAME_HANDLER]

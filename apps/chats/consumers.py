"""The chat socket: one per browser tab, carrying every chat of its user."""

import json
import logging

from channels.generic.websocket import AsyncWebsocketConsumer

from apps.chats.selectors import chat_membership_exists
from apps.core.concurrency import run_blocking

logger = logging.getLogger(__name__)

# RFC 6455 "policy violation": what the client contract promises for a missing or bad token.
CLOSE_POLICY_VIOLATION = 1008


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.user = self.scope.get("user")
        # Accept before closing so the client sees the close code; a refused handshake
        # would only show an HTTP 403.
        await self.accept()
        if self.user is None:
            await self.close(code=CLOSE_POLICY_VIOLATION)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user is None:
            return
        try:
            frame = json.loads(text_data if text_data is not None else bytes_data or b"")
        except (UnicodeDecodeError, json.JSONDecodeError):
            await self._error("invalid JSON")
            return
        if not isinstance(frame, dict):
            await self._error("frame must be a JSON object")
            return
        chat_id = frame.get("chat_id")
        text = frame.get("text")
        if not isinstance(chat_id, str) or not chat_id:
            await self._error("chat_id is required")
            return
        if not isinstance(text, str):
            await self._error("text is required")
            return
        is_member = await run_blocking(chat_membership_exists)(
            user_id=self.user.user_id, chat_id=chat_id
        )
        if not is_member:
            await self._error("not a member of this chat")
            return
        await self._error("sending messages is not available yet")

    async def _error(self, detail: str) -> None:
        await self.send(text_data=json.dumps({"error": detail}))

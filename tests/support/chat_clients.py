"""Socket clients for chat tests, through Channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import json

from channels.testing import WebsocketCommunicator

from commonality.asgi import application
from tests.support.accounts import user_token


class ChatSocket:
    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.frames: list[dict] = []

    @classmethod
    async def open(cls, user) -> ChatSocket:
        communicator = WebsocketCommunicator(application, f"/api/ws/chat?token={user_token(user)}")
        connected, _ = await communicator.connect()
        assert connected
        return cls(communicator)

    async def send(self, frame: dict) -> None:
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def next(self, timeout: float = 5.0) -> dict:
        frame = json.loads(await self.communicator.receive_from(timeout=timeout))
        self.frames.append(frame)
        return frame

    async def wait_for(self, predicate, timeout: float = 5.0) -> dict:
        """The first frame (from now on) that satisfies `predicate`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no matching frame; saw {self.frames[-10:]}")
            try:
                frame = await self.next(timeout=remaining)
            except TimeoutError:
                raise AssertionError(f"no matching frame; saw {self.frames[-10:]}") from None
            if predicate(frame):
                return frame

    async def close(self) -> None:
        await self.communicator.disconnect()

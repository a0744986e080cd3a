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

    # --- Additions: connecting other ways, and reading without ending the socket ------------
    #
    # `next` and `wait_for` use WebsocketCommunicator.receive_from, which cancels the
    # application when it times out. The helpers below read the output queue directly, so a
    # quiet window (counting frames, checking that nothing else arrives) leaves the socket
    # open for the rest of the test.

    @classmethod
    async def attempt(
        cls, query: str, *, headers: list[tuple[bytes, bytes]] | None = None
    ) -> tuple[ChatSocket, bool, object]:
        """Connect with a query string (e.g. "?ticket=..."); returns (socket, connected, detail)
        where detail is the subprotocol when connected or the close code when refused."""
        communicator = WebsocketCommunicator(application, f"/api/ws/chat{query}", headers=headers)
        connected, detail = await communicator.connect(timeout=5)
        return cls(communicator), connected, detail

    async def receive_output(self, timeout: float) -> dict:
        """The next raw ASGI message from the consumer; raises TimeoutError, leaving it running."""
        communicator = self.communicator
        if communicator.future.done():
            communicator.future.result()  # raise what the consumer raised
        return await asyncio.wait_for(communicator.output_queue.get(), timeout)

    async def frame(self, timeout: float = 5.0) -> dict:
        """The next frame, without cancelling the consumer on timeout; a close is an error."""
        output = await self.receive_output(timeout)
        if output["type"] == "websocket.close":
            raise AssertionError(f"socket closed with code {output.get('code')}")
        assert output["type"] == "websocket.send", output
        frame = json.loads(output["text"])
        self.frames.append(frame)
        return frame

    async def until(self, predicate, timeout: float = 5.0) -> list[dict]:
        """Every frame (from now on) up to and including the first that satisfies `predicate`."""
        seen: list[dict] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                frame = await self.frame(timeout=remaining)
            except TimeoutError:
                raise AssertionError(f"no matching frame; saw {seen[-15:]}") from None
            seen.append(frame)
            if predicate(frame):
                return seen

    async def collect(self, seconds: float) -> list[dict]:
        """Every frame that arrives within `seconds`; the socket stays open."""
        frames: list[dict] = []
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return frames
            try:
                frames.append(await self.frame(timeout=remaining))
            except TimeoutError:
                return frames

    async def close_code(self, timeout: float = 5.0) -> int | None:
        """Wait for the consumer to close the socket; its close code (skipping data frames)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError("socket was not closed")
            try:
                output = await self.receive_output(remaining)
            except TimeoutError:
                raise AssertionError("socket was not closed") from None
            if output["type"] == "websocket.close":
                return output.get("code")

    async def ping(self, timeout: float = 5.0) -> None:
        """Round trip a ping: proves the socket is still open and answering."""
        await self.send({"type": "ping"})
        await self.until(lambda frame: frame.get("type") == "pong", timeout=timeout)

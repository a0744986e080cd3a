"""Socket clients for chat tests, through Channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import json
import uuid

from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from apps.chats.events import broadcasts_settle
from apps.core.background import background_tasks_settle
from apps.core.delivery import FRAME_HANDLER, user_group
from commonality.asgi import application
from tests.support.accounts import user_token

# The type of the marker frame `drain` sends itself through a user's group. The app sends no
# frame of this type; every socket of the user gets it, and every socket skips it.
DRAIN_MARKER_TYPE = "test_drain_marker"


def _is_drain_marker(frame) -> bool:
    return isinstance(frame, dict) and frame.get("type") == DRAIN_MARKER_TYPE


class ChatSocket:
    def __init__(self, communicator: WebsocketCommunicator, *, user_id: str | None = None) -> None:
        self.communicator = communicator
        self.frames: list[dict] = []
        # Whose socket it is, for `drain`; a socket opened with `attempt` has it set by hand.
        self.user_id = user_id

    @classmethod
    async def open(cls, user) -> ChatSocket:
        communicator = WebsocketCommunicator(application, f"/api/ws/chat?token={user_token(user)}")
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        return cls(communicator, user_id=user.user_id)

    async def send(self, frame: dict) -> None:
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def next(self, timeout: float = 5.0) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = max(0.0, deadline - asyncio.get_running_loop().time())
            frame = json.loads(await self.communicator.receive_from(timeout=remaining))
            if not _is_drain_marker(frame):
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
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            frame = await self._frame_or_marker(deadline - asyncio.get_running_loop().time())
            if not _is_drain_marker(frame):
                self.frames.append(frame)
                return frame

    async def _frame_or_marker(self, timeout: float) -> dict:
        output = await self.receive_output(max(0.0, timeout))
        if output["type"] == "websocket.close":
            raise AssertionError(f"socket closed with code {output.get('code')}")
        assert output["type"] == "websocket.send", output
        return json.loads(output["text"])

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

    async def drain(
        self, timeout: float = 5.0, *, after_background_tasks: bool = False
    ) -> list[dict]:
        """Every frame already on its way to this socket, in order, without waiting out a
        quiet window: a test that expects nothing (more) reads it here, and a frame the code
        under test should not have sent is in the list. The socket stays open.

        Two barriers, one after the other:
        1. A ping (its pong is not returned). The consumer handles this socket's frames and
           events one at a time, each to its end, so the pong comes after every reply and
           every broadcast that the frames sent before it awaited.
        2. A marker through the user's group (not returned either), published once this
           process's waiting `message` and `message_updated` frames have gone out
           (apps.chats.events.broadcasts_settle). The tests' channel layer is Redis pub/sub on
           one server, which passes publishes to a subscriber in the order it took them, and
           the consumer handles events in the order they came: whatever was published to this
           user before the marker reaches the socket before it.

        With `after_background_tasks`, the marker waits first for this loop's background tasks
        (turn pipelines, ring timers, the clean-up after a socket closed) to end, up to
        `timeout`: one cancelled as it should be has ended already, one left running is waited
        for, and what it sends comes before the marker.

        Not covered: what another task will publish later (an owed translation's retry) and
        whatever another process sends."""
        if self.user_id is None:
            raise AssertionError("drain needs the socket's user_id (set it after `attempt`)")
        deadline = asyncio.get_running_loop().time() + timeout
        await self.send({"type": "ping"})
        frames = [
            frame
            for frame in await self.until(lambda frame: frame.get("type") == "pong", timeout)
            if frame.get("type") != "pong"
        ]
        if after_background_tasks:
            await background_tasks_settle(timeout=deadline - asyncio.get_running_loop().time())
        # False also when frames an earlier test handed over wait for its ended loop (they go
        # out with the next hand-over); any this test handed over were waited for.
        await broadcasts_settle(timeout=deadline - asyncio.get_running_loop().time())
        marker = {"type": DRAIN_MARKER_TYPE, "id": uuid.uuid4().hex}
        await get_channel_layer().group_send(
            user_group(self.user_id), {"type": FRAME_HANDLER, "frame": marker}
        )
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                frame = await self._frame_or_marker(remaining)
            except TimeoutError:
                raise AssertionError(f"the drain marker never came; saw {frames[-15:]}") from None
            if frame == marker:
                return frames
            if not _is_drain_marker(frame):  # another socket's of the same user
                self.frames.append(frame)
                frames.append(frame)

"""Clients that read slowly or not at all, against a real Daphne (apps/core/socket_backlog.py).

A raw socket with a small receive buffer stands in for a phone that lost coverage or a frozen
tab: what the server sends it piles up in the server (the kernel's send queue, then Daphne's
buffer). Past SOCKET_OUTBOUND_BACKLOG_MAX_BYTES the socket is closed with 4008 and, if the
client does not read that far, dropped after the grace; a reader keeping up is untouched.
"""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import pytest
import websockets

from apps.chats import services
from apps.core.socket_backlog import CLOSE_TOO_FAR_BEHIND
from tests.support.accounts import user_create, user_token
from tests.support.daphne import daphne_running
from tests.support.raw_websocket import OPCODE_TEXT, RawWebSocket

BACKLOG_MAX_BYTES = 128 * 1024
SMALL_RECEIVE_BUFFER = 4096
# 2,000 characters, both as text and original_text: about 4.1 KB per message frame.
LONG_TEXT = "x" * 2000
BURST_MESSAGES = 80
# Daphne's keepalive alone would take 20 s (ping interval) + 30 s (ping timeout).
KEEPALIVE_DROP_SECONDS = 50


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _messages(frames) -> list[dict]:
    texts = [frame.json() for frame in frames if frame.opcode == OPCODE_TEXT]
    return [frame for frame in texts if frame.get("type") == "message"]


@pytest.fixture
def people(dynamo_tables):
    ana = user_create(language="en")
    bob = user_create(language="en")
    chat_id = services.chat_direct_create(user=bob, other_username=ana.username).membership.chat_id
    return ana, bob, chat_id


def _daphne(dynamo_tables, **settings):
    return daphne_running(
        {
            "DYNAMODB_TABLE_PREFIX": dynamo_tables,
            "MESSAGE_RATE_LIMIT_COUNT": "100000",
            # Bursts of sends without waiting for acks: this test is about readers, not about
            # a process refusing sends past its capacity.
            "SENDS_IN_FLIGHT_MAX": "100000",
            "SOCKET_OUTBOUND_BACKLOG_MAX_BYTES": str(BACKLOG_MAX_BYTES),
            **{name: str(value) for name, value in settings.items()},
        }
    )


def test_a_socket_that_stops_reading_is_closed_while_a_reader_of_the_same_traffic_is_not(
    dynamo_tables, people
):
    ana, bob, chat_id = people
    grace = 5.0
    with _daphne(dynamo_tables, SOCKET_OUTBOUND_CLOSE_GRACE_SECONDS=grace) as daphne:
        ws = daphne.url.replace("http", "ws")
        path = f"/api/ws/chat?token={user_token(ana)}"

        async def traffic():
            async with (
                websockets.connect(f"{ws}/api/ws/chat?token={user_token(bob)}") as bob_socket,
                websockets.connect(f"{ws}{path}", max_size=None) as reader,
            ):

                async def send(count: int, prefix: str, text: str) -> None:
                    for number in range(count):
                        await bob_socket.send(
                            json.dumps(
                                {
                                    "chat_id": chat_id,
                                    "text": text,
                                    "client_msg_id": f"{prefix}{number}",
                                }
                            )
                        )
                    acks = 0
                    while acks < count:
                        frame = json.loads(await asyncio.wait_for(bob_socket.recv(), 30))
                        assert "error" not in frame, frame
                        acks += frame.get("type") == "ack"

                async def read(count: int) -> list[int]:
                    seqs = []
                    while len(seqs) < count:
                        frame = json.loads(await asyncio.wait_for(reader.recv(), 30))
                        if frame.get("type") == "message":
                            seqs.append(frame["message"]["seq"])
                    return seqs

                await send(3, "warm", "warming up")
                assert await read(3) == [1, 2, 3]
                never = RawWebSocket.open(_port(daphne), path, receive_buffer=SMALL_RECEIVE_BUFFER)
                late = RawWebSocket.open(_port(daphne), path, receive_buffer=SMALL_RECEIVE_BUFFER)
                reading = asyncio.ensure_future(read(BURST_MESSAGES))
                await send(BURST_MESSAGES, "burst", LONG_TEXT)
                burst_seqs = await reading
                await reader.send(json.dumps({"type": "ping"}))
                while json.loads(await asyncio.wait_for(reader.recv(), 10)) != {"type": "pong"}:
                    pass
                return never, late, burst_seqs

        never, late, burst_seqs = asyncio.run(traffic())
        try:
            # The reader that kept up got everything and is still open (it answered the ping).
            assert burst_seqs == list(range(4, 4 + BURST_MESSAGES))

            # One that reads now, within the grace: what was sent before the bound, in order,
            # then the close frame that says to resume.
            frames, received = late.frames()
            assert frames[-1].close_code == CLOSE_TOO_FAR_BEHIND
            seqs = [message["message"]["seq"] for message in _messages(frames)]
            assert seqs == list(range(4, 4 + len(seqs))) and len(seqs) < BURST_MESSAGES
            # Never more than the bound waiting for it in the server (plus what the kernel had
            # already handed to its small receive buffer, and the frame that crossed the bound).
            assert BACKLOG_MAX_BYTES < received < BACKLOG_MAX_BYTES + 64 * 1024

            # One that reads nothing is dropped after the grace, not by the keepalive.
            waited = never.wait_until_dropped(timeout=grace + 10)
            assert waited < grace + 10 < KEEPALIVE_DROP_SECONDS
        finally:
            never.close()
            late.close()
    # Frames for the closed socket kept coming (Bob kept sending): they were dropped, not
    # raised into the consumer.
    log = daphne.process.stderr.read().decode(errors="replace")
    assert "socket too far behind" in log
    assert "Traceback" not in log, log[-3000:]


def test_a_slow_reader_takes_a_long_resume_and_a_stalled_one_is_closed(dynamo_tables, people):
    ana, bob, chat_id = people
    missed = 120  # about 4 times the bound in all
    chat = None
    for number in range(missed):
        chat = services.chat_get(chat_id=chat_id) if chat is None else chat
        committed = services.message_commit(
            draft=services.MessageDraft(
                chat_id=chat_id,
                message_id=uuid.uuid4().hex,
                from_user_id=bob.user_id,
                original_text=LONG_TEXT,
                original_language="en",
                translations={},
                pending_languages=frozenset(),
                client_msg_id=None,
                created_at=datetime.now(UTC),
            ),
            chat=chat,
        )
        chat = committed.chat
    stall = 1.0
    grace = 1.0
    with _daphne(
        dynamo_tables,
        SOCKET_CATCH_UP_STALL_SECONDS=stall,
        SOCKET_OUTBOUND_CLOSE_GRACE_SECONDS=grace,
    ) as daphne:
        path = f"/api/ws/chat?token={user_token(ana)}"
        slow = RawWebSocket.open(_port(daphne), path, receive_buffer=SMALL_RECEIVE_BUFFER)
        stalled = RawWebSocket.open(_port(daphne), path, receive_buffer=SMALL_RECEIVE_BUFFER)
        try:
            stalled.send_json({"type": "resume", "chats": {chat_id: 0}})
            slow.send_json({"type": "resume", "chats": {chat_id: 0}})
            started = time.monotonic()
            # About 800 KB/s at most: far slower than pages come out of DynamoDB.
            frames, _ = slow.frames(
                pause=0.005, until=lambda frame: b'"resume_complete"' in frame.payload
            )
            assert b'"resume_complete"' in frames[-1].payload, (
                f"the socket ended after {len(frames)} frames, close code {frames[-1].close_code}"
            )
            assert frames[-1].json() == {"type": "resume_complete", "chats": {chat_id: missed}}
            assert [m["message"]["seq"] for m in _messages(frames)] == list(range(1, missed + 1))

            # The one that reads nothing: closed once it took nothing for `stall` seconds,
            # dropped `grace` seconds later.
            waited = stalled.wait_until_dropped(timeout=stall + grace + 10)
            assert time.monotonic() - started >= stall
            assert waited < stall + grace + 10
        finally:
            slow.close()
            stalled.close()

"""Hostile frames on the chat socket: whatever arrives, the socket answers (or stays quiet)
and stays open, and everything it sends is valid UTF-8 JSON.

Hypothesis generates the frames; they go through Channels' WebsocketCommunicator to the real
consumer (real Redis, DynamoDB on moto). One socket takes every example of a test, so a frame
that kills it fails every example after it; after each frame a ping must come back as a pong.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.accounts import user_create
from tests.support.chat_clients import ChatSocket

FRAME_TYPES = [
    "send",
    "typing",
    "read",
    "react",
    "resume",
    "ping",
    "call_start",
    "call_accept",
    "call_decline",
    "call_cancel",
    "call_end",
    "call_status",
    "ptt_start",
    "ptt_audio",
    "ptt_stop",
    "ptt_cancel",
    "presence_watch",
    "presence_unwatch",
]
FIELDS = [
    "chat_id",
    "text",
    "client_msg_id",
    "seq",
    "chats",
    "call_id",
    "format",
    "data",
    "emoji",
]
LONE_SURROGATES = ["\ud800", "\udfff", "a\udc00b", "\udbff\udbff"]
REPLY_SECONDS = 10

# Strings with lone surrogates, emoji and control characters, not only the printable ones.
strings = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=10),
    st.sampled_from(LONE_SURROGATES),
    st.text(min_size=1000, max_size=3000).map(lambda text: text * 2),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**300),
    st.floats(allow_nan=False, allow_infinity=False),
    strings,
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(strings, children, max_size=4)
    ),
    max_leaves=12,
)
known_frames = st.fixed_dictionaries(
    {"type": st.sampled_from(FRAME_TYPES)},
    optional={
        **{field: json_values for field in FIELDS},
        "chats": st.dictionaries(strings, json_values, max_size=6) | json_values,
    },
)
any_frames = st.one_of(
    known_frames,
    # A frame type that is not a known string: lists, objects, numbers, surrogates.
    st.fixed_dictionaries({"type": json_values}, optional={"chat_id": json_values}),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(FRAME_TYPES),
            "chat_id": st.sampled_from(LONE_SURROGATES) | strings,
        }
    ),
    st.dictionaries(st.sampled_from(["type", *FIELDS]) | strings, json_values, max_size=5),
    json_values,
)
# Text that json.dumps cannot make: integers past Python's 4,300-digit conversion limit and
# nesting deeper than the parser's recursion limit.
oversized_json = st.one_of(
    st.integers(min_value=4301, max_value=8000).map(
        lambda digits: '{"type": "read", "chat_id": "c", "seq": ' + "9" * digits + "}"
    ),
    st.integers(min_value=1000, max_value=100_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=1000, max_value=50_000).map(
        lambda depth: '{"type": "send", "text": ' + "[" * depth
    ),
)


def _answers_a_ping(text: str) -> bool:
    """Whether this frame is itself a ping the consumer will answer."""
    try:
        frame = json.loads(text)
        json.dumps(frame, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        return False
    return isinstance(frame, dict) and frame.get("type") == "ping"


async def _survives(
    socket: ChatSocket, *, text: str | None = None, data: bytes | None = None
) -> None:
    if text is not None:
        await socket.communicator.send_to(text_data=text)
        pongs_expected = 1 + _answers_a_ping(text)
    else:
        await socket.communicator.send_to(bytes_data=data)
        pongs_expected = 1 + (
            data.lstrip()[:1] == b"{" and _answers_a_ping(data.decode("utf-8", "replace"))
        )
    await socket.communicator.send_to(text_data='{"type": "ping"}')
    while pongs_expected:
        output = await socket.receive_output(REPLY_SECONDS)
        assert output["type"] == "websocket.send", f"socket closed: {output}"
        reply = json.loads(output["text"].encode("utf-8"))
        assert isinstance(reply, dict), reply
        assert reply.get("type") == "pong" or set(reply) & {"error", "type"}, reply
        pongs_expected -= reply.get("type") == "pong"


@pytest.fixture
def socket_on_loop():
    """A chat socket and the event loop it lives on, for Hypothesis's synchronous examples."""
    loop = asyncio.new_event_loop()
    user = user_create()
    socket = loop.run_until_complete(ChatSocket.open(user))
    yield lambda **frame: loop.run_until_complete(_survives(socket, **frame))
    loop.run_until_complete(socket.close())
    loop.close()


FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    derandomize=True,
)


@FUZZ
@given(frame=any_frames)
def test_the_socket_survives_any_json_frame(socket_on_loop, frame):
    # ensure_ascii: a lone surrogate goes over the wire as the escape a client would send.
    socket_on_loop(text=json.dumps(frame))


@settings(FUZZ, max_examples=30)
@given(text=oversized_json | st.text(min_size=1, max_size=200))
def test_the_socket_survives_unparseable_and_oversized_text(socket_on_loop, text):
    socket_on_loop(text=text)


@settings(FUZZ, max_examples=30)
@given(
    data=st.binary(min_size=1, max_size=2000)
    | st.binary(min_size=1, max_size=200).map(lambda raw: b"{" + raw)
    | any_frames.map(lambda frame: json.dumps(frame).encode())
)
def test_the_socket_survives_any_binary_frame(socket_on_loop, data):
    socket_on_loop(data=data)

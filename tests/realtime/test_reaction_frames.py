"""The `react` frame on real chat sockets (apps/realtime/chat_handlers.py on_react,
actions.do_toggle_reaction): every member's sockets get `reaction_updated`, nobody else's;
refusals are error frames and the socket stays open."""

from __future__ import annotations

import pytest

from apps.chats import actions, services
from apps.core.concurrency import run_blocking
from apps.realtime.protocol import ClientFrame, ServerFrame
from tests.support.accounts import user_create
from tests.support.protocol_check import protocol_check


@pytest.fixture(autouse=True)
def _translations(translator):
    return translator


def _is(kind):
    return lambda frame: frame.get("type") == kind


def _is_error(frame) -> bool:
    return "error" in frame and "type" not in frame


async def _group_with_message():
    people = [await run_blocking(user_create)(language=code) for code in ("en", "es", "fr")]
    created = await run_blocking(services.chat_group_create)(
        user=people[0], title="Team", usernames=[person.username for person in people[1:]]
    )
    chat_id = created.membership.chat_id
    await actions.do_send_message(user=people[0], chat_id=chat_id, text="Lunch at noon?")
    return chat_id, people


async def test_a_reaction_reaches_every_members_sockets_live(sockets):
    chat_id, (ana, bob, carla) = await _group_with_message()
    ana_socket = await sockets.open(ana)
    bob_socket = await sockets.open(bob)
    carla_socket = await sockets.open(carla)
    outsider_socket = await sockets.open(await run_blocking(user_create)(language="de"))

    react = {"type": "react", "chat_id": chat_id, "seq": 1, "emoji": "👍"}
    protocol_check(react, ClientFrame, what="a react frame")
    await bob_socket.send(react)

    for socket in (ana_socket, bob_socket, carla_socket):
        frame = (await socket.until(_is("reaction_updated")))[-1]
        protocol_check(frame, ServerFrame, what="a reaction_updated frame")
        assert frame["chat_id"] == chat_id and frame["seq"] == 1
        assert frame["user_id"] == bob.user_id
        assert frame["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [bob.user_id]}]
        assert frame["reactions_version"] == 1
    assert not [frame for frame in await outsider_socket.drain() if frame.get("type")]

    # The same emoji again takes it away, for everyone.
    await bob_socket.send(react)
    for socket in (ana_socket, carla_socket):
        frame = (await socket.until(_is("reaction_updated")))[-1]
        assert frame["reactions"] == []
        assert frame["reactions_version"] == 2


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "react", "chat_id": "CHAT", "seq": 1, "emoji": "hello"},
        {"type": "react", "chat_id": "CHAT", "seq": 1},
        {"type": "react", "chat_id": "CHAT", "seq": "1", "emoji": "👍"},
        {"type": "react", "chat_id": "CHAT", "seq": 9, "emoji": "👍"},
        {"type": "react", "chat_id": "0" * 32, "seq": 1, "emoji": "👍"},
        {"type": "react", "seq": 1, "emoji": "👍"},
    ],
)
async def test_a_refused_reaction_is_an_error_frame_and_the_socket_stays(sockets, frame):
    chat_id, (ana, bob, _) = await _group_with_message()
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)
    if frame.get("chat_id") == "CHAT":
        frame = {**frame, "chat_id": chat_id}
    await bob_socket.send(frame)
    error = (await bob_socket.until(_is_error))[-1]
    protocol_check(error, ServerFrame, what="an error frame")
    await bob_socket.ping()
    assert not [f for f in await ana_socket.drain() if f.get("type") == "reaction_updated"]


async def test_someone_outside_the_chat_cannot_react(sockets):
    chat_id, (ana, _, _) = await _group_with_message()
    outsider = await run_blocking(user_create)(language="de")
    outsider_socket = await sockets.open(outsider)
    ana_socket = await sockets.open(ana)
    await outsider_socket.send({"type": "react", "chat_id": chat_id, "seq": 1, "emoji": "👍"})
    error = (await outsider_socket.until(_is_error))[-1]
    assert error == {"error": "Chat not found", "chat_id": chat_id}
    assert not [f for f in await ana_socket.drain() if f.get("type") == "reaction_updated"]

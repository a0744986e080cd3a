"""The `edit` and `delete` frames over real chat sockets (Channels' WebsocketCommunicator, the
Redis channel layer, DynamoDB on moto, the loopback translator "T" -> "[<lang>] T")."""

from __future__ import annotations

from apps.chats import services
from apps.core.concurrency import run_blocking
from tests.support.accounts import user_create


def _is(kind):
    return lambda frame: frame.get("type") == kind


def _error(frame) -> bool:
    return "error" in frame


async def _user(language="en"):
    return await run_blocking(user_create)(language=language)


async def _chat_with_a_message(sockets, ana, bob, text="Hello"):
    created = await run_blocking(services.chat_direct_create)(user=ana, other_username=bob.username)
    chat_id = created.membership.chat_id
    ana_socket, bob_socket = await sockets.open(ana), await sockets.open(bob)
    await ana_socket.send({"type": "send", "chat_id": chat_id, "text": text})
    message = (await bob_socket.wait_for(_is("message")))["message"]
    await ana_socket.wait_for(_is("message"))
    return chat_id, message, ana_socket, bob_socket


async def test_an_edit_frame_reaches_each_member_in_their_language(translator, sockets):
    ana, bob = await _user("en"), await _user("es")
    chat_id, message, ana_socket, bob_socket = await _chat_with_a_message(sockets, ana, bob)

    await ana_socket.send(
        {
            "type": "edit",
            "chat_id": chat_id,
            "seq": message["seq"],
            "message_id": message["message_id"],
            "text": "Hello, edited",
        }
    )

    to_bob = await bob_socket.wait_for(_is("message_edited"))
    to_ana = await ana_socket.wait_for(_is("message_edited"))
    assert to_bob["chat_id"] == to_ana["chat_id"] == chat_id
    assert to_bob["message"]["text"] == "[es] Hello, edited"
    assert to_ana["message"]["text"] == "Hello, edited"
    assert to_bob["message"]["seq"] == message["seq"]
    assert to_bob["message"]["edited_at"] == to_ana["message"]["edited_at"]


async def test_a_delete_frame_reaches_every_member_and_a_refused_one_is_an_error(
    translator, sockets
):
    ana, bob = await _user("en"), await _user("es")
    chat_id, message, ana_socket, bob_socket = await _chat_with_a_message(sockets, ana, bob)

    # Not bob's to edit or delete: an error frame, and the socket stays open.
    await bob_socket.send(
        {"type": "edit", "chat_id": chat_id, "seq": message["seq"], "text": "Mine now"}
    )
    refused = await bob_socket.wait_for(_error)
    assert refused["chat_id"] == chat_id and "sender" in refused["error"]
    await bob_socket.send({"type": "delete", "chat_id": chat_id, "seq": "1"})
    assert "seq" in (await bob_socket.wait_for(_error))["error"]

    await ana_socket.send({"type": "delete", "chat_id": chat_id, "seq": message["seq"]})

    expected = {
        "type": "message_deleted",
        "chat_id": chat_id,
        "message_id": message["message_id"],
        "seq": message["seq"],
    }
    assert await bob_socket.wait_for(_is("message_deleted")) == expected
    assert await ana_socket.wait_for(_is("message_deleted")) == expected

    # Deleted: it can be deleted no more.
    await ana_socket.send({"type": "delete", "chat_id": chat_id, "seq": message["seq"]})
    assert "deleted" in (await ana_socket.wait_for(_error))["error"]
    await bob_socket.ping()


async def test_a_socket_that_resumes_gets_the_tombstone_in_place(translator, sockets):
    ana, bob = await _user("en"), await _user("es")
    chat_id, message, ana_socket, bob_socket = await _chat_with_a_message(sockets, ana, bob)
    await ana_socket.send({"type": "delete", "chat_id": chat_id, "seq": message["seq"]})
    await bob_socket.wait_for(_is("message_deleted"))

    late = await sockets.open(bob)
    await late.send({"type": "resume", "chats": {chat_id: 0}})

    replayed = (await late.wait_for(_is("message")))["message"]
    assert replayed["seq"] == message["seq"] and replayed["deleted"] is True
    assert replayed["text"] == ""

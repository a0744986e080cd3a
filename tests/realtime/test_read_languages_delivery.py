"""apps/realtime/delivery.py: messages a socket reads from storage (a resume) follow the
reader's languages they also read, like live ones (tests/chats/test_read_languages.py), as
the socket's account now says."""

from __future__ import annotations

from apps.accounts import actions as account_actions
from apps.chats import actions, services
from apps.core.concurrency import run_blocking
from tests.support.accounts import user_create

SPANISH = "¿Vamos a cenar juntos mañana por la noche en el restaurante de siempre?"


def _messages(frames):
    return [frame for frame in frames if frame.get("type") == "message"]


async def test_a_resume_delivers_a_message_in_a_language_the_reader_reads_as_written(
    translator, sockets
):
    amy = await run_blocking(user_create)(language="en")
    eva = await run_blocking(user_create)(language="es")
    chat_id = (
        await run_blocking(services.chat_direct_create)(user=eva, other_username=amy.username)
    ).membership.chat_id
    await actions.do_send_message(user=eva, chat_id=chat_id, text="Hola, ¿qué tal estás hoy?")
    amy_socket = await sockets.open(amy)
    # Read languages changed while this socket is open: it hears `profile_updated`.
    await account_actions.do_update_profile(user=amy, changes={"read_languages": ["es"]})
    await amy_socket.until(lambda f: f.get("type") == "profile_updated", timeout=10)

    await amy_socket.send({"type": "resume", "chats": {chat_id: 0}})
    frames = await amy_socket.until(lambda f: f.get("type") == "resume_complete", timeout=10)

    (replayed,) = _messages(frames)
    assert replayed["message"]["seq"] == 1
    assert replayed["message"]["text"] == "Hola, ¿qué tal estás hoy?"
    assert replayed["message"]["language"] == "es"
    assert replayed["message"]["translation_skipped"] == "reader_reads_language"
    # And a message another reader gets translated comes live as written.
    await actions.do_send_message(user=eva, chat_id=chat_id, text=SPANISH)
    live = (await amy_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert live["message"]["text"] == SPANISH

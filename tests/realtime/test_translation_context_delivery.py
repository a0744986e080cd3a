"""apps/realtime/delivery.py: a message a socket here delivers, written through another
instance, joins this process's copy of the chat's last turns, so the next send here has its
context without a Query (apps/chats/translation_context.py)."""

from __future__ import annotations

from apps.chats import actions, services
from apps.chats.translation_context import recent_turns
from apps.core.concurrency import run_blocking
from tests.support.accounts import user_create


async def test_a_delivered_message_joins_the_chats_last_turns(translator, sockets, monkeypatch):
    amy = await run_blocking(user_create)(language="en")
    eva = await run_blocking(user_create)(language="es")
    chat_id = (
        await run_blocking(services.chat_direct_create)(user=eva, other_username=amy.username)
    ).membership.chat_id
    amy_socket = await sockets.open(amy)
    recent_turns.clear()
    # As if Eva's instance were another: this process's broadcast keeps nothing.
    monkeypatch.setattr(recent_turns, "message_seen", lambda message: None)

    await actions.do_send_message(user=eva, chat_id=chat_id, text="¿Cenamos juntos mañana?")
    await amy_socket.until(lambda f: f.get("type") == "message", timeout=10)

    turns = recent_turns.turns_before_next(chat_id, last_seq=1)
    assert turns is not None
    assert [(turn.seq, turn.from_user_id, turn.language, turn.text) for turn in turns] == [
        (1, eva.user_id, "es", "¿Cenamos juntos mañana?")
    ]

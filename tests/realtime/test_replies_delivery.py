"""Replies over the socket: a `send` frame with `reply_to_seq`; each member's live `message`
frame carries the quote in that member's language (one frame per distinct view, the quote's
view included: events._frames_per_reader), a resume carries it too, and a bad
`reply_to_seq` is answered with an error frame, nothing stored, the socket open."""

from __future__ import annotations

import pytest

from apps.chats import actions
from apps.chats.selectors import chat_get, message_range
from apps.chats.translation import translation_clients_close
from apps.core.concurrency import run_blocking
from tests.support.accounts import user_create
from tests.support.loops import owed_translation_retries_cancel

ENGLISH = "Shall we have dinner together tomorrow night at the usual place?"
REPLY = "Yes, I would love that, see you at nine then."


@pytest.fixture(autouse=True)
async def _tidy_event_loop():
    yield
    await owed_translation_retries_cancel()
    await translation_clients_close()


def _is_message(seq):
    return lambda f: f.get("type") == "message" and f["message"]["seq"] == seq


async def test_each_member_gets_the_quote_in_their_own_language_live_and_on_resume(
    translator, sockets
):
    # Eva and Eli both read Spanish; Eva writes in English. Amy reads English.
    amy = await run_blocking(user_create)(language="en")
    eva = await run_blocking(user_create)(language="es")
    eli = await run_blocking(user_create)(language="es")
    chat_id = (
        await actions.do_create_group_chat(
            user=amy, title="Dinner", usernames=[eva.username, eli.username]
        )
    ).membership.chat_id
    await actions.do_send_message(user=eva, chat_id=chat_id, text=ENGLISH)
    amy_socket, eva_socket, eli_socket = [await sockets.open(u) for u in (amy, eva, eli)]

    await amy_socket.send(
        {
            "type": "send",
            "chat_id": chat_id,
            "text": REPLY,
            "client_msg_id": "reply-1",
            "reply_to_seq": 1,
        }
    )

    ack = (await amy_socket.until(lambda f: f.get("type") == "ack", timeout=10))[-1]
    assert ack["seq"] == 2
    amy_frame = (await amy_socket.until(_is_message(2), timeout=10))[-1]
    eva_frame = (await eva_socket.until(_is_message(2), timeout=10))[-1]
    eli_frame = (await eli_socket.until(_is_message(2), timeout=10))[-1]
    # Amy reads the English original; so does Eva, who wrote it; Eli reads its translation,
    # though Eva and Eli both read Spanish.
    assert amy_frame["message"]["reply_to"]["text"] == ENGLISH
    assert eva_frame["message"]["reply_to"]["text"] == ENGLISH
    assert eva_frame["message"]["reply_to"]["language"] == "en"
    assert eli_frame["message"]["reply_to"]["text"] == f"[es] {ENGLISH}"
    assert eli_frame["message"]["reply_to"]["language"] == "es"
    assert eli_frame["message"]["reply_to"]["from_user_id"] == eva.user_id
    assert eli_frame["message"]["text"] == f"[es] {REPLY}"

    # A socket that resumes reads the same quote from storage.
    late = await sockets.open(eli)
    await late.send({"type": "resume", "chats": {chat_id: 0}})
    frames = await late.until(lambda f: f.get("type") == "resume_complete", timeout=10)
    replayed = {f["message"]["seq"]: f["message"] for f in frames if f.get("type") == "message"}
    assert "reply_to" not in replayed[1]
    assert replayed[2]["reply_to"]["text"] == f"[es] {ENGLISH}"
    assert replayed[2]["reply_to"]["seq"] == 1


async def test_a_bad_reply_to_seq_gets_an_error_frame_and_nothing_is_stored(translator, sockets):
    amy = await run_blocking(user_create)(language="en")
    eva = await run_blocking(user_create)(language="es")
    chat_id = (
        await actions.do_create_direct_chat(user=amy, other_username=eva.username)
    ).membership.chat_id
    await actions.do_send_message(user=eva, chat_id=chat_id, text=ENGLISH)
    socket = await sockets.open(amy)

    for n, bad in enumerate((7, 0, "1", True, {"seq": 1})):
        client_msg_id = f"bad-{n}"
        await socket.send(
            {"chat_id": chat_id, "text": REPLY, "client_msg_id": client_msg_id, "reply_to_seq": bad}
        )
        error = (await socket.until(lambda f: "error" in f, timeout=10))[-1]
        assert "reply_to_seq" in error["error"], (bad, error)
        assert error["client_msg_id"] == client_msg_id
        assert error["chat_id"] == chat_id

    await socket.ping()
    assert int((await run_blocking(chat_get)(chat_id=chat_id)).last_seq) == 1
    assert len(await run_blocking(message_range)(chat_id=chat_id, after_seq=0)) == 1
    # The same client id with a good quote is then sent.
    await socket.send(
        {"chat_id": chat_id, "text": REPLY, "client_msg_id": "bad-0", "reply_to_seq": 1}
    )
    message = (await socket.until(_is_message(2), timeout=10))[-1]["message"]
    assert message["reply_to"]["text"] == ENGLISH

"""The protocol modules (apps/*/protocol.py) against the real thing: every frame a real
session receives fits `ServerFrame`, every frame sent fits `ClientFrame`, and the REST replies
fit their reply types (tests/support/protocol_check.py: required and optional keys and no
others, types, literals, nested shapes). A backend change that adds, drops or renames a field
without changing the protocol, and so the front end's generated types, fails here.

Everything runs for real, as in tests/realtime/test_consumer_flows.py: the ASGI application
through Channels' WebsocketCommunicator, Redis, DynamoDB (moto) and the loopback translator
and speech providers.
"""

from __future__ import annotations

import json

from django.test import AsyncClient

from apps.accounts.protocol import Language as LanguageItem
from apps.accounts.protocol import LogoutAllReply, Me, SocketTicketReply, TokenReply
from apps.chats import services as chat_services
from apps.chats.actions import do_send_message
from apps.chats.protocol import (
    ChatCreateReply,
    ChatDetail,
    ChatMuteReply,
    ChatPreferences,
    ChatSummary,
    Glossary,
    HistoryPage,
    LeaveReply,
    MemberAddReply,
    MessageCreateReply,
)
from apps.core.concurrency import run_blocking
from apps.core.keyvalue import keyvalue_store
from apps.realtime.protocol import ClientFrame, CloseCode, ErrorReply, ServerFrame
from apps.voice.protocol import VoiceTokenReply
from tests.support.accounts import user_create, user_token
from tests.support.chat_clients import ChatSocket
from tests.support.protocol_check import protocol_check
from tests.support.voice_clients import is_type, speak, turn_state

PASSWORD = "correct horse battery staple"
# Frames still in flight when a test's last wait ends are checked too.
STRAGGLERS_SECONDS = 0.3


def _is(kind):
    return lambda frame: frame.get("type") == kind


def _is_error(frame) -> bool:
    return "error" in frame and "type" not in frame


async def _send(socket: ChatSocket, frame: dict) -> None:
    """Sends a frame a client may send, checked against ClientFrame first."""
    protocol_check(frame, ClientFrame, what="a client frame")
    await socket.send(frame)


async def _frame_types_checked(*sockets: ChatSocket) -> set[str]:
    """Every frame each socket received fits ServerFrame; the types seen ("error" for an
    error frame, which has none)."""
    seen = set()
    for socket in sockets:
        await socket.collect(STRAGGLERS_SECONDS)
        for frame in socket.frames:
            protocol_check(frame, ServerFrame, what=f"a {frame.get('type', 'error')} frame")
            seen.add(frame.get("type", "error"))
    return seen


class Rest:
    """REST calls through the ASGI application, each reply checked against its type."""

    def __init__(self) -> None:
        self.client = AsyncClient()

    async def call(
        self, method, path, *, shape, status=200, token=None, body=None, **kwargs
    ) -> object:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = await getattr(self.client, method)(path, headers=headers, **kwargs)
        assert response.status_code == status, (
            method,
            path,
            response.status_code,
            response.content,
        )
        reply = response.json()
        protocol_check(reply, shape, what=f"{method.upper()} {path} ({status})")
        return reply


async def _user(language: str):
    user = await run_blocking(user_create)(language=language)
    return user, user_token(user)


# --- REST ---------------------------------------------------------------------------------------


async def test_rest_replies_fit_the_protocol(translator, speech, livekit):
    rest = Rest()
    tokens = {}
    for name, language in (("ana", "es"), ("bob", "en"), ("cyd", "fr"), ("dee", "de")):
        signup = await rest.call(
            "post",
            "/api/auth/signup",
            status=201,
            shape=TokenReply,
            body={
                "username": name,
                "password": PASSWORD,
                "first_name": name.title(),
                "last_name": "Tester",
                "native_language": language,
            },
        )
        tokens[name] = signup["access_token"]
    bob = tokens["bob"] = (
        await rest.call(
            "post",
            "/api/auth/login",
            shape=TokenReply,
            body={"username": "bob", "password": PASSWORD},
        )
    )["access_token"]
    await rest.call("get", "/api/auth/me", shape=Me, token=bob)
    await rest.call("patch", "/api/auth/me", shape=Me, token=bob, body={"first_name": "Robert"})
    await rest.call("get", "/api/languages", shape=list[LanguageItem])
    await rest.call("post", "/api/ws/ticket", status=201, shape=SocketTicketReply, token=bob)

    direct = await rest.call(
        "post", "/api/chats", status=201, shape=ChatCreateReply, token=bob, body={"username": "ana"}
    )
    chat_id = direct["chat_id"]
    again = await rest.call(
        "post", "/api/chats", status=201, shape=ChatCreateReply, token=bob, body={"username": "ana"}
    )
    assert again["created"] is False
    group = await rest.call(
        "post",
        "/api/chats",
        status=201,
        shape=ChatCreateReply,
        token=bob,
        body={"title": "Trio", "usernames": ["ana", "cyd"]},
    )
    group_id = group["chat_id"]
    await rest.call(
        "post",
        f"/api/chats/{group_id}/members",
        status=201,
        shape=MemberAddReply,
        token=bob,
        body={"username": "dee"},
    )
    await rest.call(
        "delete", f"/api/chats/{group_id}/members/me", shape=LeaveReply, token=tokens["dee"]
    )

    messages = f"/api/chats/{chat_id}/messages"
    sent = {"text": "Hello", "client_msg_id": "rest-1"}
    await rest.call("post", messages, status=201, shape=MessageCreateReply, token=bob, body=sent)
    resent = await rest.call("post", messages, shape=MessageCreateReply, token=bob, body=sent)
    assert resent["duplicate"] is True
    note = await rest.call(
        "post",
        f"/api/chats/{chat_id}/voice_notes",
        status=201,
        shape=MessageCreateReply,
        token=bob,
        data=b"say:Hello there",
        content_type="audio/webm",
    )
    assert note["message"]["kind"] == "voice_note"
    await rest.call(
        "post", "/api/voice/token", shape=VoiceTokenReply, token=bob, body={"chat_id": chat_id}
    )

    for token in (bob, tokens["ana"]):
        await rest.call("get", "/api/chats", shape=list[ChatSummary], token=token)
        await rest.call("get", f"/api/chats/{chat_id}", shape=ChatDetail, token=token)
        await rest.call("get", f"/api/chats/{group_id}", shape=ChatDetail, token=token)
        page = await rest.call("get", messages, shape=HistoryPage, token=token)
        assert len(page["messages"]) == 2
        await rest.call("get", messages, shape=HistoryPage, token=token, data={"limit": 1})
    await rest.call(
        "post", f"/api/chats/{chat_id}/read", shape=ChatSummary, token=bob, body={"seq": 2}
    )

    await rest.call("get", "/api/chats/no-such-chat", status=404, shape=ErrorReply, token=bob)
    await rest.call("get", "/api/auth/me", status=401, shape=ErrorReply)
    await rest.call(
        "post",
        "/api/auth/login",
        status=401,
        shape=ErrorReply,
        body={"username": "bob", "password": "wrong password"},
    )
    await rest.call("post", "/api/chats", status=422, shape=ErrorReply, token=bob, body={})
    await rest.call("post", "/api/auth/logout_all", shape=LogoutAllReply, token=bob)


# --- The chat socket ----------------------------------------------------------------------------


async def test_every_frame_of_a_chat_session_fits_the_protocol(translator, sockets, settings):
    # Slow enough that a message is announced and its translation streams in partials.
    translator.token_delay_seconds = 0.06
    rest = Rest()
    (ana, ana_token), (bob, bob_token) = await _user("es"), await _user("en")
    ana_socket, bob_socket = await sockets.open(ana), await sockets.open(bob)

    created = await rest.call(
        "post",
        "/api/chats",
        status=201,
        shape=ChatCreateReply,
        token=bob_token,
        body={"username": ana.username},
    )
    chat_id = created["chat_id"]
    await ana_socket.until(_is("chat_created"))
    await bob_socket.until(_is("chat_created"))

    text = "the quick brown fox jumps over the lazy dog again and again"
    await _send(
        bob_socket, {"type": "send", "chat_id": chat_id, "text": text, "client_msg_id": "s-1"}
    )
    await bob_socket.until(_is("ack"), timeout=10)
    await ana_socket.until(_is("message"), timeout=10)
    # The contract's frame: no type, no client_msg_id.
    await _send(bob_socket, {"chat_id": chat_id, "text": "Hi"})
    await bob_socket.until(_is("ack"), timeout=10)
    await ana_socket.until(_is("message"), timeout=10)

    await _send(ana_socket, {"type": "typing", "chat_id": chat_id})
    await bob_socket.until(_is("typing"))
    await _send(ana_socket, {"type": "read", "chat_id": chat_id, "seq": 1})
    await bob_socket.until(_is("read"))
    await ana_socket.until(_is("read"))
    await _send(ana_socket, {"type": "resume", "chats": {chat_id: 0}})
    await ana_socket.until(_is("resume_complete"))
    await _send(ana_socket, {"type": "ping"})
    await ana_socket.until(_is("pong"))

    for malformed in (
        "not json",
        "[1]",
        json.dumps({"type": "nonsense"}),
        json.dumps({"type": "send", "chat_id": chat_id}),
        json.dumps({"type": "send", "chat_id": chat_id, "client_msg_id": "bad-1"}),
        json.dumps({"type": "read", "chat_id": chat_id, "seq": "one"}),
        json.dumps({"type": "typing", "chat_id": "a" * 32}),
    ):
        await ana_socket.communicator.send_to(text_data=malformed)
        await ana_socket.until(_is_error)

    # A translation that fails is owed, then arrives as message_updated.
    translator.fail_status = 500
    await _send(bob_socket, {"chat_id": chat_id, "text": "Good morning", "client_msg_id": "s-2"})
    await ana_socket.until(_is("message"), timeout=10)
    translator.fail_status = None
    await ana_socket.until(_is("message_updated"), timeout=15)

    # A resend whose claim has expired is announced, then withdrawn.
    first = await do_send_message(
        user=bob, chat_id=chat_id, text="only once please, never twice", client_msg_id="x"
    )
    await ana_socket.until(_is("message"), timeout=10)
    await keyvalue_store().take(f"client_msg:{chat_id}:{bob.user_id}:x")
    again = await do_send_message(
        user=bob, chat_id=chat_id, text="only once please, never twice", client_msg_id="x"
    )
    assert again.message["message_id"] == first.message["message_id"]
    await ana_socket.until(_is("message_withdrawn"), timeout=10)

    await rest.call("patch", "/api/auth/me", shape=Me, token=ana_token, body={"last_name": "N"})
    await ana_socket.until(_is("profile_updated"))
    await rest.call(
        "patch", "/api/auth/me", shape=Me, token=ana_token, body={"read_languages": ["fr"]}
    )
    await ana_socket.until(_is("profile_updated"))

    # A group: created, a member added, a member gone.
    (cy, _), (dee, dee_token) = await _user("fr"), await _user("de")
    dee_socket = await sockets.open(dee)
    group = await rest.call(
        "post",
        "/api/chats",
        status=201,
        shape=ChatCreateReply,
        token=bob_token,
        body={"title": "Crew", "usernames": [ana.username, cy.username]},
    )
    group_id = group["chat_id"]
    await rest.call(
        "post",
        f"/api/chats/{group_id}/members",
        status=201,
        shape=MemberAddReply,
        token=bob_token,
        body={"username": dee.username},
    )
    await bob_socket.until(_is("member_added"))
    await dee_socket.until(_is("chat_created"))
    glossary_path = f"/api/chats/{group_id}/glossary"
    await rest.call("get", glossary_path, shape=Glossary, token=dee_token)
    await rest.call(
        "put",
        glossary_path,
        shape=Glossary,
        token=dee_token,
        body={"version": 0, "entries": [{"term": "Crew", "rendering": None}]},
    )
    await bob_socket.until(_is("glossary_updated"))
    preferences_path = f"/api/chats/{group_id}/preferences"
    await rest.call("get", preferences_path, shape=ChatPreferences, token=bob_token)
    await rest.call(
        "put",
        preferences_path,
        shape=ChatPreferences,
        token=bob_token,
        body={"formality": "formal"},
    )
    await rest.call(
        "put",
        f"/api/chats/{group_id}/mute",
        shape=ChatMuteReply,
        token=bob_token,
        body={"muted": True},
    )
    await bob_socket.until(_is("chat_muted"))
    await rest.call(
        "delete", f"/api/chats/{group_id}/members/me", shape=LeaveReply, token=dee_token
    )
    await bob_socket.until(_is("member_left"))

    # Over a limit: an error frame with retry_after.
    settings.MESSAGE_RATE_LIMIT_COUNT = 1
    await _send(bob_socket, {"chat_id": chat_id, "text": "More", "client_msg_id": "s-3"})
    limited = (await bob_socket.until(_is_error))[-1]
    assert "retry_after" in limited and limited["client_msg_id"] == "s-3", limited

    # One socket too many: an error frame with a code, then the close.
    settings.SOCKETS_PER_USER_MAX = 1
    extra, _, _ = await sockets.attempt(f"?token={ana_token}")
    refusal = await extra.frame()
    protocol_check(refusal, ServerFrame, what="the refusal of a socket too many")
    assert refusal.get("code") == "too_many_sockets", refusal
    assert await extra.close_code() == CloseCode.TOO_MANY_SOCKETS

    seen = await _frame_types_checked(ana_socket, bob_socket, dee_socket)
    assert seen >= {
        "chat_created",
        "message",
        "message_started",
        "translation_partial",
        "message_updated",
        "message_withdrawn",
        "ack",
        "typing",
        "read",
        "resume_complete",
        "pong",
        "error",
        "profile_updated",
        "member_added",
        "member_left",
        "glossary_updated",
        "chat_muted",
    }, seen


async def test_every_frame_of_calls_and_a_turn_fits_the_protocol(
    speech, translator, sockets, settings
):
    (ana, _), (bob, _), (cy, _) = await _user("es"), await _user("en"), await _user("fr")
    created = await run_blocking(chat_services.chat_direct_create)(
        user=bob, other_username=ana.username
    )
    chat_id = created.membership.chat_id
    ana_socket, bob_socket = await sockets.open(ana), await sockets.open(bob)

    await _send(ana_socket, {"type": "call_status", "chat_id": chat_id})
    await ana_socket.until(_is("call_status"))
    await _send(bob_socket, {"type": "call_start", "chat_id": chat_id})
    incoming = (await ana_socket.until(_is("call_incoming")))[-1]
    await _send(ana_socket, {"type": "call_status", "chat_id": chat_id})
    await ana_socket.until(_is("call_status"))
    # A second call while one rings: an error carrying the call under way.
    await _send(bob_socket, {"type": "call_start", "chat_id": chat_id})
    refused = (await bob_socket.until(_is_error))[-1]
    assert "call" in refused, refused
    await _send(ana_socket, {"type": "call_decline", "chat_id": chat_id, "call_id": "nope"})
    await ana_socket.until(_is_error)
    await _send(
        ana_socket, {"type": "call_accept", "chat_id": chat_id, "call_id": incoming["call_id"]}
    )
    await bob_socket.until(_is("call_accepted"))

    # A push-to-talk turn: every state, the listener's audio, the stored message.
    await speak(bob_socket, chat_id, [b"say:", b"Good ", b"morning"])
    await ana_socket.until(turn_state("idle"), timeout=10)
    await bob_socket.until(turn_state("idle"), timeout=10)
    await _send(bob_socket, {"type": "ptt_stop", "chat_id": chat_id})
    await bob_socket.until(_is_error)
    await _send(
        bob_socket, {"type": "call_end", "chat_id": chat_id, "call_id": incoming["call_id"]}
    )
    await ana_socket.until(_is("call_ended"))
    await ana_socket.until(lambda f: f.get("type") == "message" and f["message"]["kind"] == "call")

    # Calls that end unanswered: cancelled, declined, missed.
    for socket, answer, outcome in (
        (bob_socket, "call_cancel", "call_cancelled"),
        (ana_socket, "call_decline", "call_declined"),
    ):
        await _send(bob_socket, {"type": "call_start", "chat_id": chat_id})
        call_id = (await ana_socket.until(_is("call_incoming")))[-1]["call_id"]
        await _send(socket, {"type": answer, "chat_id": chat_id, "call_id": call_id})
        await ana_socket.until(_is(outcome))
    settings.VOICE_RING_TIMEOUT_SECONDS = 0.3
    await _send(bob_socket, {"type": "call_start", "chat_id": chat_id})
    await ana_socket.until(_is("call_missed"), timeout=5)

    # A group call that goes on when one participant leaves (Cy calls: Bob has used up his
    # calls for the minute).
    group = await run_blocking(chat_services.chat_group_create)(
        user=bob, title="Crew", usernames=[ana.username, cy.username]
    )
    group_id = group.membership.chat_id
    settings.VOICE_RING_TIMEOUT_SECONDS = 5.0
    cy_socket = await sockets.open(cy)
    await _send(cy_socket, {"type": "call_start", "chat_id": group_id})
    started = await cy_socket.until(
        lambda f: is_type("call_incoming", chat_id=group_id)(f) or _is_error(f)
    )
    assert not _is_error(started[-1]), started
    call_id = started[-1]["call_id"]
    for socket, user in ((ana_socket, ana), (bob_socket, bob)):
        await _send(socket, {"type": "call_accept", "chat_id": group_id, "call_id": call_id})
        await cy_socket.until(is_type("call_accepted", user_id=user.user_id))
    await _send(ana_socket, {"type": "call_end", "chat_id": group_id, "call_id": call_id})
    await cy_socket.until(_is("call_left"))

    seen = await _frame_types_checked(ana_socket, bob_socket, cy_socket)
    assert seen >= {
        "call_status",
        "call_incoming",
        "call_accepted",
        "call_declined",
        "call_cancelled",
        "call_missed",
        "call_left",
        "call_ended",
        "voice_turn",
        "voice_audio",
        "message",
        "error",
    }, seen

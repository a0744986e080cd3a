"""A stored message reaches every member's open sockets, once, whatever happened around its
commit: a DynamoDB reply lost after the write was made, a send repeated after its broadcast
was lost, Redis not answering at the moment of the broadcast.

The faults are real: DynamoDB's reply is lost by a loopback proxy in front of the tests' moto
server (tests/support/dynamo_proxy.py: the write is made, the reply never comes, botocore
times out and retries), and Redis is a server of the test's own, paused with SIGSTOP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
import uuid
from datetime import UTC, datetime

import pytest
import redis

from apps.chats import actions, services
from apps.chats.selectors import chat_get, message_history
from apps.core import dynamo
from apps.core.concurrency import run_blocking
from apps.core.keyvalue import keyvalue_store
from tests.support.accounts import user_create
from tests.support.dynamo_proxy import DynamoProxy
from tests.support.redis_faults import channel_layer_on_own_redis

# botocore's read timeout in these tests: a lost reply costs this long, then botocore retries
# (once: two attempts in all, as against four by default, to keep the tests short).
READ_TIMEOUT_SECONDS = 1
RETRY_ATTEMPTS = 1
# How long Redis is paused or refusing, and how soon after its return the reader must have
# the message (the broadcaster retries every 0.2 s).
FAULT_SECONDS = 2.5
DELIVERED_AFTER_RECOVERY_SECONDS = 1.0


def _of_type(frames, kind):
    return [frame for frame in frames if frame.get("type") == kind]


def _ack_or_error(client_msg_id):
    return lambda frame: (
        frame.get("client_msg_id") == client_msg_id
        and (frame.get("type") == "ack" or "error" in frame)
    )


async def _user(language="en"):
    return await run_blocking(user_create)(language=language)


async def _direct_chat(user, other) -> str:
    created = await run_blocking(services.chat_direct_create)(
        user=user, other_username=other.username
    )
    return created.membership.chat_id


async def _stored(chat_id):
    page = await run_blocking(message_history)(chat_id=chat_id, limit=200, before_seq=None)
    return sorted(page.messages, key=lambda message: int(message.seq))


def _message_texts(frames):
    return [frame["message"]["text"] for frame in _of_type(frames, "message")]


@pytest.fixture
def dynamo_proxy(dynamo_tables):
    """Every model talks to moto through a DynamoProxy, with a short read timeout."""
    target = dynamo.dynamo_target_from_settings()
    proxy = DynamoProxy(upstream=target.host)
    dynamo.dynamo_configure(dataclasses.replace(target, host=proxy.start()))
    retries = {model: model.Meta.max_retry_attempts for model in dynamo._all_models}
    for model in dynamo._all_models:
        model.Meta.read_timeout_seconds = READ_TIMEOUT_SECONDS
        model.Meta.max_retry_attempts = RETRY_ATTEMPTS
        model._connection = None
    yield proxy
    for model, attempts in retries.items():
        model.Meta.max_retry_attempts = attempts
    dynamo.dynamo_configure(target)
    proxy.stop()


@pytest.fixture
def layer_redis(settings):
    """The channel layer on a Redis server of this test's own, so that pausing it or making
    it refuse connections touches only the broadcasts (the key-value store, which claims
    client ids and counts rate limits, stays on the session's Redis)."""
    with channel_layer_on_own_redis(settings) as server:
        yield server


# --- A commit whose reply was lost ------------------------------------------------------------


async def test_a_message_whose_commit_reply_was_lost_is_delivered_once_and_acked_as_new(
    dynamo_proxy, sockets
):
    amy, bob = await _user(), await _user()
    chat_id = await _direct_chat(amy, bob)
    amy_socket, bob_socket = await sockets.open(amy), await sockets.open(bob)

    dynamo_proxy.reply_lose("TransactWriteItems")
    await amy_socket.send({"chat_id": chat_id, "text": "hello once", "client_msg_id": "lost-1"})
    (reply,) = (await amy_socket.until(_ack_or_error("lost-1"), timeout=15))[-1:]

    assert dynamo_proxy.lost == ["TransactWriteItems"]  # the fault did happen
    assert reply.get("type") == "ack", reply
    assert reply["duplicate"] is False
    delivered = _of_type(await bob_socket.drain(), "message")
    assert [frame["message"]["text"] for frame in delivered] == ["hello once"]
    assert [message.original_text for message in await _stored(chat_id)] == ["hello once"]


async def test_a_message_without_client_id_whose_commit_reply_was_lost_is_stored_once(
    dynamo_proxy, sockets
):
    amy, bob = await _user(), await _user()
    chat_id = await _direct_chat(amy, bob)
    bob_socket = await sockets.open(bob)

    dynamo_proxy.reply_lose("TransactWriteItems")
    outcome = await actions.do_send_message(user=amy, chat_id=chat_id, text="no client id")

    assert dynamo_proxy.lost == ["TransactWriteItems"]
    assert outcome.duplicate is False
    assert [message.original_text for message in await _stored(chat_id)] == ["no client id"]
    delivered = _of_type(await bob_socket.drain(), "message")
    assert [frame["message"]["seq"] for frame in delivered] == [1]


async def test_a_commit_never_answered_but_stored_still_reaches_readers_and_a_resend_is_a_duplicate(
    dynamo_proxy, sockets
):
    amy, bob = await _user(), await _user()
    chat_id = await _direct_chat(amy, bob)
    amy_socket, bob_socket = await sockets.open(amy), await sockets.open(bob)

    # Every attempt's reply is lost: the first attempt is applied, botocore's retry refused.
    dynamo_proxy.reply_lose("TransactWriteItems", times=1 + RETRY_ATTEMPTS)
    await amy_socket.send({"chat_id": chat_id, "text": "did it go?", "client_msg_id": "unanswered"})
    (reply,) = (await amy_socket.until(_ack_or_error("unanswered"), timeout=15))[-1:]

    assert "error" in reply  # the sender was told to try again...
    assert [message.original_text for message in await _stored(chat_id)] == ["did it go?"]
    # ...but the message was stored, so its readers get it without anyone resending.
    frames = await bob_socket.until(lambda frame: frame.get("type") == "message", timeout=10)
    assert _message_texts(frames) == ["did it go?"]

    await amy_socket.send({"chat_id": chat_id, "text": "did it go?", "client_msg_id": "unanswered"})
    (reply,) = (await amy_socket.until(_ack_or_error("unanswered"), timeout=10))[-1:]
    assert reply.get("type") == "ack" and reply["duplicate"] is True, reply
    assert not _of_type(await bob_socket.drain(), "message")  # already has it
    assert len(await _stored(chat_id)) == 1


# --- A resend of a message whose broadcast was lost --------------------------------------------


async def _stored_without_broadcast(chat_id, sender, text, client_msg_id):
    """A message committed as a send would, by an instance that died before broadcasting."""
    draft = services.MessageDraft(
        chat_id=chat_id,
        message_id=uuid.uuid4().hex,
        from_user_id=sender.user_id,
        original_text=text,
        original_language=sender.native_language,
        translations={},
        pending_languages=frozenset(),
        client_msg_id=client_msg_id,
        created_at=datetime.now(UTC),
    )
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    return (await run_blocking(services.message_commit)(draft=draft, chat=chat)).message


@pytest.mark.parametrize("claimed", [True, False], ids=["claim-kept", "claim-lost"])
async def test_a_resend_of_a_message_whose_broadcast_was_lost_reaches_readers_live(
    claimed, sockets
):
    amy, bob = await _user(), await _user()
    chat_id = await _direct_chat(amy, bob)
    stored = await _stored_without_broadcast(chat_id, amy, "said once", "orphan")
    if claimed:
        # The first send claimed the client id (the resend is then answered from storage);
        # otherwise the claim expired and the commit finds the client id used.
        await keyvalue_store().put_if_absent(
            f"client_msg:{chat_id}:{amy.user_id}:orphan", "1", ttl_seconds=60
        )
    amy_socket, bob_socket = await sockets.open(amy), await sockets.open(bob)

    await amy_socket.send({"chat_id": chat_id, "text": "said once", "client_msg_id": "orphan"})
    (reply,) = (await amy_socket.until(_ack_or_error("orphan"), timeout=10))[-1:]

    assert reply.get("type") == "ack", reply
    assert reply["duplicate"] is True and reply["message_id"] == stored.message_id
    frames = await bob_socket.until(lambda frame: frame.get("type") == "message", timeout=5)
    frames += await bob_socket.drain()
    assert [frame["message"]["message_id"] for frame in _of_type(frames, "message")] == [
        stored.message_id
    ]
    assert len(await _stored(chat_id)) == 1


async def test_resending_one_client_id_in_a_loop_broadcasts_the_message_again_only_once(
    layer_redis, sockets
):
    amy, bob = await _user(), await _user()
    chat_id = await _direct_chat(amy, bob)
    amy_socket = await sockets.open(amy)
    await amy_socket.send({"chat_id": chat_id, "text": "once", "client_msg_id": "loop"})
    await amy_socket.until(_ack_or_error("loop"))
    admin = redis.Redis.from_url(layer_redis.url)

    def publishes() -> int:
        return int(admin.info("commandstats").get("cmdstat_publish", {}).get("calls", 0))

    try:
        await asyncio.sleep(0.2)  # the first broadcast is out
        before = publishes()
        for _ in range(10):
            await amy_socket.send({"chat_id": chat_id, "text": "once", "client_msg_id": "loop"})
            (reply,) = (await amy_socket.until(_ack_or_error("loop")))[-1:]
            assert reply.get("type") == "ack" and reply["duplicate"] is True, reply
        await asyncio.sleep(0.2)
        assert publishes() - before == 2  # one repeat, to each of the two members
    finally:
        admin.close()


# --- Redis at the moment of the broadcast -------------------------------------------------------


async def _group(owner, *others) -> str:
    created = await run_blocking(services.chat_group_create)(
        user=owner, title="Quiet", usernames=[other.username for other in others]
    )
    return created.membership.chat_id


async def test_a_message_stored_while_redis_is_paused_reaches_quiet_readers_when_it_returns(
    layer_redis, translator, sockets
):
    translator.delay_seconds = 0.3  # announced to Eva while Redis is paused
    amy, bob, eva = await _user("en"), await _user("en"), await _user("es")
    chat_id = await _group(amy, bob, eva)
    amy_socket = await sockets.open(amy)
    bob_socket, eva_socket = await sockets.open(bob), await sockets.open(eva)

    os.kill(layer_redis.process.pid, signal.SIGSTOP)
    paused_at = time.monotonic()
    await amy_socket.send({"chat_id": chat_id, "text": "anyone there?", "client_msg_id": "paused"})
    (reply,) = (await amy_socket.until(_ack_or_error("paused"), timeout=FAULT_SECONDS))[-1:]
    acked_after = time.monotonic() - paused_at
    await asyncio.sleep(max(0.0, paused_at + FAULT_SECONDS - time.monotonic()))
    os.kill(layer_redis.process.pid, signal.SIGCONT)

    assert reply.get("type") == "ack" and reply["duplicate"] is False, reply
    assert acked_after < FAULT_SECONDS  # the ack did not wait for Redis
    for socket, text in ((bob_socket, "anyone there?"), (eva_socket, "[es] anyone there?")):
        frames = await socket.until(
            lambda frame: frame.get("type") == "message", timeout=DELIVERED_AFTER_RECOVERY_SECONDS
        )
        # Publishes sent while Redis was paused were taken when it resumed, before the
        # broadcaster's successful one was answered: all of them come before the drain's marker.
        frames += await socket.drain()
        assert _message_texts(frames) == [text]


async def test_a_broadcast_refused_by_redis_is_retried_until_redis_takes_it(layer_redis, sockets):
    amy, bob = await _user(), await _user()
    chat_id = await _direct_chat(amy, bob)
    amy_socket, bob_socket = await sockets.open(amy), await sockets.open(bob)
    await amy_socket.send({"chat_id": chat_id, "text": "first", "client_msg_id": "warm"})
    await bob_socket.until(lambda frame: frame.get("type") == "message")

    # The pooled publishing connection is closed under the layer, and new connections are
    # refused (Redis at its client limit); the sockets' subscriptions stay.
    admin = redis.Redis.from_url(layer_redis.url)
    try:
        admin.client_kill_filter(_type="normal", skipme=True)
        limit = admin.config_get("maxclients")["maxclients"]
        admin.config_set("maxclients", admin.info("clients")["connected_clients"])
        refused_at = time.monotonic()
        await amy_socket.send({"chat_id": chat_id, "text": "second", "client_msg_id": "refused"})
        (reply,) = (await amy_socket.until(_ack_or_error("refused"), timeout=FAULT_SECONDS))[-1:]
        # Redis refuses the drain's marker too, so a window; it costs nothing: the fault lasts
        # FAULT_SECONDS from refused_at whatever happens here.
        assert not _of_type(await bob_socket.collect(0.5), "message")  # Redis refused it
        await asyncio.sleep(max(0.0, refused_at + FAULT_SECONDS - time.monotonic()))
        admin.config_set("maxclients", limit)
    finally:
        admin.close()

    assert reply.get("type") == "ack" and reply["duplicate"] is False, reply
    frames = await bob_socket.until(
        lambda frame: frame.get("type") == "message", timeout=DELIVERED_AFTER_RECOVERY_SECONDS
    )
    frames += await bob_socket.drain()
    assert _message_texts(frames) == ["second"]


# --- DynamoDB failing around a delivery ---------------------------------------------------------


async def test_a_gap_that_cannot_be_filled_closes_the_socket_with_resume_not_an_error(
    dynamo_proxy, sockets
):
    amy, bob = await _user(), await _user("es")
    chat_id = await _direct_chat(amy, bob)
    bob_socket = await sockets.open(bob)
    await bob_socket.send({"type": "resume", "chats": {chat_id: 0}})
    await bob_socket.until(lambda frame: frame.get("type") == "resume_complete")
    # Stored without a broadcast, so bob's socket misses it and must read it to keep order.
    chat = await run_blocking(chat_get)(chat_id=chat_id)
    missed = services.MessageDraft(
        chat_id=chat_id,
        message_id=uuid.uuid4().hex,
        from_user_id=amy.user_id,
        original_text="missed",
        original_language="en",
        translations={"es": "perdido"},
        pending_languages=frozenset(),
        client_msg_id=None,
        created_at=datetime.now(UTC),
    )
    await run_blocking(services.message_commit)(draft=missed, chat=chat)

    dynamo_proxy.reply_lose("Query", times=1 + RETRY_ATTEMPTS)
    amy_socket = await sockets.open(amy)
    # Nothing to translate: a translated send would first read the chat's last messages for
    # its context (translation_context.py) and meet the lost Query replies itself.
    await amy_socket.send({"chat_id": chat_id, "text": "👍 12:30", "client_msg_id": "gap-1"})

    assert await bob_socket.close_code(timeout=15) == 4008
    assert "Query" in dynamo_proxy.lost  # the gap fill did meet the fault


async def test_a_send_dynamodb_never_answers_is_answered_as_a_wait(dynamo_proxy, sockets):
    amy, bob = await _user(), await _user()
    chat_id = await _direct_chat(amy, bob)
    amy_socket = await sockets.open(amy)

    dynamo_proxy.reply_lose("TransactWriteItems", times=1 + RETRY_ATTEMPTS)
    await amy_socket.send({"chat_id": chat_id, "text": "into the void", "client_msg_id": "void-1"})
    (reply,) = (await amy_socket.until(_ack_or_error("void-1"), timeout=20))[-1:]

    assert reply.get("error") == "The service is briefly unavailable; try again in a moment", reply
    assert reply["retry_after"] == 2

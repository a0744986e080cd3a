"""Overload without collapse: at most SENDS_IN_FLIGHT_MAX sends in progress per process
(apps/core/admission.py, apps/chats/sending.py send_gate). Past it, after a short wait, a
send is refused at once as `busy` (socket: an error frame with `code` and `retry_after`;
REST: 503 with Retry-After), with nothing claimed or stored, so the client's resend of the
same client_msg_id goes through once the server has room.

The sends in progress are held up for real: the loopback translator answers late.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from apps.chats import services
from apps.chats.selectors import message_history, message_of_client_id
from apps.chats.translation import translation_clients_close
from apps.core.admission import BUSY_RETRY_AFTER_MAX_SECONDS, AdmissionGate, DeliveryWatch
from apps.core.concurrency import run_blocking
from apps.core.errors import Busy
from apps.core.keyvalue import keyvalue_store
from tests.support.accounts import user_create, user_token
from tests.support.loops import owed_translation_retries_cancel

BUSY = "The server is busy; try again in a moment"
# The translator's hang: long enough to hold two sends while the third is refused, well
# under the first-token timeout (4 s), so the held sends end translated.
HANG_SECONDS = 1.5
WAIT_SECONDS = 0.2


@pytest.fixture(autouse=True)
async def _tidy_event_loop():
    yield
    await owed_translation_retries_cancel()
    await translation_clients_close()


@pytest.fixture
def two_sends_at_once(settings):
    settings.SENDS_IN_FLIGHT_MAX = 2
    settings.SENDS_IN_FLIGHT_WAIT_SECONDS = WAIT_SECONDS


async def _amy_and_eva():
    amy = await run_blocking(user_create)(language="en")
    eva = await run_blocking(user_create)(language="es")
    created = await run_blocking(services.chat_direct_create)(user=amy, other_username=eva.username)
    return amy, eva, created.membership.chat_id


async def _stored(chat_id):
    page = await run_blocking(message_history)(chat_id=chat_id, limit=100, before_seq=None)
    return page.messages


HELD = ("held-1", "held-2")


async def _sends_held(socket, chat_id, translator):
    """Two sends in progress, waiting on a translator that hangs: every place taken."""
    translator.delay_seconds = HANG_SECONDS
    for client_msg_id in HELD:
        await socket.send(
            {"chat_id": chat_id, "text": client_msg_id, "client_msg_id": client_msg_id}
        )
    await asyncio.sleep(0.1)


def _answer_to(client_msg_id):
    return lambda frame: (
        frame.get("client_msg_id") == client_msg_id
        and (frame.get("type") == "ack" or "error" in frame)
    )


async def _claimed(chat_id, user, client_msg_id) -> bool:
    """Whether the send claimed its client id (a refused one must not have)."""
    key = f"client_msg:{chat_id}:{user.user_id}:{client_msg_id}"
    return not await keyvalue_store().put_if_absent(key, "probe", ttl_seconds=1)


async def test_a_send_past_the_bound_is_refused_busy_at_once_and_its_resend_goes_through(
    two_sends_at_once, translator, sockets
):
    amy, _eva, chat_id = await _amy_and_eva()
    amy_socket = await sockets.open(amy)
    await _sends_held(amy_socket, chat_id, translator)

    started = time.monotonic()
    await amy_socket.send({"chat_id": chat_id, "text": "third", "client_msg_id": "third"})
    refusal = await amy_socket.wait_for(_answer_to("third"), timeout=5)
    refused_after = time.monotonic() - started

    assert refusal == {
        "error": BUSY,
        "chat_id": chat_id,
        "client_msg_id": "third",
        "retry_after": 1,
        "code": "busy",
    }
    # Promptly: the short wait for a place, not the held sends' time.
    assert refused_after < WAIT_SECONDS + 0.5 < HANG_SECONDS
    # Nothing of it was claimed or stored.
    assert not await _claimed(chat_id, amy, "third")
    assert (
        await run_blocking(message_of_client_id)(
            chat_id=chat_id, sender_id=amy.user_id, client_msg_id="third"
        )
        is None
    )

    # The hang ends: the held sends are acknowledged, and the resend now goes through.
    translator.delay_seconds = 0
    for client_msg_id in HELD:
        answer = await amy_socket.wait_for(_answer_to(client_msg_id), timeout=10)
        assert answer["type"] == "ack", answer
    await amy_socket.send({"chat_id": chat_id, "text": "third", "client_msg_id": "third"})
    ack = await amy_socket.wait_for(_answer_to("third"), timeout=10)
    assert ack["type"] == "ack" and ack["duplicate"] is False, ack
    assert sorted(m.original_text for m in await _stored(chat_id)) == ["held-1", "held-2", "third"]


async def test_a_rest_send_past_the_bound_is_503_with_retry_after_and_nothing_stored(
    two_sends_at_once, translator, sockets, async_client
):
    amy, _eva, chat_id = await _amy_and_eva()
    amy_socket = await sockets.open(amy)
    await _sends_held(amy_socket, chat_id, translator)

    path = f"/api/chats/{chat_id}/messages"
    headers = {"Authorization": f"Bearer {user_token(amy)}"}
    body = {"text": "over REST", "client_msg_id": "rest-1"}
    started = time.monotonic()
    refused = await async_client.post(path, body, content_type="application/json", headers=headers)
    assert time.monotonic() - started < WAIT_SECONDS + 0.5
    assert refused.status_code == 503, refused.content
    assert refused["Retry-After"] == "1"
    assert refused.json() == {"detail": BUSY}
    assert not await _claimed(chat_id, amy, "rest-1")

    translator.delay_seconds = 0
    for client_msg_id in HELD:
        await amy_socket.wait_for(_answer_to(client_msg_id), timeout=10)
    accepted = await async_client.post(path, body, content_type="application/json", headers=headers)
    assert accepted.status_code == 201, accepted.content
    assert [m.original_text for m in await _stored(chat_id)].count("over REST") == 1


async def test_the_gate_admits_a_waiter_when_a_place_frees_and_bounds_those_waiting():
    gate = AdmissionGate(limit=1, wait_seconds=1.0, max_waiting=1, busy_detail="busy")
    release = asyncio.Event()

    async def hold():
        async with gate.admitted():
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    assert gate.in_progress == 1

    async def wait_then_enter():
        async with gate.admitted():
            return "admitted"

    waiter = asyncio.create_task(wait_then_enter())
    await asyncio.sleep(0)
    assert gate.waiting == 1
    # A second waiter would pass the bound on those waiting: refused without waiting.
    started = time.monotonic()
    with pytest.raises(Busy) as refused:
        async with gate.admitted():
            pass
    assert time.monotonic() - started < 0.1
    assert refused.value.retry_after == 1 and refused.value.code == "busy"

    release.set()
    assert await waiter == "admitted"
    await holder
    assert (gate.in_progress, gate.waiting, gate.refused) == (0, 0, 1)


async def test_a_waiter_is_refused_after_the_wait_and_leaves_the_gate_whole():
    gate = AdmissionGate(limit=1, wait_seconds=0.1, max_waiting=4, busy_detail="busy")
    async with gate.admitted():
        with pytest.raises(Busy):
            async with gate.admitted():
                pass
        assert gate.waiting == 0
    # The place is free again, and taken at once.
    async with gate.admitted():
        assert gate.in_progress == 1


async def test_the_broadcaster_publishes_to_many_readers_at_once_each_readers_frames_in_order(
    monkeypatch,
):
    """The frames after a write go out a batch at a time, one frame per reader in a batch,
    so a slow round trip to Redis is paid once per batch, not once per frame, and the
    broadcaster keeps up when the event loop is busy; each reader's frames keep their order."""
    from apps.chats import events

    published: list[tuple[str, int]] = []
    at_once = 0
    most_at_once = 0

    async def slow_deliver(user_ids, frame):
        nonlocal at_once, most_at_once
        at_once += 1
        most_at_once = max(most_at_once, at_once)
        await asyncio.sleep(0.05)  # one Redis round trip on a busy loop
        at_once -= 1
        published.extend((user_id, frame["message"]["seq"]) for user_id in user_ids)

    monkeypatch.setattr(events, "_deliver", slow_deliver)
    broadcaster = events._Broadcaster()
    readers = [f"reader-{number}" for number in range(16)]
    for seq in (1, 2):
        for reader in readers:
            broadcaster.put(reader, {"type": "message", "chat_id": "c", "message": {"seq": seq}})
    started = time.monotonic()
    assert await broadcaster.settle(timeout=5)
    # 32 frames: two batches of 16 (one at a time would take 32 round trips, 1.6 s).
    assert time.monotonic() - started < 0.6
    assert most_at_once == 16
    for reader in readers:
        assert [seq for user_id, seq in published if user_id == reader] == [1, 2]


async def test_the_gate_refuses_while_the_event_loop_runs_late_and_admits_once_it_catches_up():
    """However few sends are in progress, a loop that runs behind at every turn would
    deliver late: sends are refused until it catches up. One slow moment does not count."""
    gate = AdmissionGate(
        limit=100, wait_seconds=0.1, max_waiting=100, busy_detail="busy", max_loop_lag=0.03
    )
    async with gate.admitted():  # the loop's lateness is watched from now on
        pass
    await asyncio.sleep(0.1)
    time.sleep(0.3)  # noqa: ASYNC251 -- one slow moment (a first import, a collection)
    await asyncio.sleep(0.1)
    async with gate.admitted():
        pass

    async def hold_up_the_loop():
        for _ in range(20):
            time.sleep(0.1)  # noqa: ASYNC251 -- CPU-bound work at every turn
            await asyncio.sleep(0)

    busy_loop = asyncio.create_task(hold_up_the_loop())
    await asyncio.sleep(1.0)
    assert gate.loop_lag.seconds > 0.03
    with pytest.raises(Busy):
        async with gate.admitted():
            pass
    await busy_loop
    await asyncio.sleep(0.2)
    async with gate.admitted():
        assert gate.in_progress == 1


class _SocketWithoutAccount:
    """Just enough of a socket for the chat handlers' refusals: what is sent to it."""

    def __init__(self) -> None:
        self.scope: dict = {}
        self.ended = False
        self.sent: list[dict] = []

    async def send_json(self, payload) -> None:
        self.sent.append(dict(payload))

    async def end(self, *, code: int) -> None:
        self.ended = True


async def test_a_send_with_no_room_is_refused_before_any_task_is_made_for_it(settings):
    """Past capacity most sends are refused; each refusal is answered from the frame handler
    itself, so it costs no task, coroutine or wait of its own."""
    from apps.chats.sending import send_gate
    from apps.realtime.chat_handlers import ChatHandlers

    settings.SENDS_IN_FLIGHT_MAX = 1
    settings.SENDS_IN_FLIGHT_WAIT_SECONDS = 0
    socket = _SocketWithoutAccount()
    handlers = ChatHandlers(socket=socket, delivery=None, failure_log=lambda *_: None)
    async with send_gate().admitted():  # the one place is taken
        tasks_before = asyncio.all_tasks()
        await handlers.on_send({"chat_id": "chat-1", "text": "hello", "client_msg_id": "m1"})
        assert asyncio.all_tasks() == tasks_before
        assert handlers.sends == set()
    assert socket.sent == [
        {
            "error": BUSY,
            "chat_id": "chat-1",
            "client_msg_id": "m1",
            "retry_after": 1,
            "code": "busy",
        }
    ]
    assert send_gate().refused == 1


async def test_far_past_capacity_the_refused_are_told_to_come_back_later():
    """A refusal per admission: come back in a second. Many refusals per admission: later,
    in proportion, up to a bound, so that those refused do not all return to be refused
    again while the admitted work needs the CPU."""
    gate = AdmissionGate(limit=1, wait_seconds=0, max_waiting=0, busy_detail="busy")
    async with gate.admitted():
        first = gate.refusal_now()
        assert first is not None and first.retry_after == 1
        waits = [
            refusal.retry_after for refusal in (gate.refusal_now() for _ in range(40)) if refusal
        ]
    assert waits[:4] == [2, 3, 4, 5]
    assert waits[-1] == BUSY_RETRY_AFTER_MAX_SECONDS


async def test_the_gate_refuses_while_an_answered_send_is_not_delivered_and_admits_once_it_is():
    gate = AdmissionGate(
        limit=100, wait_seconds=0.1, max_waiting=100, busy_detail="busy", max_delivery_lag=0.05
    )
    sockets = [object() for _ in range(3)]
    for number, socket in enumerate(sockets):
        gate.delivery_watch.went_out(f"m{number}", by=socket)
    async with gate.admitted():  # just answered: not late yet
        pass
    await asyncio.sleep(0.1)
    assert gate.delivery_watch.oldest_seconds > 0.05
    assert gate.refusal_now() is not None
    with pytest.raises(Busy):
        async with gate.admitted():
            pass
    gate.delivery_watch.came_back("m1")  # two sockets behind: not the process
    assert gate.refusal_now() is None
    async with gate.admitted():
        assert gate.in_progress == 1
    assert gate.refused == 2


async def test_one_socket_holding_up_its_own_copies_does_not_make_the_process_late():
    """A consumer busy with a long catch-up for a client that does not read holds up only
    its own copies: that alone must not refuse everyone's sends."""
    watch = DeliveryWatch(quorum=3)
    stuck, other = object(), object()
    stuck_since = time.monotonic()
    for number in range(10):
        watch.went_out(f"stuck-{number}", by=stuck)
    watch.went_out("other", by=other)
    await asyncio.sleep(0.1)
    assert watch.oldest_seconds == 0.0
    watch.went_out("third", by=object())
    # Late by the third socket's copy, not by the stuck one's.
    assert 0 < watch.oldest_seconds <= time.monotonic() - stuck_since - 0.1


async def test_a_delivery_never_seen_coming_back_stops_counting_after_a_while():
    """A copy that never arrives (its frame dropped, its socket gone) must not refuse sends
    for good."""
    watch = DeliveryWatch(expire_seconds=0.05, quorum=1)
    watch.went_out("lost", by=object())
    await asyncio.sleep(0.1)
    assert watch.oldest_seconds == 0.0
    assert watch.on_the_way == 0


async def test_sends_wait_for_the_deliveries_after_their_acks(
    settings, translator, sockets, monkeypatch
):
    """The socket notes each ack and the sender's own copy coming back through the
    broadcaster and Redis; while copies are held up longer than
    SENDS_DELIVERY_LAG_MAX_SECONDS, new sends are refused `busy`, and taken again once the
    backlog has gone out. A socket that closes stops waiting for its copies."""
    from apps.chats import events
    from apps.chats.sending import send_gate
    from apps.core import admission

    settings.SENDS_DELIVERY_LAG_MAX_SECONDS = 0.2
    monkeypatch.setattr(admission, "DELIVERY_WATCH_QUORUM", 1)  # one socket here
    deliveries_flow = asyncio.Event()
    deliver = events._deliver

    async def deliver_when_flowing(user_ids, frame):
        await deliveries_flow.wait()  # a broadcaster or Redis that has fallen behind
        await deliver(user_ids, frame)

    monkeypatch.setattr(events, "_deliver", deliver_when_flowing)
    amy, _eva, chat_id = await _amy_and_eva()
    amy_socket = await sockets.open(amy)
    watch = send_gate().delivery_watch

    await amy_socket.send({"chat_id": chat_id, "text": "first", "client_msg_id": "first"})
    ack = await amy_socket.wait_for(_answer_to("first"), timeout=10)
    assert ack["type"] == "ack", ack
    assert watch.on_the_way == 1
    await asyncio.sleep(0.3)
    await amy_socket.send({"chat_id": chat_id, "text": "second", "client_msg_id": "second"})
    refusal = await amy_socket.wait_for(_answer_to("second"), timeout=5)
    assert refusal["code"] == "busy" and refusal["retry_after"] == 1, refusal

    deliveries_flow.set()
    await amy_socket.wait_for(_own_copy_of(ack), timeout=5)
    assert watch.on_the_way == 0
    await amy_socket.send({"chat_id": chat_id, "text": "second", "client_msg_id": "second"})
    accepted = await amy_socket.wait_for(_answer_to("second"), timeout=10)
    assert accepted["type"] == "ack", accepted

    await amy_socket.wait_for(_own_copy_of(accepted), timeout=5)

    deliveries_flow.clear()
    await amy_socket.send({"chat_id": chat_id, "text": "third", "client_msg_id": "third"})
    await amy_socket.wait_for(_answer_to("third"), timeout=10)
    assert watch.on_the_way == 1
    await amy_socket.close()
    assert watch.on_the_way == 0
    deliveries_flow.set()


def _own_copy_of(ack):
    return lambda frame: (
        frame.get("type") == "message" and frame["message"]["message_id"] == ack["message_id"]
    )

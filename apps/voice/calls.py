"""Calls over the chat socket: ring, answer, decline, cancel, hang up, and miss.

A chat has at most one call at a time. Its state lives in Redis (apps.voice.services), so any
instance can handle any frame of it; every change is a compare-and-set, so when two things
happen at once (an answer as the ring times out, say) exactly one wins. Every member of the
chat hears of each change (apps.voice.events). The media itself goes through LiveKit (room
`chat-{chat_id}`, tokens from `POST /api/voice/token`).

A call that ends without an answer (missed after VOICE_RING_TIMEOUT_SECONDS, declined, or
cancelled) and an answered call when it ends (with its duration) become a message of kind
"call" in the chat history, written through the chat services.

In a group chat, any member may answer; others may join the call while it is active, and
it ends when fewer than two participants remain. A member declining a group call ends it
only once every member but the caller has declined.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from django.conf import settings

from apps.accounts.models import User
from apps.chats import events as chat_events
from apps.chats.selectors import map_as_dict
from apps.core.concurrency import run_blocking
from apps.core.errors import Conflict, Forbidden
from apps.voice import events, limits, services, turns
from apps.voice.background import background_run
from apps.voice.phrases import CALL_CANCELLED, CALL_DECLINED, CALL_ENDED, CALL_MISSED
from apps.voice.selectors import CALL_ACTIVE, CALL_RINGING, Call, call_get, voice_chat_get

logger = logging.getLogger(__name__)

LEFT_REASON_HANGUP = "hangup"
LEFT_REASON_DISCONNECTED = "left"

# Ring timers running in this process, by call id: stopped when the call is answered or over.
_ring_timers: dict[str, asyncio.Task] = {}


CALL_IN_PROGRESS = "A call is already in progress in this chat"


class CallInProgress(Conflict):
    """The chat already has a call; `call` is it (the error frame carries it)."""

    def __init__(self, detail: str, *, call: Call | None) -> None:
        super().__init__(detail)
        self.call = call


def _now() -> datetime:
    return datetime.now(UTC)


async def call_start(*, user: User, chat_id: str) -> Call:
    """Ring the chat's other members. Limited per caller and per chat (apps.voice.limits); a
    refused start stores nothing and rings nobody. Outsiders get 404 "Chat not found" whether
    or not the chat exists or has a call."""
    await limits.call_start_limit_check(user_id=user.user_id)
    chat = await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user.user_id)
    current = await call_get(chat_id=chat_id)
    if current is not None:
        # Before the chat's limit: pressing "call" during a call costs the chat nothing.
        raise CallInProgress(CALL_IN_PROGRESS, call=current)
    await limits.chat_call_start_limit_check(chat_id=chat_id)
    call = services.call_new(
        caller=user, chat_id=chat_id, member_languages=map_as_dict(chat.member_languages)
    )
    if not await services.call_state_create(call=call):
        current = await call_get(chat_id=chat_id)
        raise CallInProgress(CALL_IN_PROGRESS, call=current)
    _ring_timers[call.call_id] = background_run(_ring_timeout(call), name=f"ring-{call.call_id}")
    await events.call_incoming_broadcast(
        call=call,
        caller_name=services.user_display_name(user=user),
        caller_username=user.username,
        ring_timeout_seconds=settings.VOICE_RING_TIMEOUT_SECONDS,
    )
    return call


async def call_status_get(*, user: User, chat_id: str) -> Call | None:
    """The chat's call, for a member; outsiders get 404 "Chat not found" as for no chat."""
    await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user.user_id)
    return await call_get(chat_id=chat_id)


def _member_check(call: Call, user_id: str) -> None:
    """Someone who was not a member when the call started is told what they would be told
    if there were no call at all."""
    if user_id not in call.member_languages:
        raise services.CallGone(services.CALL_GONE)


async def call_accept(*, user: User, chat_id: str, call_id: str) -> Call:
    """Answer, or join a group call under way. Only a member of the chat now may: joining
    hears every turn's words."""
    await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user.user_id)
    moment = _now().isoformat()

    def accept(current: Call) -> Call:
        _member_check(current, user.user_id)
        if user.user_id in current.participants:
            raise Conflict("You are already in this call")
        if current.state == CALL_RINGING:
            return current.changed(
                state=CALL_ACTIVE,
                participants=(*current.participants, user.user_id),
                answered_at=moment,
            )
        # A group call that is under way: join it.
        return current.changed(participants=(*current.participants, user.user_id))

    before, after = await services.call_state_change(
        chat_id=chat_id, call_id=call_id, change=accept
    )
    _ring_timer_stop(call_id)
    await events.call_accepted_broadcast(call=after, user_id=user.user_id)
    return after


async def call_decline(*, user: User, chat_id: str, call_id: str) -> Call | None:
    """Decline a ringing call. Returns the call still ringing for others (a group), or None
    when the call is over."""

    def decline(current: Call) -> Call | None:
        _member_check(current, user.user_id)
        if current.state != CALL_RINGING:
            raise Conflict("The call was already answered")
        if user.user_id == current.caller_id:
            raise Conflict("The caller cancels a call, not declines it")
        declined = tuple(sorted({*current.declined, user.user_id}))
        others = set(current.member_languages) - {current.caller_id}
        if others <= set(declined):
            return None
        return current.changed(declined=declined)

    before, after = await services.call_state_change(
        chat_id=chat_id, call_id=call_id, change=decline
    )
    final = after is None
    await events.call_declined_broadcast(call=before, user_id=user.user_id, final=final)
    if final:
        _ring_timer_stop(call_id)
        await _call_message_store(call=before, outcome=CALL_DECLINED)
    return after


async def call_cancel(*, user: User, chat_id: str, call_id: str) -> None:
    def cancel(current: Call) -> None:
        _member_check(current, user.user_id)
        if current.caller_id != user.user_id:
            raise Forbidden("Only the caller can cancel a call")
        if current.state != CALL_RINGING:
            raise Conflict("The call was already answered; end it instead")
        return None

    before, _ = await services.call_state_change(chat_id=chat_id, call_id=call_id, change=cancel)
    _ring_timer_stop(call_id)
    await events.call_cancelled_broadcast(call=before, user_id=user.user_id)
    await _call_message_store(call=before, outcome=CALL_CANCELLED)


LEAVE_ATTEMPTS = 3


async def call_leave(
    *, user: User, chat_id: str, call_id: str, reason: str = LEFT_REASON_HANGUP
) -> Call | None:
    """Hang up. A ringing call is cancelled (the caller) or declined (anyone else); an active
    one loses this participant, and ends when fewer than two remain. A push-to-talk turn
    under way in the call returns to idle: someone it was for has gone. Returns the call as
    it goes on, or None when it is over for this user."""
    error: Conflict | None = None
    for _ in range(LEAVE_ATTEMPTS):
        current = await call_get(chat_id=chat_id)
        if current is None or current.call_id != call_id:
            raise services.CallGone(services.CALL_GONE)
        _member_check(current, user.user_id)
        try:
            if current.state == CALL_RINGING:
                if current.caller_id == user.user_id:
                    await call_cancel(user=user, chat_id=chat_id, call_id=call_id)
                    return None
                return await call_decline(user=user, chat_id=chat_id, call_id=call_id)
            return await _call_hang_up(user=user, chat_id=chat_id, call_id=call_id, reason=reason)
        except Conflict as conflict:
            # The call changed between the read and the change (answered as the caller
            # hung up, say): look again.
            error = conflict
    raise error


async def _call_hang_up(*, user: User, chat_id: str, call_id: str, reason: str) -> Call | None:
    def leave(current: Call) -> Call | None:
        if current.state != CALL_ACTIVE:
            raise Conflict("The call was not answered yet")
        if user.user_id not in current.participants:
            raise Conflict("You are not in this call")
        remaining = tuple(uid for uid in current.participants if uid != user.user_id)
        if len(remaining) < 2:
            return None
        return current.changed(participants=remaining)

    before, after = await services.call_state_change(chat_id=chat_id, call_id=call_id, change=leave)
    await turns.turn_abort(
        chat_id=chat_id,
        call_id=call_id,
        error=f"{services.user_display_name(user=user)} left the call",
        error_code="participant_left",
    )
    if after is not None:
        await events.call_left_broadcast(call=after, user_id=user.user_id)
        return after
    duration = _duration_seconds(before)
    await events.call_ended_broadcast(
        call=before, user_id=user.user_id, reason=reason, duration_seconds=duration
    )
    await _call_message_store(call=before, outcome=CALL_ENDED, duration_seconds=duration)
    return None


def _duration_seconds(call: Call) -> int:
    if not call.answered_at:
        return 0
    answered = datetime.fromisoformat(call.answered_at)
    return max(0, round((_now() - answered).total_seconds()))


async def _ring_timeout(call: Call) -> None:
    await asyncio.sleep(settings.VOICE_RING_TIMEOUT_SECONDS)
    _ring_timers.pop(call.call_id, None)

    def miss(current: Call) -> None:
        if current.state != CALL_RINGING:
            raise Conflict("answered")
        return None

    try:
        before, _ = await services.call_state_change(
            chat_id=call.chat_id, call_id=call.call_id, change=miss
        )
    except (services.CallGone, Conflict):
        return  # answered, declined or cancelled meanwhile
    await events.call_missed_broadcast(call=before)
    await _call_message_store(call=before, outcome=CALL_MISSED)


def _ring_timer_stop(call_id: str) -> None:
    timer = _ring_timers.pop(call_id, None)
    if timer is not None and timer is not asyncio.current_task():
        timer.cancel()


async def _call_message_store(
    *, call: Call, outcome: str, duration_seconds: int | None = None
) -> None:
    try:
        committed = await run_blocking(services.call_message_commit)(
            call=call, outcome=outcome, duration_seconds=duration_seconds
        )
    except Exception:
        logger.exception(
            "the %s call message for chat %s could not be stored", outcome, call.chat_id
        )
        return
    if committed is not None and not committed.duplicate:
        await chat_events.message_broadcast(
            message=committed.message, member_languages=committed.member_languages
        )

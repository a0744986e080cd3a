"""Web Push for people who are away: a member with no socket open on any instance, who has
subscribed a browser (apps/accounts/push_subscriptions.py), is sent each new message of their
chats as a push, in their own language, which the front end's service worker shows as a
notification even while Commonality is closed.

A push is a hint, sent after the message is stored and broadcast, from a queue of this
process's (`_PushQueue`): nothing on the send path waits for it, and a push service that is
slow or down delays or loses pushes, never a message. The queue is bounded
(`WEB_PUSH_QUEUE_MAX`, the oldest dropped beyond it), and at most PUSH_SENDS_AT_ONCE pushes are
in flight. Per away member and message it costs one Redis ZCOUNT (is a socket open?), one
Redis GET (the stamp of their last change to what decides their pushes:
apps/accounts/push_subscriptions.py) and, at most once a minute per user and process or when
that stamp changed, one GetItem of their subscriptions; for one who has a subscription, at
most once a minute per member, chat and process or when the stamp changed, one GetItem of
whether they muted the chat (a muted chat's messages are not pushed; its calls still ring, as
WhatsApp's do). So a mute, an unsubscribe or a log out everywhere through one instance holds
on every instance from the next push on.

Whoever has a socket open gets the message on it (and the page itself notifies while its tab is
hidden: frontend/src/lib/notifications.ts), so a push never repeats what a page shows. A socket
of an instance that died counts as open until its lease lapses (2.5 minutes at most).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass

from django.conf import settings

from apps.accounts.push_subscriptions import (
    push_settings_stamp,
    push_subscription_remove,
    push_targets_of,
)
from apps.accounts.selectors import user_display_name, user_get
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.models import CHAT_KIND_GROUP, Message
from apps.chats.presenters import ReadLanguages, message_view
from apps.chats.protocol import PushPayload
from apps.chats.selectors import chat_muted_by
from apps.core.concurrency import run_blocking
from apps.core.keyvalue import keyvalue_store, socket_lease_key
from apps.core.recent_copies import RecentCopies
from apps.core.web_push import PushTarget, web_push_enabled, web_push_send

logger = logging.getLogger(__name__)

PUSH_SENDS_AT_ONCE = 8
PUSH_BODY_MAX_CHARS = 200
# How long this process trusts what it read of a user's subscriptions, mutes and name while
# their change stamp stays the same (a name change shows in pushes at most this much later).
PUSH_LOOKUP_KEPT_SECONDS = 60.0
PUSH_LOOKUPS_KEPT = 10_000


@dataclass(frozen=True)
class _MessagePush:
    member_id: str
    language: str
    read_languages: tuple[str, ...]
    message: Message


@dataclass(frozen=True)
class _CallPush:
    member_id: str
    chat_id: str
    call_id: str
    title: str
    body: str
    # A ring is over when it times out: a push that arrives later must not ring.
    ttl_seconds: int


_PushJob = _MessagePush | _CallPush


# Each copy is kept with the user's change stamp read before it (push_settings_stamp).
_targets: RecentCopies[tuple[str | None, list[PushTarget]]] = RecentCopies(
    seconds=PUSH_LOOKUP_KEPT_SECONDS, kept=PUSH_LOOKUPS_KEPT
)
_names: RecentCopies[str] = RecentCopies(seconds=PUSH_LOOKUP_KEPT_SECONDS, kept=PUSH_LOOKUPS_KEPT)
# `<user_id>#<chat_id>` -> whether that member muted that chat.
_mutes: RecentCopies[tuple[str | None, bool]] = RecentCopies(
    seconds=PUSH_LOOKUP_KEPT_SECONDS, kept=PUSH_LOOKUPS_KEPT
)


class _PushQueue:
    def __init__(self) -> None:
        self._jobs: deque[_PushJob] = deque()
        self._task: asyncio.Task | None = None
        self.dropped = 0

    def put(self, job: _PushJob) -> None:
        self._jobs.append(job)
        while len(self._jobs) > settings.WEB_PUSH_QUEUE_MAX:
            self._jobs.popleft()
            self.dropped += 1
            logger.warning("a push was dropped: too many are waiting")
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="web push")

    async def settle(self, *, timeout: float) -> None:
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await asyncio.wait([task], timeout=timeout)

    async def _run(self) -> None:
        in_flight: set[asyncio.Task] = set()
        while self._jobs or in_flight:
            while self._jobs and len(in_flight) < PUSH_SENDS_AT_ONCE:
                in_flight.add(asyncio.create_task(_push_one(self._jobs.popleft())))
            _, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)


_queue = _PushQueue()


async def pushes_settle(*, timeout: float = 5.0) -> None:
    """Wait for the pushes handed over so far (tests; a process about to end)."""
    await _queue.settle(timeout=timeout)


def message_push_offer(
    *,
    message: Message,
    member_languages: dict[str, str],
    read_languages: ReadLanguages | None = None,
) -> None:
    """Hand a newly stored message to the push queue for every member but its author; each
    is pushed only if they turn out to be away and subscribed. Returns at once."""
    if not web_push_enabled():
        return
    read = read_languages or {}
    for member_id, language in member_languages.items():
        if member_id == message.from_user_id:
            continue
        _queue.put(
            _MessagePush(
                member_id=member_id,
                language=language,
                read_languages=tuple(read.get(member_id, ())),
                message=message,
            )
        )


async def _user_away(user_id: str) -> bool:
    try:
        return await keyvalue_store().lease_count(socket_lease_key(user_id)) == 0
    except Exception as error:
        # Without Redis nobody can tell: no push, rather than one to someone reading.
        logger.info("a push was skipped: Redis did not answer (%s)", type(error).__name__)
        return False


async def _targets_of(user_id: str, *, stamp: str | None) -> list[PushTarget]:
    kept = _targets.get(user_id)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    targets = await run_blocking(push_targets_of)(user_id=user_id)
    _targets.put(user_id, (stamp, targets))
    return targets


async def _muted(*, user_id: str, chat_id: str, stamp: str | None) -> bool:
    """Whether the member muted the chat, from their inbox row.

    Why a read here rather than from what the send already has: the send's transaction
    updates every member's row but a transaction returns no attributes, and the chat item
    (and this process's 30 s copies of it, chat_snapshots.py) holds only the roster, so
    carrying mutes there would make every mute a write to the chat item, contending with
    its messages. Asked only for a member who is away and has a subscription (the push's
    other checks come first) and kept a minute while their change stamp holds, so a busy
    chat costs nothing for those reading it and one half-unit GetItem a minute for each away
    subscriber."""
    key = f"{user_id}#{chat_id}"
    kept = _mutes.get(key)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    muted = bool(await run_blocking(chat_muted_by)(user_id=user_id, chat_id=chat_id))
    _mutes.put(key, (stamp, muted))
    return muted


async def _name_of(user_id: str) -> str:
    name = _names.get(user_id)
    if name is None:
        user = await run_blocking(user_get)(user_id=user_id)
        name = user_display_name(user=user) if user is not None else "Someone"
        _names.put(user_id, name)
    return name


def _body(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= PUSH_BODY_MAX_CHARS:
        return text
    return text[: PUSH_BODY_MAX_CHARS - 1].rstrip() + "…"


def call_push_offer(
    *,
    chat_id: str,
    call_id: str,
    caller_id: str,
    caller_name: str,
    bodies: dict[str, str],
    ring_timeout_seconds: float,
) -> None:
    """Hand a ringing call to the push queue for every member but its caller (`bodies`:
    member -> what the push says, in their language). Returns at once."""
    if not web_push_enabled():
        return
    for member_id, body in bodies.items():
        if member_id == caller_id:
            continue
        _queue.put(
            _CallPush(
                member_id=member_id,
                chat_id=chat_id,
                call_id=call_id,
                title=caller_name,
                body=body,
                ttl_seconds=max(1, int(ring_timeout_seconds)),
            )
        )


def call_push_payload(*, job: _CallPush) -> PushPayload:
    return {
        "type": "call",
        "chat_id": job.chat_id,
        "call_id": job.call_id,
        "title": job.title,
        "body": job.body,
        "url": f"/chats/{job.chat_id}",
        "tag": f"call:{job.call_id}",
    }


async def message_push_payload(*, job: _MessagePush) -> PushPayload:
    view = message_view(
        message=job.message,
        language=job.language,
        reader_id=job.member_id,
        read_languages=job.read_languages,
    )
    title = await _name_of(job.message.from_user_id)
    chat = chat_snapshots.get(job.message.chat_id)
    if chat is not None and chat.kind == CHAT_KIND_GROUP and chat.title:
        title = f"{title} · {chat.title}"
    chat_id = job.message.chat_id
    return {
        "type": "message",
        "chat_id": chat_id,
        "seq": int(job.message.seq),
        "message_id": job.message.message_id,
        "title": title,
        "body": _body(view["text"]),
        "language": view["language"],
        "url": f"/chats/{chat_id}",
        "tag": f"chat:{chat_id}",
    }


async def _push_one(job: _PushJob) -> None:
    try:
        if not await _user_away(job.member_id):
            return
        # Read before the copies it vouches for, so a change made meanwhile shows next time.
        stamp = await push_settings_stamp(user_id=job.member_id)
        targets = await _targets_of(job.member_id, stamp=stamp)
        if not targets:
            return
        if isinstance(job, _CallPush):
            # A muted chat's calls still ring: someone calling wants an answer now.
            content, ttl_seconds = call_push_payload(job=job), job.ttl_seconds
        else:
            if await _muted(user_id=job.member_id, chat_id=job.message.chat_id, stamp=stamp):
                return
            content, ttl_seconds = (
                await message_push_payload(job=job),
                settings.WEB_PUSH_TTL_SECONDS,
            )
        payload = json.dumps(content, ensure_ascii=False).encode()
        for target in targets:
            result = await web_push_send(target=target, payload=payload, ttl_seconds=ttl_seconds)
            if result.gone:
                await run_blocking(push_subscription_remove)(
                    user_id=job.member_id, endpoint=target.endpoint
                )
                _targets.forget(job.member_id)
            elif not result.delivered:
                logger.info("a push service refused a push (status %s)", result.status)
    except Exception:
        chat_id = job.chat_id if isinstance(job, _CallPush) else job.message.chat_id
        logger.exception("a push for chat %s failed", chat_id)

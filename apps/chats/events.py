"""Every broadcast the chat app makes, in one place, each with its own event type.

Events go to a per-user group (`user.<user_id>`) that every socket of that user joins, so
one socket carries all of a user's chats. A frame is rendered per member, in the member's
language. Except for the in-progress events of a message being translated, every broadcast
follows a successful write. The frames, who receives each and when, are the typed dicts of
apps/chats/protocol.py (gathered with the other apps' in apps/realtime/protocol.py); each
function here builds one of them.

`message` and `message_updated` say what was stored, and must not be lost to a Redis fault:
they are handed to this process's broadcaster (`_Broadcaster`), which publishes them in order
from a task of its own (nobody waits for Redis) and keeps trying those Redis did not take.
The frames about a message still being translated (`message_started`, `translation_partial`,
`message_withdrawn`) are hints the `message` frame supersedes: each is tried once, briefly,
and a failure is logged, never raised into the send.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from apps.chats.models import Message
from apps.chats.presenters import ReadLanguages, message_view, reads_as_written
from apps.chats.protocol import (
    ChatCreatedFrame,
    ChatMutedFrame,
    ChatSummary,
    Glossary,
    GlossaryUpdatedFrame,
    MemberAddedFrame,
    MemberLeftFrame,
    MessageDeletedFrame,
    MessageEditedFrame,
    MessageFrame,
    MessageStartedFrame,
    MessageUpdatedFrame,
    MessageWithdrawnFrame,
    ReactionSummary,
    ReactionUpdatedFrame,
    ReadFrame,
    TranslationPartialFrame,
    TypingFrame,
)
from apps.chats.protocol import Message as MessageView
from apps.chats.replies import Quotes, reply_to_seq_of
from apps.chats.translation_context import recent_turns
from apps.core.delivery import frames_deliver as _deliver
from apps.core.outages import outage_caused

logger = logging.getLogger(__name__)

Frame = TypeVar("Frame", MessageFrame, MessageUpdatedFrame, MessageEditedFrame)
# The frames that say what was stored: kept and retried by the broadcaster.
StoredFrame = MessageFrame | MessageUpdatedFrame | MessageEditedFrame | MessageDeletedFrame

# A publish takes well under a millisecond; one that has not been answered in this long is
# taken as Redis not answering (paused, or a connection gone silent) and is tried again.
BROADCAST_ATTEMPT_TIMEOUT_SECONDS = 1.0
# While Redis is unreachable the oldest pending frame is tried this often, so readers get
# what was stored during the fault within moments of its end, without reconnecting.
BROADCAST_RETRY_INTERVAL_SECONDS = 0.2
# Bounds on what waits: a frame older than this, or beyond this many, is dropped (logged).
# Readers still get those from storage: by `resume`, or with the chat's next message.
BROADCAST_KEPT_SECONDS = 180.0
BROADCASTS_PENDING_MAX = 5_000
# Frames published at once, each to a different user.
BROADCAST_BATCH_MAX = 16
# A hint about a message being translated is not worth holding up the send for.
HINT_TIMEOUT_SECONDS = 0.5


def _redis_trouble(error: BaseException) -> bool:
    return isinstance(error, (TimeoutError, OSError)) or outage_caused(error)


async def _deliver_hint(
    user_ids: Iterable[str],
    frame: MessageStartedFrame | MessageWithdrawnFrame | TranslationPartialFrame,
) -> None:
    try:
        async with asyncio.timeout(HINT_TIMEOUT_SECONDS):
            await _deliver(user_ids, frame)
    except Exception as error:
        if not _redis_trouble(error):
            raise
        logger.warning(
            "a %s frame for chat %s was not broadcast (%s)",
            frame["type"],
            frame.get("chat_id"),
            type(error).__name__,
        )


@dataclass
class _Pending:
    user_id: str
    frame: StoredFrame
    expires_at: float


class _Broadcaster:
    """The frames that follow a write, published in the order they were handed over (a
    reader gets a message before its `message_updated`), from one task that runs while any
    are waiting. One Redis failed or did not answer is tried again every
    BROADCAST_RETRY_INTERVAL_SECONDS, the frames behind it waiting their turn; within the
    bounds above. A frame whose publish timed out may still have reached Redis: a socket
    drops a `message` whose seq it has already delivered, and a repeated `message_updated`
    changes nothing."""

    def __init__(self) -> None:
        self._pending: deque[_Pending] = deque()
        self._task: asyncio.Task | None = None
        self._dropped = 0

    def put(self, user_id: str, frame: StoredFrame) -> None:
        self._pending.append(_Pending(user_id, frame, time.monotonic() + BROADCAST_KEPT_SECONDS))
        if len(self._pending) > BROADCASTS_PENDING_MAX:
            self._drop(self._pending.popleft(), reason="too many are waiting")
        loop = asyncio.get_running_loop()
        # A task of a loop that has ended (a test's) never runs again: start one on this one.
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run())

    async def settle(self, *, timeout: float) -> bool:
        """Wait until every frame handed over has gone out (for a process about to end);
        False if some are still waiting after `timeout` seconds."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await asyncio.wait([task], timeout=timeout)
        return not self._pending

    def _batch(self) -> list[_Pending]:
        """The oldest frames, up to BROADCAST_BATCH_MAX, each for a different user (a user's
        next frame waits for the batch after, so each reader's frames keep their order)."""
        batch: list[_Pending] = []
        users: set[str] = set()
        for pending in self._pending:
            if pending.user_id in users or len(batch) >= BROADCAST_BATCH_MAX:
                break
            users.add(pending.user_id)
            batch.append(pending)
        return batch

    async def _attempt(self, pending: _Pending) -> BaseException | None:
        try:
            async with asyncio.timeout(BROADCAST_ATTEMPT_TIMEOUT_SECONDS):
                await _deliver([pending.user_id], pending.frame)
        except Exception as error:
            if _redis_trouble(error):
                return error
            logger.exception("a %s frame could not be broadcast", pending.frame["type"])
        return None

    async def _run(self) -> None:
        failing_since: float | None = None
        while self._pending:
            head = self._pending[0]
            if head.expires_at <= time.monotonic():
                self._pending.popleft()
                self._drop(head, reason="Redis did not take it in time")
                continue
            # One publish at a time would make the broadcaster's rate one Redis round trip
            # per frame, and that falls as the event loop gets busier: under load the frames
            # pile up here. A batch goes out at once (the channel layer bounds how many
            # publishes are on the wire).
            batch = self._batch()
            troubles = await asyncio.gather(*(self._attempt(pending) for pending in batch))
            taken = {id(pending) for pending, trouble in zip(batch, troubles) if trouble is None}
            if len(taken) < len(batch):
                # Those Redis did not take keep their places (and their readers' order).
                self._pending = deque(p for p in self._pending if id(p) not in taken)
                error = next(trouble for trouble in troubles if trouble is not None)
                if failing_since is None:
                    failing_since = time.monotonic()
                    logger.warning(
                        "broadcasts wait for Redis (%s); retrying every %.1f s",
                        type(error).__name__,
                        BROADCAST_RETRY_INTERVAL_SECONDS,
                    )
                await asyncio.sleep(BROADCAST_RETRY_INTERVAL_SECONDS)
                continue
            for _ in batch:
                if self._pending and id(self._pending[0]) in taken:
                    self._pending.popleft()
            if failing_since is not None:
                logger.warning(
                    "broadcasts resumed after %.1f s; %d waiting",
                    time.monotonic() - failing_since,
                    len(self._pending),
                )
                failing_since = None

    def _drop(self, pending: _Pending, *, reason: str) -> None:
        self._dropped += 1
        logger.warning(
            "dropped a pending %s frame for chat %s: %s (%d dropped in all)",
            pending.frame["type"],
            pending.frame.get("chat_id"),
            reason,
            self._dropped,
        )


_broadcaster = _Broadcaster()


async def broadcasts_settle(*, timeout: float) -> bool:
    """Wait for this process's pending `message` and `message_updated` frames to go out."""
    return await _broadcaster.settle(timeout=timeout)


def _frames_per_reader(
    *,
    message: Message,
    member_languages: dict[str, str],
    read_languages: ReadLanguages | None,
    members: Iterable[str],
    frame: Callable[[MessageView], Frame],
    quotes: Quotes | None = None,
) -> dict[str, Frame]:
    """member id -> their frame about the message, each distinct view of it built once and
    shared by every reader who sees it so (a group's readers of one language, say): its
    sender's, one per language, and within a language one for those who read the message
    as written."""
    reads = read_languages or {}
    frames: dict[tuple[str, bool, bool, tuple[bool, bool]], Frame] = {}
    per_reader: dict[str, Frame] = {}
    quoted_seq = reply_to_seq_of(message)
    quoted = quotes.get(quoted_seq) if quotes is not None and quoted_seq is not None else None
    for member_id in members:
        language = member_languages[member_id]
        member_reads = reads.get(member_id, ())
        key = (
            language,
            member_id == message.from_user_id,
            reads_as_written(source=message.original_language, read_languages=member_reads),
            # A reply's quote reads differently to its own author and to who reads it as written.
            (
                member_id == quoted.from_user_id,
                reads_as_written(source=quoted.original_language, read_languages=member_reads),
            )
            if quoted is not None
            else (False, False),
        )
        if key not in frames:
            frames[key] = frame(
                message_view(
                    message=message,
                    language=language,
                    reader_id=member_id,
                    read_languages=member_reads,
                    quotes=quotes,
                )
            )
        per_reader[member_id] = frames[key]
    return per_reader


async def message_broadcast(
    *,
    message: Message,
    member_languages: dict[str, str],
    read_languages: ReadLanguages | None = None,
    quotes: Quotes | None = None,
) -> None:
    """Hands each member's `message` frame to the broadcaster; returns at once. The message
    joins this process's copy of the chat's last turns, the next send's context. A reply's
    quote comes from `quotes` (replies.py), read once by the sender, not per reader."""
    recent_turns.message_seen(message)
    frames = _frames_per_reader(
        message=message,
        member_languages=member_languages,
        read_languages=read_languages,
        members=member_languages,
        frame=lambda view: MessageFrame(type="message", chat_id=message.chat_id, message=view),
        quotes=quotes,
    )
    for member_id, frame in frames.items():
        _broadcaster.put(member_id, frame)


async def message_started_broadcast(
    *,
    chat_id: str,
    message_id: str,
    from_user_id: str,
    original_text: str,
    original_language: str,
    timestamp: str,
    member_ids: Iterable[str],
) -> None:
    await _deliver_hint(
        member_ids,
        MessageStartedFrame(
            type="message_started",
            chat_id=chat_id,
            message_id=message_id,
            from_user_id=from_user_id,
            original_text=original_text,
            original_language=original_language,
            timestamp=timestamp,
        ),
    )


async def message_withdrawn_broadcast(
    *, chat_id: str, message_id: str, member_ids: Iterable[str]
) -> None:
    await _deliver_hint(
        member_ids,
        MessageWithdrawnFrame(type="message_withdrawn", chat_id=chat_id, message_id=message_id),
    )


async def translation_partial_broadcast(
    *, chat_id: str, message_id: str, language: str, text: str, member_ids: Iterable[str]
) -> None:
    await _deliver_hint(
        member_ids,
        TranslationPartialFrame(
            type="translation_partial",
            chat_id=chat_id,
            message_id=message_id,
            language=language,
            text=text,
        ),
    )


async def message_updated_broadcast(
    *,
    message: Message,
    member_languages: dict[str, str],
    languages: set[str],
    read_languages: ReadLanguages | None = None,
) -> None:
    """Hands the `message_updated` frames to the broadcaster, for the readers of `languages`
    except those who read the message as written (their view did not change); returns at
    once."""
    reads = read_languages or {}
    frames = _frames_per_reader(
        message=message,
        member_languages=member_languages,
        read_languages=reads,
        members=[
            member_id
            for member_id, language in member_languages.items()
            if language in languages
            and not reads_as_written(
                source=message.original_language, read_languages=reads.get(member_id, ())
            )
        ],
        frame=lambda view: MessageUpdatedFrame(
            type="message_updated", chat_id=message.chat_id, message=view
        ),
    )
    for member_id, frame in frames.items():
        _broadcaster.put(member_id, frame)


async def message_edited_broadcast(
    *,
    message: Message,
    member_languages: dict[str, str],
    read_languages: ReadLanguages | None = None,
) -> None:
    """Hands each member's `message_edited` frame (the message in their language) to the
    broadcaster; returns at once."""
    frames = _frames_per_reader(
        message=message,
        member_languages=member_languages,
        read_languages=read_languages,
        members=member_languages,
        frame=lambda view: MessageEditedFrame(
            type="message_edited", chat_id=message.chat_id, message=view
        ),
    )
    for member_id, frame in frames.items():
        _broadcaster.put(member_id, frame)


async def message_deleted_broadcast(
    *, chat_id: str, message_id: str, seq: int, member_ids: Iterable[str]
) -> None:
    """Hands every member's `message_deleted` frame to the broadcaster; returns at once."""
    frame = MessageDeletedFrame(
        type="message_deleted", chat_id=chat_id, message_id=message_id, seq=seq
    )
    for member_id in member_ids:
        _broadcaster.put(member_id, frame)


async def typing_broadcast(*, chat_id: str, user_id: str, member_ids: Iterable[str]) -> None:
    others = [member for member in member_ids if member != user_id]
    await _deliver(others, TypingFrame(type="typing", chat_id=chat_id, user_id=user_id))


async def read_broadcast(
    *, chat_id: str, user_id: str, seq: int, member_ids: Iterable[str]
) -> None:
    await _deliver(member_ids, ReadFrame(type="read", chat_id=chat_id, user_id=user_id, seq=seq))


async def chat_created_broadcast(*, chat_summaries: dict[str, ChatSummary]) -> None:
    """`chat_summaries` maps each member to the chat as that member sees it."""
    for member_id, summary in chat_summaries.items():
        await _deliver([member_id], ChatCreatedFrame(type="chat_created", chat=summary))


async def member_added_broadcast(
    *, chat_id: str, user_id: str, username: str, member_ids: Iterable[str]
) -> None:
    others = [member for member in member_ids if member != user_id]
    await _deliver(
        others,
        MemberAddedFrame(type="member_added", chat_id=chat_id, user_id=user_id, username=username),
    )


async def member_left_broadcast(*, chat_id: str, user_id: str, member_ids: Iterable[str]) -> None:
    await _deliver(
        member_ids, MemberLeftFrame(type="member_left", chat_id=chat_id, user_id=user_id)
    )


async def glossary_updated_broadcast(
    *, chat_id: str, user_id: str, glossary: Glossary, member_ids: Iterable[str]
) -> None:
    await _deliver(
        member_ids,
        GlossaryUpdatedFrame(
            type="glossary_updated", chat_id=chat_id, user_id=user_id, glossary=glossary
        ),
    )


async def reaction_updated_broadcast(
    *,
    chat_id: str,
    seq: int,
    message_id: str,
    user_id: str,
    reactions: list[ReactionSummary],
    reactions_version: int,
    member_ids: Iterable[str],
) -> None:
    await _deliver(
        member_ids,
        ReactionUpdatedFrame(
            type="reaction_updated",
            chat_id=chat_id,
            seq=seq,
            message_id=message_id,
            user_id=user_id,
            reactions=reactions,
            reactions_version=reactions_version,
        ),
    )


async def chat_muted_broadcast(*, chat_id: str, user_id: str, muted: bool) -> None:
    """To the member's own sockets only, on every instance: their other devices (and tabs)
    follow the mute; the one that made it gets it too, and it changes nothing there."""
    await _deliver([user_id], ChatMutedFrame(type="chat_muted", chat_id=chat_id, muted=muted))

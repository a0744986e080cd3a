"""Messages out to one socket: in sequence order per chat, without gaps or repeats, and
never faster than the client reads.

A live message ahead of the last one this socket delivered is preceded by the missing ones,
read from DynamoDB. A socket with no place yet in a chat (no resume, nothing delivered)
takes the first live message as its place; one committed just before it whose frame, from
another instance, came after it is still sent, late: the only case out of order. Missed
messages (a resume, a gap) are read a page at a time, each page once the client has taken
most of the one before (apps/core/socket_backlog.py): a socket however far behind costs one
page of memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Protocol, TypeGuard

from django.conf import settings

from apps.accounts.models import User
from apps.accounts.selectors import user_read_languages
from apps.chats import replies, translation_context
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.presenters import message_view
from apps.chats.protocol import MessageFrame
from apps.chats.selectors import message_range
from apps.core.concurrency import run_blocking
from apps.core.socket_backlog import socket_outbound
from apps.realtime.protocol import CloseCode

logger = logging.getLogger(__name__)

SENT_SEQS_KEPT = 512
# A catch-up sends on while the client has left at most this share of
# SOCKET_OUTBOUND_BACKLOG_MAX_BYTES unread, so catching up never trips that bound.
CATCH_UP_BACKLOG_SHARE = 4
CATCH_UP_DRAIN_POLL_SECONDS = 0.02


class Socket(Protocol):
    """What delivery (and the handlers) need of the consumer they write to: an accepted,
    authenticated socket."""

    scope: dict
    ended: bool

    @property
    def user(self) -> User:
        """The socket's account as last read (a profile change re-reads it)."""
        ...

    async def send_json(self, payload: Mapping[str, object]) -> None: ...

    async def end(self, *, code: int) -> None: ...


def is_message_frame(frame: Mapping[str, object]) -> TypeGuard[MessageFrame]:
    """Is this frame, from the channel layer, a `message` (built by apps.chats.events)?"""
    return frame.get("type") == "message"


class SocketDelivery:
    def __init__(self, *, socket: Socket) -> None:
        self.socket = socket
        # The last sequence number delivered per chat, once the socket has one to go by.
        self.delivered_seq: dict[str, int] = {}
        # Sequence numbers sent on this socket, per chat, so a resume never repeats one.
        self.sent_seqs: dict[str, set[int]] = {}
        # Per chat whose place on this socket came from a live message, not a resume: the
        # lowest sequence number sent. Messages below it were never sent here.
        self.live_floor: dict[str, int] = {}

    async def message_deliver(self, frame: MessageFrame) -> None:
        """A live message: dropped if delivered already, after the missing ones if ahead."""
        chat_id = frame["chat_id"]
        seq = frame["message"]["seq"]
        delivered = self.delivered_seq.get(chat_id)
        floor = self.live_floor.get(chat_id)
        if floor is not None and seq < floor:
            # Published after this socket joined, behind a later message from another
            # instance that came first: sent now, late, rather than never.
            await self._message_frame_send(frame)
            self.live_floor[chat_id] = seq
        else:
            if delivered is not None:
                if seq <= delivered:
                    return
                if seq > delivered + 1 and not await self.catch_up(chat_id, up_to_seq=seq - 1):
                    return
            await self._message_frame_send(frame)
            self.delivered_seq[chat_id] = seq
            if delivered is None:
                self.live_floor[chat_id] = seq
        # A send from this process into the chat can then take the next number at once,
        # and have the chat's last turns as context without reading them.
        chat_snapshots.seq_seen(chat_id, seq)
        message = frame["message"]
        translation_context.turn_seen(
            chat_id=chat_id,
            seq=seq,
            from_user_id=message["from_user_id"],
            language=message["original_language"],
            text=message["original_text"],
            kind=message["kind"],
        )

    async def chat_replay(self, *, chat_id: str, last_seen: int, last_seq: int) -> int | None:
        """Deliver what the client missed in a chat after `last_seen` (the chat has got to
        `last_seq`), except what this socket sent already. Returns the last sequence number now
        delivered; None if the socket is going away."""
        # Live messages may have reached this socket before the client asked to resume;
        # replay everything after what the client saw, except those.
        already_sent = self.sent_seqs.get(chat_id, set())
        self.delivered_seq[chat_id] = last_seen
        # The client said what it holds: nothing below that is owed to it any more.
        self.live_floor.pop(chat_id, None)
        if last_seq > last_seen and not await self.catch_up(
            chat_id, up_to_seq=None, skip=already_sent
        ):
            return None
        latest = max(self.delivered_seq[chat_id], max(already_sent, default=0))
        self.delivered_seq[chat_id] = latest
        return latest

    async def catch_up(
        self, chat_id: str, *, up_to_seq: int | None, skip: AbstractSet[int] = frozenset()
    ) -> bool:
        """Deliver the stored messages after the last one this socket delivered, a page at a
        time, each message once the client has taken most of what came before. False if the
        socket is going away."""
        page_size = settings.SOCKET_CATCH_UP_PAGE_MESSAGES
        while True:
            after = self.delivered_seq.get(chat_id, 0)
            if up_to_seq is not None and after >= up_to_seq:
                return True
            if not await self._outbound_room():
                return False
            page = await run_blocking(message_range)(
                chat_id=chat_id, after_seq=after, up_to_seq=up_to_seq, limit=page_size
            )
            # Replies' quotes: from the page, the rest in one BatchGetItem.
            quotes = await replies.page_quotes(chat_id=chat_id, messages=page)
            for message in page:
                seq = int(message.seq)
                if seq not in skip:
                    if not await self._outbound_room():
                        return False
                    # The account as last read: a profile change re-reads it.
                    user = self.socket.user
                    await self._message_frame_send(
                        {
                            "type": "message",
                            "chat_id": chat_id,
                            "message": message_view(
                                message=message,
                                language=user.native_language,
                                reader_id=user.user_id,
                                read_languages=user_read_languages(user=user),
                                quotes=quotes,
                            ),
                        }
                    )
                self.delivered_seq[chat_id] = seq
            if len(page) < page_size:
                return True

    async def _outbound_room(self) -> bool:
        """Wait until the client has read all but a little of what this socket sent. False
        if the socket is going away, or if the client read nothing for
        SOCKET_CATCH_UP_STALL_SECONDS: then it is closed as too far behind, to resume later
        (meanwhile this socket's events wait in the channel layer, in memory)."""
        socket = self.socket
        outbound = socket_outbound(socket.scope)
        if outbound is None:  # not under Daphne: nothing to measure
            return not socket.ended
        allowed = settings.SOCKET_OUTBOUND_BACKLOG_MAX_BYTES // CATCH_UP_BACKLOG_SHARE
        unsent = outbound["unsent_bytes"]()
        stalled_since = time.monotonic()
        while not socket.ended:
            if outbound["closing"]():
                # Daphne closed it (too far behind) or the client did: nothing more to do.
                socket.ended = True
                return False
            if unsent <= allowed:
                return True
            await asyncio.sleep(CATCH_UP_DRAIN_POLL_SECONDS)
            now, before, unsent = time.monotonic(), unsent, outbound["unsent_bytes"]()
            if unsent < before:
                stalled_since = now
            elif now - stalled_since >= settings.SOCKET_CATCH_UP_STALL_SECONDS:
                logger.warning(
                    "socket took nothing of its catch-up for %.0f s; closing it with %d",
                    now - stalled_since,
                    CloseCode.TOO_FAR_BEHIND,
                )
                await socket.end(code=CloseCode.TOO_FAR_BEHIND)
        return False

    async def _message_frame_send(self, frame: MessageFrame) -> None:
        await self.socket.send_json(frame)
        sent = self.sent_seqs.setdefault(frame["chat_id"], set())
        sent.add(frame["message"]["seq"])
        if len(sent) > SENT_SEQS_KEPT * 2:
            # Only recent ones can be asked for again by a resume; keep memory bounded.
            self.sent_seqs[frame["chat_id"]] = set(sorted(sent)[-SENT_SEQS_KEPT:])

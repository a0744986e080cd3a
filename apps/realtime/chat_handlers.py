"""The chat side of a chat socket: `send`, `typing`, `read`, `react` and `resume` frames.

Each handler reads its frame's fields and calls one use case (apps.chats.actions), or, for
`resume`, has this socket's delivery replay what the client missed. `resume` writes and
announces nothing, so it reads the inbox rows through apps.chats.selectors, as views read a
chat list: actions are for what writes or sends. A ServiceError raised here is answered by
the consumer as an error frame; the socket stays open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeGuard

from django.conf import settings

from apps.chats import actions
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.protocol import AckFrame, MessageFrame
from apps.chats.selectors import NOT_A_MEMBER, chat_memberships_of
from apps.chats.sending import send_gate
from apps.core.concurrency import run_blocking
from apps.core.errors import Forbidden, NotFound, ServiceError
from apps.core.outages import UNAVAILABLE_DETAIL, UNAVAILABLE_RETRY_AFTER_SECONDS, outage_caused
from apps.core.ratelimit import RateLimit, rate_limit_hit
from apps.realtime.delivery import Socket, SocketDelivery
from apps.realtime.frames import Frame, error_frame, frame_chat_id, is_chat_id
from apps.realtime.protocol import ResumeCompleteFrame

TYPING_MIN_INTERVAL_SECONDS = 2.0
RESUME_MAX_CHATS = 200

Handler = Callable[[Frame], Awaitable[None]]


def _resume_limit() -> RateLimit:
    return RateLimit(
        name="resume",
        count=settings.SOCKET_RESUME_RATE_LIMIT_COUNT,
        window_seconds=settings.SOCKET_RESUME_RATE_LIMIT_WINDOW_SECONDS,
        detail="too many resumes",
    )


def roster_change_note(frame: Mapping[str, object]) -> None:
    """The roster changed (a member joined or left, or this user was added): typing and read
    frames go to the new one, read afresh."""
    chat_id = frame.get("chat_id")
    if frame.get("type") in ("member_added", "member_left", "chat_created") and isinstance(
        chat_id, str
    ):
        chat_snapshots.forget(chat_id)


def _is_seq(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class ChatHandlers:
    def __init__(
        self,
        *,
        socket: Socket,
        delivery: SocketDelivery,
        failure_log: Callable[[str, Exception], None],
    ) -> None:
        self.socket = socket
        self.delivery = delivery
        self._failure_log = failure_log
        self.typing_sent: dict[str, float] = {}
        self.sends: set[asyncio.Task] = set()
        # The latest unfinished send per chat: the next one commits after it.
        self.last_send: dict[str, asyncio.Task] = {}
        # Messages acknowledged here whose own copy has not come back to this socket yet
        # (the process's send admission watches how long that takes: sending.send_gate).
        self.acked_on_the_way: set[str] = set()

    def frame_handlers(self) -> dict[str, Handler]:
        return {
            "send": self.on_send,
            "typing": self.on_typing,
            "read": self.on_read,
            "react": self.on_react,
            "resume": self.on_resume,
            "edit": self.on_edit,
            "delete": self.on_delete,
        }

    async def _error(
        self,
        detail: str,
        *,
        chat_id: object = None,
        client_msg_id: object = None,
        retry_after: int | None = None,
        code: str | None = None,
    ) -> None:
        frame = error_frame(
            detail, chat_id=chat_id, client_msg_id=client_msg_id, retry_after=retry_after
        )
        if code == "busy":
            # Nothing of the send was stored: the client resends the same client_msg_id
            # after `retry_after` (with back-off).
            frame["code"] = "busy"
        await self.socket.send_json(frame)

    async def _send_refused(
        self, error: ServiceError, *, chat_id: object, client_msg_id: object
    ) -> None:
        await self._error(
            error.detail,
            chat_id=chat_id,
            client_msg_id=client_msg_id,
            retry_after=error.retry_after,
            code=error.code,
        )

    # --- send ----------------------------------------------------------------------------------

    async def on_send(self, frame: Frame) -> None:
        chat_id = frame.get("chat_id")
        text = frame.get("text")
        client_msg_id = frame.get("client_msg_id")
        if not is_chat_id(chat_id):
            await self._error("chat_id is required", client_msg_id=client_msg_id)
            return
        if not isinstance(text, str):
            await self._error("text is required", client_msg_id=client_msg_id)
            return
        if not (client_msg_id is None or isinstance(client_msg_id, str)):
            await self._error("client_msg_id must be a string")
            return
        # Past capacity most sends are refused: refused here, before a task or coroutine is
        # built for them, a refusal costs little of the CPU the admitted sends need.
        refusal = send_gate().refusal_now()
        if refusal is not None:
            await self._send_refused(refusal, chat_id=chat_id, client_msg_id=client_msg_id)
            return
        # A send waits for translation; run it beside the socket so deliveries keep flowing.
        previous = self.last_send.get(chat_id)
        task = asyncio.get_running_loop().create_task(
            self._message_send(
                chat_id=chat_id,
                text=text,
                client_msg_id=client_msg_id,
                commit_after=previous if previous is not None and not previous.done() else None,
                reply_to_seq=frame.get("reply_to_seq"),
            )
        )
        self.last_send[chat_id] = task
        self.sends.add(task)
        task.add_done_callback(self._send_done)

    def _send_done(self, task: asyncio.Task) -> None:
        self.sends.discard(task)
        for chat_id, last in list(self.last_send.items()):
            if last is task:
                del self.last_send[chat_id]

    async def _message_send(
        self,
        *,
        chat_id: str,
        text: str,
        client_msg_id: str | None,
        commit_after: asyncio.Task | None,
        reply_to_seq: object = None,
    ) -> None:
        try:
            outcome = await actions.do_send_message(
                user=self.socket.user,
                chat_id=chat_id,
                text=text,
                client_msg_id=client_msg_id,
                commit_after=commit_after,
                reply_to_seq=reply_to_seq,
            )
        except ServiceError as error:
            await self._send_refused(error, chat_id=chat_id, client_msg_id=client_msg_id)
            return
        except Exception as error:
            self._failure_log(f"message send failed in chat {chat_id}", error)
            if outage_caused(error):
                # A wait, as REST's 503 says: the client resends the same client_msg_id,
                # which is never stored twice.
                await self._error(
                    UNAVAILABLE_DETAIL,
                    chat_id=chat_id,
                    client_msg_id=client_msg_id,
                    retry_after=UNAVAILABLE_RETRY_AFTER_SECONDS,
                )
            else:
                await self._error(
                    "message could not be sent; try again",
                    chat_id=chat_id,
                    client_msg_id=client_msg_id,
                )
            return
        if not outcome.duplicate:
            # Noted before the ack is sent: the broadcaster cannot run in between, so the
            # copy cannot come back before it is noted.
            message_id = outcome.message["message_id"]
            send_gate().delivery_watch.went_out(message_id, by=self)
            self.acked_on_the_way.add(message_id)
        ack: AckFrame = {
            "type": "ack",
            "chat_id": chat_id,
            "client_msg_id": client_msg_id,
            "message_id": outcome.message["message_id"],
            "seq": outcome.message["seq"],
            "timestamp": outcome.message["timestamp"],
            "duplicate": outcome.duplicate,
        }
        await self.socket.send_json(ack)

    def message_came_back(self, frame: MessageFrame) -> None:
        """A live `message` frame reached this socket: if it is the copy of one acknowledged
        here, the delivery backlog is that much shorter."""
        message_id = frame["message"]["message_id"]
        if message_id in self.acked_on_the_way:
            self.acked_on_the_way.discard(message_id)
            send_gate().delivery_watch.came_back(message_id)

    def on_the_way_forget(self) -> None:
        """The socket is going away: the copies it was waiting for will never arrive."""
        watch = send_gate().delivery_watch
        for message_id in self.acked_on_the_way:
            watch.came_back(message_id)
        self.acked_on_the_way.clear()

    # --- typing and read -------------------------------------------------------------------------

    async def on_typing(self, frame: Frame) -> None:
        chat_id = frame_chat_id(frame)
        now = time.monotonic()
        # Only chats this socket was a member of two seconds ago are throttled here, so the
        # map stays as small as the user's chats; a dropped frame reaches nobody.
        if now - self.typing_sent.get(chat_id, float("-inf")) < TYPING_MIN_INTERVAL_SECONDS:
            return
        try:
            await actions.do_send_typing(
                user=self.socket.user, chat_id=chat_id, members=actions.chat_member_ids_recent
            )
        except Forbidden:
            self.typing_sent.pop(chat_id, None)
            raise
        self.typing_sent[chat_id] = now

    async def on_read(self, frame: Frame) -> None:
        chat_id = frame_chat_id(frame)
        seq = frame.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            await self._error("seq must be an integer", chat_id=chat_id)
            return
        try:
            # Checks membership itself, against the inbox row.
            await actions.do_mark_read(
                user=self.socket.user,
                chat_id=chat_id,
                seq=seq,
                members=actions.chat_member_ids_recent,
            )
        except NotFound as error:
            # Whether a chat exists is nobody's business but its members'.
            raise Forbidden(NOT_A_MEMBER) from error

    async def on_react(self, frame: Frame) -> None:
        # Refusals (422, 404, 409, 429) come back as error frames with the chat id.
        await actions.do_toggle_reaction(
            user=self.socket.user,
            chat_id=frame_chat_id(frame),
            seq=frame.get("seq"),
            emoji=frame.get("emoji"),
        )

    # --- edit and delete for everyone (apps/chats/message_changes.py) ------------------------

    async def on_edit(self, frame: Frame) -> None:
        chat_id = frame_chat_id(frame)
        seq, message_id = frame.get("seq"), frame.get("message_id")
        text = frame.get("text")
        if not _is_seq(seq) or not (message_id is None or isinstance(message_id, str)):
            await self._error("seq must be an integer, message_id a string", chat_id=chat_id)
            return
        if not isinstance(text, str):
            await self._error("text is required", chat_id=chat_id)
            return
        # Answered by `message_edited` to every member, this socket's user's too. It waits for
        # translation: run beside the socket, as a send does, so deliveries keep flowing.
        task = asyncio.get_running_loop().create_task(
            self._message_edit(chat_id=chat_id, seq=seq, text=text, message_id=message_id)
        )
        self.sends.add(task)
        task.add_done_callback(self.sends.discard)

    async def _message_edit(
        self, *, chat_id: str, seq: int, text: str, message_id: str | None
    ) -> None:
        try:
            await actions.do_edit_message(
                user=self.socket.user, chat_id=chat_id, seq=seq, text=text, message_id=message_id
            )
        except ServiceError as error:
            await self._error(error.detail, chat_id=chat_id, retry_after=error.retry_after)
        except Exception as error:
            self._failure_log(f"message edit failed in chat {chat_id}", error)
            if outage_caused(error):
                await self._error(
                    UNAVAILABLE_DETAIL,
                    chat_id=chat_id,
                    retry_after=UNAVAILABLE_RETRY_AFTER_SECONDS,
                )
            else:
                await self._error("message could not be edited; try again", chat_id=chat_id)

    async def on_delete(self, frame: Frame) -> None:
        chat_id = frame_chat_id(frame)
        seq, message_id = frame.get("seq"), frame.get("message_id")
        if not _is_seq(seq) or not (message_id is None or isinstance(message_id, str)):
            await self._error("seq must be an integer, message_id a string", chat_id=chat_id)
            return
        await actions.do_delete_message(
            user=self.socket.user, chat_id=chat_id, seq=seq, message_id=message_id
        )

    # --- resume --------------------------------------------------------------------------------

    async def on_resume(self, frame: Frame) -> None:
        chats = frame.get("chats")
        if not isinstance(chats, dict) or len(chats) > RESUME_MAX_CHATS:
            await self._error(
                f"chats must map up to {RESUME_MAX_CHATS} chat ids to sequence numbers"
            )
            return
        user = self.socket.user
        await rate_limit_hit(limit=_resume_limit(), subject=user.user_id)
        wanted: dict[str, int] = {}
        for chat_id, last_seen in chats.items():
            if not is_chat_id(chat_id):
                await self._error("each chat id must be a non-empty string")
                continue
            if not isinstance(last_seen, int) or isinstance(last_seen, bool) or last_seen < 0:
                await self._error(
                    "each last seen sequence number must be an integer >= 0", chat_id=chat_id
                )
                continue
            wanted[chat_id] = last_seen
        # Membership for every chat in one read; each inbox row also says how far its chat
        # has got, so only chats with something missed are queried for messages.
        memberships = await run_blocking(chat_memberships_of)(
            user_id=user.user_id, chat_ids=list(wanted)
        )
        latest: dict[str, int] = {}
        for chat_id, last_seen in wanted.items():
            membership = memberships.get(chat_id)
            if membership is None:
                await self._error(NOT_A_MEMBER, chat_id=chat_id)
                continue
            delivered = await self.delivery.chat_replay(
                chat_id=chat_id, last_seen=last_seen, last_seq=int(membership.last_seq)
            )
            if delivered is None:
                return
            latest[chat_id] = delivered
        complete: ResumeCompleteFrame = {"type": "resume_complete", "chats": latest}
        await self.socket.send_json(complete)

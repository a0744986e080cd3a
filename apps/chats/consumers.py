"""The chat socket: one per browser tab, carrying every chat of its user.

Client frames (JSON objects):
- `{"chat_id", "text", "client_msg_id"?}` (or with `"type": "send"`): send a message.
- `{"type": "typing", "chat_id"}`, `{"type": "read", "chat_id", "seq"}`.
- `{"type": "resume", "chats": {"<chat_id>": <last seq seen>, ...}}`: receive what was missed.
- `{"type": "ping"}`: `{"type": "pong"}`.
- Calls and push-to-talk (`call_*`, `ptt_*` frames, and binary audio frames while recording):
  handed to apps/voice/sockets.py.

Messages reach a socket in sequence order per chat, without gaps or repeats: when a live
message arrives ahead of the last one this socket delivered, the missing ones are read from
DynamoDB and delivered first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from apps.chats import events, messaging, services
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.selectors import (
    NOT_A_MEMBER,
    chat_get,
    message_range,
    message_view,
)
from apps.accounts.selectors import user_get
from apps.core.concurrency import run_blocking
from apps.core.errors import ServiceError
from apps.voice.sockets import VoiceSocket

logger = logging.getLogger(__name__)

# RFC 6455 "policy violation": what the client contract promises for a missing or bad token.
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TICKET_INVALID = 4001
CLOSE_ORIGIN_NOT_ALLOWED = 4003
MEMBERS_CACHE_SECONDS = 30
TYPING_MIN_INTERVAL_SECONDS = 2.0
RESUME_MAX_CHATS = 200
SENT_SEQS_KEPT = 512


class ChatConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message: dict) -> None:
        # Channels' dispatch first hops to Django's one sync thread to close stale database
        # connections, for every event; with no relational database that is pure cost, and
        # it serialized every delivery in the process behind that thread.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.user = None
        if not self.scope.get("origin_allowed", True):
            # A page from another site gets no socket. Accepting only to close with a code of
            # our own lets a misconfigured front end see why, instead of a bare 1006.
            await self.accept()
            await self.close(code=CLOSE_ORIGIN_NOT_ALLOWED)
            return
        self.user = self.scope.get("user")
        self.delivered_seq: dict[str, int] = {}
        # Sequence numbers sent on this socket, per chat, so a resume never repeats one.
        self.sent_seqs: dict[str, set[int]] = {}
        self.members_cache: dict[str, tuple[frozenset[str], float]] = {}
        self.typing_sent: dict[str, float] = {}
        self.sends: set[asyncio.Task] = set()
        # The latest unfinished send per chat: the next one commits after it.
        self.last_send: dict[str, asyncio.Task] = {}
        # Accept before closing so the client sees the close code; a refused handshake
        # would only show an HTTP 403.
        await self.accept()
        if self.user is None:
            # A ticket that is used up or expired says so, so the client fetches a new one
            # instead of treating the session as over; a bad token closes as the contract says.
            ticket_failed = self.scope.get("auth_method") == "ticket"
            await self.close(code=CLOSE_TICKET_INVALID if ticket_failed else CLOSE_POLICY_VIOLATION)
            return
        self.group = events.user_group(self.user.user_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.voice = VoiceSocket(user=lambda: self.user, send_json=self._send_json)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "user", None) is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if getattr(self, "voice", None) is not None:
            await self.voice.disconnect()
        # Sends already under way finish: their messages are stored and delivered to the
        # other members even though this socket cannot be told.

    # --- Frames from the client -------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if getattr(self, "user", None) is None:
            return
        if bytes_data is not None and text_data is None and self.voice.takes_audio(bytes_data):
            await self.voice.on_audio(bytes_data)
            return
        try:
            frame = json.loads(text_data if text_data is not None else bytes_data or b"")
        except (UnicodeDecodeError, json.JSONDecodeError):
            await self._error("invalid JSON")
            return
        if not isinstance(frame, dict):
            await self._error("frame must be a JSON object")
            return
        kind = frame.get("type", "send")
        handler = {
            "send": self._on_send,
            "typing": self._on_typing,
            "read": self._on_read,
            "resume": self._on_resume,
            "ping": self._on_ping,
            **self.voice.frame_handlers(),
        }.get(kind)
        if handler is None:
            await self._error(f"unknown frame type: {kind}")
            return
        try:
            await handler(frame)
        except ServiceError as error:
            await self._error(error.detail, chat_id=frame.get("chat_id"), retry_after=error.retry_after)

    async def _on_send(self, frame: dict) -> None:
        chat_id = frame.get("chat_id")
        text = frame.get("text")
        client_msg_id = frame.get("client_msg_id")
        if not isinstance(chat_id, str) or not chat_id:
            await self._error("chat_id is required", client_msg_id=client_msg_id)
            return
        if not isinstance(text, str):
            await self._error("text is required", client_msg_id=client_msg_id)
            return
        if client_msg_id is not None and not isinstance(client_msg_id, str):
            await self._error("client_msg_id must be a string")
            return
        # A send waits for translation; run it beside the socket so deliveries keep flowing.
        previous = self.last_send.get(chat_id)
        task = asyncio.get_running_loop().create_task(
            self._send_message(
                chat_id=chat_id,
                text=text,
                client_msg_id=client_msg_id,
                commit_after=previous if previous is not None and not previous.done() else None,
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

    async def _send_message(
        self,
        *,
        chat_id: str,
        text: str,
        client_msg_id: str | None,
        commit_after: asyncio.Task | None,
    ) -> None:
        try:
            outcome = await messaging.message_send(
                user=self.user,
                chat_id=chat_id,
                text=text,
                client_msg_id=client_msg_id,
                commit_after=commit_after,
            )
        except ServiceError as error:
            await self._error(
                error.detail,
                chat_id=chat_id,
                client_msg_id=client_msg_id,
                retry_after=error.retry_after,
            )
            return
        except Exception:
            logger.exception("message send failed in chat %s", chat_id)
            await self._error(
                "message could not be sent; try again", chat_id=chat_id, client_msg_id=client_msg_id
            )
            return
        await self._send_json(
            {
                "type": "ack",
                "chat_id": chat_id,
                "client_msg_id": client_msg_id,
                "message_id": outcome.message["message_id"],
                "seq": outcome.message["seq"],
                "timestamp": outcome.message["timestamp"],
                "duplicate": outcome.duplicate,
            }
        )

    async def _member_ids(self, chat_id: str) -> frozenset[str]:
        cached = self.members_cache.get(chat_id)
        now = time.monotonic()
        if cached and cached[1] > now:
            return cached[0]
        chat = await run_blocking(chat_get)(chat_id=chat_id)
        members = frozenset(chat.member_ids) if chat else frozenset()
        self.members_cache[chat_id] = (members, now + MEMBERS_CACHE_SECONDS)
        return members

    async def _chat_id_of_member(self, frame: dict) -> str | None:
        chat_id = frame.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            await self._error("chat_id is required")
            return None
        if self.user.user_id not in await self._member_ids(chat_id):
            await self._error(NOT_A_MEMBER, chat_id=chat_id)
            return None
        return chat_id

    async def _on_typing(self, frame: dict) -> None:
        chat_id = await self._chat_id_of_member(frame)
        if chat_id is None:
            return
        now = time.monotonic()
        if now - self.typing_sent.get(chat_id, 0.0) < TYPING_MIN_INTERVAL_SECONDS:
            return
        self.typing_sent[chat_id] = now
        await events.typing_broadcast(
            chat_id=chat_id, user_id=self.user.user_id, member_ids=await self._member_ids(chat_id)
        )

    async def _on_read(self, frame: dict) -> None:
        chat_id = await self._chat_id_of_member(frame)
        if chat_id is None:
            return
        seq = frame.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            await self._error("seq must be an integer", chat_id=chat_id)
            return
        membership = await run_blocking(services.chat_mark_read)(
            user=self.user, chat_id=chat_id, seq=seq
        )
        await events.read_broadcast(
            chat_id=chat_id,
            user_id=self.user.user_id,
            seq=int(membership.last_read_seq),
            member_ids=await self._member_ids(chat_id),
        )

    async def _on_resume(self, frame: dict) -> None:
        chats = frame.get("chats")
        if not isinstance(chats, dict) or len(chats) > RESUME_MAX_CHATS:
            await self._error(f"chats must map up to {RESUME_MAX_CHATS} chat ids to sequence numbers")
            return
        latest = {}
        for chat_id, last_seen in chats.items():
            if not isinstance(last_seen, int) or isinstance(last_seen, bool) or last_seen < 0:
                await self._error("each last seen sequence number must be an integer >= 0", chat_id=chat_id)
                continue
            if self.user.user_id not in await self._member_ids(chat_id):
                await self._error(NOT_A_MEMBER, chat_id=chat_id)
                continue
            # Live messages may have reached this socket before the client asked to resume;
            # replay everything after what the client saw, except those.
            already_sent = self.sent_seqs.get(chat_id, set())
            self.delivered_seq[chat_id] = last_seen
            await self._catch_up(chat_id, up_to_seq=None, skip=already_sent)
            latest[chat_id] = max(self.delivered_seq[chat_id], max(already_sent, default=0))
            self.delivered_seq[chat_id] = latest[chat_id]
        await self._send_json({"type": "resume_complete", "chats": latest})

    async def _on_ping(self, frame: dict) -> None:
        await self._send_json({"type": "pong"})

    # --- Events from the channel layer -------------------------------------------------------

    async def voice_signal(self, event: dict) -> None:
        await self.voice.on_signal(event)

    async def chat_frame(self, event: dict) -> None:
        frame = event["frame"]
        if frame.get("type") == "profile_updated":
            # Messages this socket replays from storage must follow the new language.
            refreshed = await run_blocking(user_get)(user_id=self.user.user_id)
            if refreshed is not None:
                self.user = refreshed
        if frame.get("type") == "message":
            await self._deliver_message(frame)
        else:
            await self._send_json(frame)

    async def _deliver_message(self, frame: dict) -> None:
        chat_id = frame["chat_id"]
        seq = frame["message"]["seq"]
        delivered = self.delivered_seq.get(chat_id)
        if delivered is not None:
            if seq <= delivered:
                return
            if seq > delivered + 1:
                await self._catch_up(chat_id, up_to_seq=seq - 1)
        await self._send_message_frame(frame)
        self.delivered_seq[chat_id] = seq
        # A send from this process into the chat can then take the next number at once.
        chat_snapshots.seq_seen(chat_id, seq)

    async def _catch_up(
        self, chat_id: str, *, up_to_seq: int | None, skip: set[int] = frozenset()
    ) -> None:
        """Deliver the stored messages after the last one this socket delivered."""
        after = self.delivered_seq.get(chat_id, 0)
        missed = await run_blocking(message_range)(
            chat_id=chat_id, after_seq=after, up_to_seq=up_to_seq
        )
        for message in missed:
            seq = int(message.seq)
            if seq not in skip:
                await self._send_message_frame(
                    {
                        "type": "message",
                        "chat_id": chat_id,
                        "message": message_view(
                            message=message, language=self.user.native_language
                        ),
                    }
                )
            self.delivered_seq[chat_id] = seq

    async def _send_message_frame(self, frame: dict) -> None:
        await self._send_json(frame)
        sent = self.sent_seqs.setdefault(frame["chat_id"], set())
        sent.add(frame["message"]["seq"])
        if len(sent) > SENT_SEQS_KEPT * 2:
            # Only recent ones can be asked for again by a resume; keep memory bounded.
            self.sent_seqs[frame["chat_id"]] = set(sorted(sent)[-SENT_SEQS_KEPT:])

    # --- Helpers ------------------------------------------------------------------------------

    async def _send_json(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload, ensure_ascii=False))

    async def _error(
        self, detail: str, *, chat_id=None, client_msg_id=None, retry_after: int | None = None
    ) -> None:
        payload: dict = {"error": detail}
        if retry_after is not None:
            payload["retry_after"] = retry_after
        if isinstance(chat_id, str):
            payload["chat_id"] = chat_id
        if isinstance(client_msg_id, str):
            payload["client_msg_id"] = client_msg_id
        await self._send_json(payload)

"""The chat socket: one per browser tab, carrying every chat of its user.

This consumer owns the socket: the handshake (credentials, Origin, the per-account limit),
revocation, close codes (apps.realtime.protocol.CloseCode), and turning each client frame
into a call to its handler by `type`: `ping` here, the chat frames in chat_handlers.py, the
call and push-to-talk frames (and binary audio while recording) in voice_handlers.py. The
handlers call the use cases (apps/chats/actions.py, apps/voice/actions.py); messages go out
through delivery.py, in order per chat, without gaps or repeats, at the client's pace. The
frames themselves are described, once, in apps/realtime/protocol.py.

Every frame gets an answer, an error frame if it is malformed in any way, and the socket
stays open. Close codes: 1008 bad credentials (a missing or bad token at the handshake, or
later the account disabled, its password reset or all its sessions logged out: the
`session.revoked` event, or the periodic re-check of the account every
SOCKET_RECHECK_SECONDS); 4001 a used or expired ticket; 4003 an Origin that is not allowed;
4029 more than SOCKETS_PER_USER_MAX sockets open for the account (an error frame with
`"code": "too_many_sockets"` comes first); 4008 the client fell too far behind in reading
(SOCKET_OUTBOUND_BACKLOG_MAX_BYTES unsent, or a catch-up it did not take for
SOCKET_CATCH_UP_STALL_SECONDS), or a live message arrived after a gap this socket could not
fill because DynamoDB was unavailable: reconnect and resume; 4503 Redis or DynamoDB was
unavailable at the handshake.

Access to a chat (typing, read, resume) is checked against the member's inbox row each time,
never a cached member list, so leaving a group ends it at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Literal

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.accounts.models import User
from apps.accounts.selectors import user_get
from apps.core.concurrency import run_blocking
from apps.core.delivery import user_group
from apps.core.errors import ServiceError
from apps.core.keyvalue import keyvalue_store, socket_lease_key
from apps.core.outages import (
    UNAVAILABLE_DETAIL,
    UNAVAILABLE_RETRY_AFTER_SECONDS,
    outage_caused,
)
from apps.realtime.chat_handlers import ChatHandlers, roster_change_note
from apps.realtime.delivery import SocketDelivery, is_message_frame
from apps.realtime.frames import (
    SOMETHING_WENT_WRONG,
    Frame,
    error_frame,
    json_text,
    unknown_type_detail,
)
from apps.realtime.presence_handlers import PresenceSocket
from apps.realtime.protocol import CloseCode, ErrorFrame, PongFrame
from apps.realtime.voice_handlers import VoiceSocket

logger = logging.getLogger(__name__)

TOO_MANY_SOCKETS_CODE: Literal["too_many_sockets"] = "too_many_sockets"
# A socket renews its place every SOCKET_RECHECK_SECONDS; a place left this many periods
# without renewal belonged to an instance that died.
SOCKET_LEASE_PERIODS = 2.5


def _log_failure(what: str, error: Exception) -> None:
    # An outage is expected and says all in one line; anything else is a bug worth a traceback.
    if outage_caused(error):
        logger.warning("%s: a dependency is unavailable (%s)", what, type(error).__name__)
    else:
        logger.error("%s", what, exc_info=error)


class ChatConsumer(AsyncWebsocketConsumer):
    # The account this socket was accepted for; None until then, and for a socket refused.
    _user: User | None = None

    @property
    def user(self) -> User:
        """The socket's account, as last read (a profile change re-reads it). Only an accepted
        socket has one: the frame and event handlers exist only once it is accepted."""
        if self._user is None:
            raise RuntimeError("this socket has no account: it was never accepted")
        return self._user

    async def dispatch(self, message: dict) -> None:
        # Channels' dispatch first hops to Django's one sync thread to close stale database
        # connections, for every event; with no relational database that is pure cost, and
        # it serialized every delivery in the process behind that thread.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self._user = None
        self.group: str | None = None
        self.ended = False
        self.lease_held = False
        # Closed because the account was deleted: its close forgets the user's presence.
        self.account_deleted = False
        self.recheck: asyncio.Task | None = None
        if not self.scope.get("origin_allowed", True):
            # A page from another site gets no socket. Accepting only to close with a code of
            # our own lets a misconfigured front end see why, instead of a bare 1006.
            await self.accept()
            await self.close(code=CloseCode.ORIGIN_NOT_ALLOWED)
            return
        user: User | None = self.scope.get("user")
        # Accept before closing so the client sees the close code; a refused handshake
        # would only show an HTTP 403.
        await self.accept()
        if self.scope.get("dependencies_unavailable"):
            await self.close(code=CloseCode.TRY_AGAIN_LATER)
            return
        if user is None:
            # A ticket that is used up or expired says so, so the client fetches a new one
            # instead of treating the session as over; a bad token closes as the contract says.
            ticket_failed = self.scope.get("auth_method") == "ticket"
            await self.close(
                code=CloseCode.TICKET_INVALID if ticket_failed else CloseCode.POLICY_VIOLATION
            )
            return
        # The version of the credentials this socket was opened with: a later one (logout
        # everywhere, a password reset, a disable) ends it.
        self.token_version = int(user.token_version)
        self.lease_key = socket_lease_key(user.user_id)
        try:
            self.lease_held = await keyvalue_store().lease_acquire(
                self.lease_key,
                self.channel_name,
                limit=settings.SOCKETS_PER_USER_MAX,
                ttl_seconds=self._lease_seconds(),
            )
        except Exception as error:
            if not outage_caused(error):
                raise
            logger.warning("socket handshake: Redis is unavailable (%s)", type(error).__name__)
            await self.close(code=CloseCode.TRY_AGAIN_LATER)
            return
        if not self.lease_held:
            refusal: ErrorFrame = {
                "error": f"too many open sockets for this account (at most "
                f"{settings.SOCKETS_PER_USER_MAX}); close another tab or window",
                "code": TOO_MANY_SOCKETS_CODE,
            }
            await self.send_json(refusal)
            await self.close(code=CloseCode.TOO_MANY_SOCKETS)
            return
        # Set before joining: a join that fails part-way is undone in disconnect().
        self.group = user_group(user.user_id)
        try:
            await self.channel_layer.group_add(self.group, self.channel_name)
        except Exception as error:
            if not outage_caused(error):
                raise
            # Without the group the socket would get nothing live: refuse it like any other
            # handshake during an outage.
            logger.warning(
                "socket handshake: the channel layer is unavailable (%s)", type(error).__name__
            )
            await self.close(code=CloseCode.TRY_AGAIN_LATER)
            return
        # Accepted: from here on the socket has its account, and frames are handled.
        self._user = user
        self.delivery = SocketDelivery(socket=self)
        self.chats = ChatHandlers(socket=self, delivery=self.delivery, failure_log=_log_failure)
        self.voice = VoiceSocket(user=lambda: self.user, send_json=self.send_json)
        self.presence = PresenceSocket(
            user=lambda: self.user, channel_name=self.channel_name, send_json=self.send_json
        )
        # Frame type -> handler: each handler reads its frame and calls one use case.
        self.handlers = {
            "ping": self.on_ping,
            **self.chats.frame_handlers(),
            **self.voice.frame_handlers(),
            **self.presence.frame_handlers(),
        }
        await self.presence.arrive()
        self.recheck = asyncio.get_running_loop().create_task(self._recheck_periodically())

    async def disconnect(self, code: int) -> None:
        if self.recheck is not None:
            self.recheck.cancel()
        if getattr(self, "group", None) is not None:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception as error:
                # The layer forgets the membership either way; Redis's copy expires.
                _log_failure("leaving the user's group failed", error)
        if self.lease_held:
            self.lease_held = False
            try:
                await keyvalue_store().lease_release(self.lease_key, self.channel_name)
            except Exception as error:
                # The place lapses by itself once nobody renews it.
                _log_failure("releasing a socket's place failed", error)
        if getattr(self, "presence", None) is not None:
            # After the lease is given up: with no other socket left, the user is offline.
            await self.presence.leave(account_deleted=self.account_deleted)
        if getattr(self, "chats", None) is not None:
            self.chats.on_the_way_forget()
        if getattr(self, "voice", None) is not None:
            await self.voice.disconnect()
        # Sends already under way finish: their messages are stored and delivered to the
        # other members even though this socket cannot be told.

    # --- Revocation and the socket's place ---------------------------------------------------

    @staticmethod
    def _lease_seconds() -> float:
        return settings.SOCKET_RECHECK_SECONDS * SOCKET_LEASE_PERIODS

    async def _recheck_periodically(self) -> None:
        """Renew this socket's place and re-read the account: a revocation whose broadcast
        never arrived (Redis unreachable at that moment) still ends the socket."""
        while not self.ended:
            await asyncio.sleep(settings.SOCKET_RECHECK_SECONDS)
            try:
                await keyvalue_store().lease_renew(
                    self.lease_key, self.channel_name, ttl_seconds=self._lease_seconds()
                )
                user = await run_blocking(user_get)(user_id=self.user.user_id)
            except Exception as error:
                _log_failure("re-checking a socket's account failed; trying again later", error)
                continue
            if user is None or not user.is_active or int(user.token_version) != self.token_version:
                self.account_deleted = user is None
                await self.end(code=CloseCode.POLICY_VIOLATION)
                return

    async def session_revoked(self, event: dict) -> None:
        token_version = event.get("token_version")
        if isinstance(token_version, int) and token_version > self.token_version:
            self.account_deleted = event.get("account_deleted") is True
            await self.end(code=CloseCode.POLICY_VIOLATION)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        # Under Daphne, autobahn refuses a close code whose type is not exactly int, and a
        # CloseCode is an IntEnum.
        if isinstance(code, CloseCode):
            code = code.value
        await super().close(code=code, reason=reason)

    async def end(self, *, code: int) -> None:
        """Close from the server side; frames and events still queued are ignored."""
        if self.ended:
            return
        self.ended = True
        await self.close(code=code)

    # --- Frames from the client -------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self._user is None or self.ended:
            return
        try:
            await self._receive(text_data, bytes_data)
        except Exception:
            # Whatever a frame does, the socket outlives it.
            logger.exception("chat socket frame failed")
            await self._error(SOMETHING_WENT_WRONG)

    async def _receive(self, text_data: str | None, bytes_data: bytes | None) -> None:
        if bytes_data is not None and text_data is None and self.voice.takes_audio(bytes_data):
            await self.voice.on_audio(bytes_data)
            return
        try:
            frame = json.loads(text_data if text_data is not None else bytes_data or b"")
        except (ValueError, RecursionError):
            # ValueError: bad UTF-8, bad JSON, an integer too long to convert;
            # RecursionError: nesting too deep.
            await self._error("invalid JSON")
            return
        if not isinstance(frame, dict):
            await self._error("frame must be a JSON object")
            return
        try:
            json.dumps(frame, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            await self._error("frame contains invalid Unicode (a lone surrogate)")
            return
        kind = frame.get("type", "send")
        handler = self.handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self._error(unknown_type_detail(kind))
            return
        try:
            await handler(frame)
        except ServiceError as error:
            await self._error(
                error.detail, chat_id=frame.get("chat_id"), retry_after=error.retry_after
            )
        except Exception as error:
            if not outage_caused(error):
                raise
            # Redis or DynamoDB is down: a wait, like REST's 503, not a bug; the socket stays.
            logger.warning(
                "chat socket %s frame: a dependency is unavailable (%s)", kind, type(error).__name__
            )
            await self._error(
                UNAVAILABLE_DETAIL,
                chat_id=frame.get("chat_id"),
                retry_after=UNAVAILABLE_RETRY_AFTER_SECONDS,
            )

    async def on_ping(self, frame: Frame) -> None:
        pong: PongFrame = {"type": "pong"}
        await self.send_json(pong)

    # --- Events from the channel layer -------------------------------------------------------

    async def voice_signal(self, event: dict) -> None:
        if self.ended:
            return
        await self.voice.on_signal(event)

    async def presence_changed(self, event: dict) -> None:
        if self.ended:
            return
        await self.presence.on_changed(event)

    async def presence_gone(self, event: dict) -> None:
        if self.ended:
            return
        await self.presence.on_gone(event)

    async def chat_frame(self, event: dict) -> None:
        if self.ended:
            return
        try:
            await self._chat_frame(event["frame"])
        except Exception as error:
            # A gap fill (or a profile re-read) failed, DynamoDB being unavailable: this
            # socket can no longer promise every message in order. Raised, it would end the
            # socket with 1011; closed with 4008, the client reconnects and `resume` replays
            # what it missed, once DynamoDB answers.
            _log_failure("delivering an event to a chat socket failed", error)
            await self.end(code=CloseCode.TOO_FAR_BEHIND)

    async def _chat_frame(self, frame: Mapping[str, object]) -> None:
        roster_change_note(frame)
        if frame.get("type") == "profile_updated":
            # Messages this socket replays from storage must follow the new language.
            refreshed = await run_blocking(user_get)(user_id=self.user.user_id)
            if refreshed is not None:
                self._user = refreshed
                await self.presence.viewer_refreshed()
        if is_message_frame(frame):
            self.chats.message_came_back(frame)
            await self.delivery.message_deliver(frame)
        else:
            await self.send_json(frame)

    # --- Helpers ------------------------------------------------------------------------------

    async def send_json(self, payload: Mapping[str, object]) -> None:
        await self.send(text_data=json_text(payload))

    async def _error(
        self, detail: str, *, chat_id: object = None, retry_after: int | None = None
    ) -> None:
        await self.send_json(error_frame(detail, chat_id=chat_id, retry_after=retry_after))

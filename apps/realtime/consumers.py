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
DynamoDB and delivered first. Missed messages (a resume, a gap) are read a page at a time,
each page once the client has taken most of the one before (apps/core/socket_backlog.py).

Every frame gets an answer, an error frame if it is malformed in any way, and the socket
stays open. Close codes: 1008 bad credentials (a missing or bad token at the handshake, or
later the account disabled, its password reset or all its sessions logged out: the
`session.revoked` event, or the periodic re-check of the account every
SOCKET_RECHECK_SECONDS); 4001 a used or expired ticket; 4003 an Origin that is not allowed;
4029 more than SOCKETS_PER_USER_MAX sockets open for the account (an error frame with
`"code": "too_many_sockets"` comes first); 4008 the client fell too far behind in reading
(SOCKET_OUTBOUND_BACKLOG_MAX_BYTES unsent, or a catch-up it did not take for
SOCKET_CATCH_UP_STALL_SECONDS), or a live message arrived after a gap this socket could not
fill because DynamoDB was unavailable: reconnect and resume.

Access to a chat (typing, read, resume) is checked against the member's inbox row each time,
never a cached member list, so leaving a group ends it at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.accounts.selectors import user_get
from apps.chats import actions, events
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.presenters import message_view
from apps.chats.selectors import (
    NOT_A_MEMBER,
    chat_get,
    chat_memberships_of,
    message_range,
)
from apps.chats.sending import CLIENT_MSG_ID_MAX_CHARS
from apps.core.concurrency import run_blocking
from apps.core.errors import Forbidden, InvalidInput, NotFound, ServiceError
from apps.core.keyvalue import keyvalue_store
from apps.core.outages import (
    UNAVAILABLE_DETAIL,
    UNAVAILABLE_RETRY_AFTER_SECONDS,
    outage_caused,
)
from apps.core.ratelimit import RateLimit, rate_limit_hit
from apps.core.socket_backlog import CLOSE_TOO_FAR_BEHIND, socket_outbound
from apps.voice.sockets import VoiceSocket

logger = logging.getLogger(__name__)

# RFC 6455 "policy violation": what the client contract promises for a missing or bad token.
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TICKET_INVALID = 4001
# Redis or DynamoDB is down at the handshake: nothing is wrong with the client, which retries
# (as it does on any close but 1008) once the service is back. Mirrors HTTP 503.
CLOSE_TRY_AGAIN_LATER = 4503
CLOSE_ORIGIN_NOT_ALLOWED = 4003
CLOSE_TOO_MANY_SOCKETS = 4029
TOO_MANY_SOCKETS_CODE = "too_many_sockets"
# Member lists cached for fan-out (who gets a typing or read frame), never for access checks.
MEMBERS_CACHE_SECONDS = 30
MEMBERS_CACHE_KEPT = 256
TYPING_MIN_INTERVAL_SECONDS = 2.0
RESUME_MAX_CHATS = 200
SENT_SEQS_KEPT = 512
# Chat ids are 32 hex digits; anything much longer is not one, and DynamoDB would refuse it.
CHAT_ID_MAX_CHARS = 64
FRAME_TYPE_ECHO_MAX_CHARS = 40
SOCKET_LEASE_KEY_PREFIX = "wsocks:"
# A socket renews its place every SOCKET_RECHECK_SECONDS; a place left this many periods
# without renewal belonged to an instance that died.
SOCKET_LEASE_PERIODS = 2.5
SOMETHING_WENT_WRONG = "Something went wrong; try again"
# A catch-up sends on while the client has left at most this share of
# SOCKET_OUTBOUND_BACKLOG_MAX_BYTES unread, so catching up never trips that bound.
CATCH_UP_BACKLOG_SHARE = 4
CATCH_UP_DRAIN_POLL_SECONDS = 0.02


def _log_failure(what: str, error: Exception) -> None:
    # An outage is expected and says all in one line; anything else is a bug worth a traceback.
    if outage_caused(error):
        logger.warning("%s: a dependency is unavailable (%s)", what, type(error).__name__)
    else:
        logger.error("%s", what, exc_info=error)


def _resume_limit() -> RateLimit:
    return RateLimit(
        name="resume",
        count=settings.SOCKET_RESUME_RATE_LIMIT_COUNT,
        window_seconds=settings.SOCKET_RESUME_RATE_LIMIT_WINDOW_SECONDS,
        detail="too many resumes",
    )


def _is_chat_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= CHAT_ID_MAX_CHARS


def _frame_chat_id(frame: dict) -> str:
    chat_id = frame.get("chat_id")
    if not _is_chat_id(chat_id):
        raise InvalidInput("chat_id is required")
    return chat_id


def _unknown_type_detail(kind) -> str:
    # Echo the type only when it is a short plain string: never a client's arbitrary text.
    if isinstance(kind, str) and len(kind) <= FRAME_TYPE_ECHO_MAX_CHARS and kind.isprintable():
        return f"unknown frame type: {kind}"
    return "unknown frame type"


def _json_text(payload: dict) -> str:
    text = json.dumps(payload, ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (a client's "\ud800") has no UTF-8 form; escaped, it has.
            return json.dumps(payload)
    return text


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
        self.group: str | None = None
        self.ended = False
        self.lease_held = False
        self.recheck: asyncio.Task | None = None
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
        if self.scope.get("dependencies_unavailable"):
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        if self.user is None:
            # A ticket that is used up or expired says so, so the client fetches a new one
            # instead of treating the session as over; a bad token closes as the contract says.
            ticket_failed = self.scope.get("auth_method") == "ticket"
            await self.close(code=CLOSE_TICKET_INVALID if ticket_failed else CLOSE_POLICY_VIOLATION)
            return
        # The version of the credentials this socket was opened with: a later one (logout
        # everywhere, a password reset, a disable) ends it.
        self.token_version = int(self.user.token_version)
        self.lease_key = f"{SOCKET_LEASE_KEY_PREFIX}{self.user.user_id}"
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
            self.user = None
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        if not self.lease_held:
            await self._send_json(
                {
                    "error": f"too many open sockets for this account (at most "
                    f"{settings.SOCKETS_PER_USER_MAX}); close another tab or window",
                    "code": TOO_MANY_SOCKETS_CODE,
                }
            )
            self.user = None
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return
        # Set before joining: a join that fails part-way is undone in disconnect().
        self.group = events.user_group(self.user.user_id)
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
            self.user = None
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        self.voice = VoiceSocket(user=lambda: self.user, send_json=self._send_json)
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
                await self._end(code=CLOSE_POLICY_VIOLATION)
                return

    async def session_revoked(self, event: dict) -> None:
        token_version = event.get("token_version")
        if isinstance(token_version, int) and token_version > self.token_version:
            await self._end(code=CLOSE_POLICY_VIOLATION)

    async def _end(self, *, code: int) -> None:
        """Close from the server side; frames and events still queued are ignored."""
        if self.ended:
            return
        self.ended = True
        await self.close(code=code)

    # --- Frames from the client -------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if getattr(self, "user", None) is None or self.ended:
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
        handlers = {
            "send": self._on_send,
            "typing": self._on_typing,
            "read": self._on_read,
            "resume": self._on_resume,
            "ping": self._on_ping,
            **self.voice.frame_handlers(),
        }
        handler = handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self._error(_unknown_type_detail(kind))
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

    async def _on_send(self, frame: dict) -> None:
        chat_id = frame.get("chat_id")
        text = frame.get("text")
        client_msg_id = frame.get("client_msg_id")
        if not _is_chat_id(chat_id):
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
            outcome = await actions.do_send_message(
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
        except Exception as error:
            _log_failure(f"message send failed in chat {chat_id}", error)
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
        """Who a typing or read frame goes to; access is checked elsewhere, fresh."""
        cached = self.members_cache.get(chat_id)
        now = time.monotonic()
        if cached and cached[1] > now:
            return cached[0]
        chat = await run_blocking(chat_get)(chat_id=chat_id)
        members = frozenset(chat.member_ids) if chat else frozenset()
        self.members_cache.pop(chat_id, None)
        self.members_cache[chat_id] = (members, now + MEMBERS_CACHE_SECONDS)
        while len(self.members_cache) > MEMBERS_CACHE_KEPT:
            del self.members_cache[next(iter(self.members_cache))]
        return members

    async def _on_typing(self, frame: dict) -> None:
        chat_id = _frame_chat_id(frame)
        now = time.monotonic()
        # Only chats this socket was a member of two seconds ago are throttled here, so the
        # map stays as small as the user's chats; a dropped frame reaches nobody.
        if now - self.typing_sent.get(chat_id, float("-inf")) < TYPING_MIN_INTERVAL_SECONDS:
            return
        try:
            await actions.do_send_typing(user=self.user, chat_id=chat_id, members=self._member_ids)
        except Forbidden:
            self.typing_sent.pop(chat_id, None)
            raise
        self.typing_sent[chat_id] = now

    async def _on_read(self, frame: dict) -> None:
        chat_id = _frame_chat_id(frame)
        seq = frame.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            await self._error("seq must be an integer", chat_id=chat_id)
            return
        try:
            # Checks membership itself, against the inbox row.
            await actions.do_mark_read(
                user=self.user, chat_id=chat_id, seq=seq, members=self._member_ids
            )
        except NotFound as error:
            # Whether a chat exists is nobody's business but its members'.
            raise Forbidden(NOT_A_MEMBER) from error

    async def _on_resume(self, frame: dict) -> None:
        chats = frame.get("chats")
        if not isinstance(chats, dict) or len(chats) > RESUME_MAX_CHATS:
            await self._error(
                f"chats must map up to {RESUME_MAX_CHATS} chat ids to sequence numbers"
            )
            return
        await rate_limit_hit(limit=_resume_limit(), subject=self.user.user_id)
        wanted: dict[str, int] = {}
        for chat_id, last_seen in chats.items():
            if not _is_chat_id(chat_id):
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
            user_id=self.user.user_id, chat_ids=list(wanted)
        )
        latest = {}
        for chat_id, last_seen in wanted.items():
            membership = memberships.get(chat_id)
            if membership is None:
                await self._error(NOT_A_MEMBER, chat_id=chat_id)
                continue
            # Live messages may have reached this socket before the client asked to resume;
            # replay everything after what the client saw, except those.
            already_sent = self.sent_seqs.get(chat_id, set())
            self.delivered_seq[chat_id] = last_seen
            if int(membership.last_seq) > last_seen and not await self._catch_up(
                chat_id, up_to_seq=None, skip=already_sent
            ):
                return
            latest[chat_id] = max(self.delivered_seq[chat_id], max(already_sent, default=0))
            self.delivered_seq[chat_id] = latest[chat_id]
        await self._send_json({"type": "resume_complete", "chats": latest})

    async def _on_ping(self, frame: dict) -> None:
        await self._send_json({"type": "pong"})

    # --- Events from the channel layer -------------------------------------------------------

    async def voice_signal(self, event: dict) -> None:
        if self.ended:
            return
        await self.voice.on_signal(event)

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
            await self._end(code=CLOSE_TOO_FAR_BEHIND)

    async def _chat_frame(self, frame: dict) -> None:
        if frame.get("type") in ("member_added", "member_left"):
            # The roster changed: typing and read frames go to the new one.
            self.members_cache.pop(frame.get("chat_id"), None)
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
            if seq > delivered + 1 and not await self._catch_up(chat_id, up_to_seq=seq - 1):
                return
        await self._send_message_frame(frame)
        self.delivered_seq[chat_id] = seq
        # A send from this process into the chat can then take the next number at once.
        chat_snapshots.seq_seen(chat_id, seq)

    async def _catch_up(
        self, chat_id: str, *, up_to_seq: int | None, skip: set[int] = frozenset()
    ) -> bool:
        """Deliver the stored messages after the last one this socket delivered, a page at a
        time, each message once the client has taken most of what came before: a socket
        however far behind costs one page of memory. False if the socket is going away."""
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
            for message in page:
                seq = int(message.seq)
                if seq not in skip:
                    if not await self._outbound_room():
                        return False
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
            if len(page) < page_size:
                return True

    async def _outbound_room(self) -> bool:
        """Wait until the client has read all but a little of what this socket sent. False
        if the socket is going away, or if the client read nothing for
        SOCKET_CATCH_UP_STALL_SECONDS: then it is closed as too far behind, to resume later
        (meanwhile this socket's events wait in the channel layer, in memory)."""
        outbound = socket_outbound(self.scope)
        if outbound is None:  # not under Daphne: nothing to measure
            return not self.ended
        allowed = settings.SOCKET_OUTBOUND_BACKLOG_MAX_BYTES // CATCH_UP_BACKLOG_SHARE
        unsent = outbound["unsent_bytes"]()
        stalled_since = time.monotonic()
        while not self.ended:
            if outbound["closing"]():
                # Daphne closed it (too far behind) or the client did: nothing more to do.
                self.ended = True
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
                    CLOSE_TOO_FAR_BEHIND,
                )
                await self._end(code=CLOSE_TOO_FAR_BEHIND)
        return False

    async def _send_message_frame(self, frame: dict) -> None:
        await self._send_json(frame)
        sent = self.sent_seqs.setdefault(frame["chat_id"], set())
        sent.add(frame["message"]["seq"])
        if len(sent) > SENT_SEQS_KEPT * 2:
            # Only recent ones can be asked for again by a resume; keep memory bounded.
            self.sent_seqs[frame["chat_id"]] = set(sorted(sent)[-SENT_SEQS_KEPT:])

    # --- Helpers ------------------------------------------------------------------------------

    async def _send_json(self, payload: dict) -> None:
        await self.send(text_data=_json_text(payload))

    async def _error(
        self, detail: str, *, chat_id=None, client_msg_id=None, retry_after: int | None = None
    ) -> None:
        payload: dict = {"error": detail}
        if retry_after is not None:
            payload["retry_after"] = retry_after
        if _is_chat_id(chat_id):
            payload["chat_id"] = chat_id
        if isinstance(client_msg_id, str) and len(client_msg_id) <= CLIENT_MSG_ID_MAX_CHARS:
            payload["client_msg_id"] = client_msg_id
        await self._send_json(payload)

"""The voice side of a chat socket: call and push-to-talk frames.

The chat consumer (apps/chats/consumers.py) hands these frames here (`frame_handlers`),
binary frames while this socket records (`takes_audio`, `on_audio`), the `voice.signal`
channel event (`on_signal`), and its closing (`disconnect`).

Client frames (JSON objects):

| type          | fields                          | effect |
|---------------|---------------------------------|--------|
| `call_start`  | `chat_id`                       | ring every other member (`call_incoming` to all) |
| `call_accept` | `chat_id`, `call_id`            | answer (or join a group call under way) |
| `call_decline`| `chat_id`, `call_id`            | decline a ringing call |
| `call_cancel` | `chat_id`, `call_id`            | the caller hangs up before an answer |
| `call_end`    | `chat_id`, `call_id`            | hang up (cancels or declines a call still ringing) |
| `call_status` | `chat_id`                       | reply `{"type": "call_status", "chat_id", "call": {...} or null}` (members only) |
| `ptt_start`   | `chat_id`, `format`?            | take the turn (needs an answered call you are in); `format`: `webm` (default), `ogg`, `wav`, `mp3`, `mp4`, `flac`, `pcm_s16le_16` |
| (binary)      | audio bytes                     | the recording, in order, while this socket records |
| `ptt_audio`   | `chat_id`, `data` (base64)      | the same, for clients that cannot send binary frames |
| `ptt_stop`    | `chat_id`                       | end the recording: the turn is processed |
| `ptt_cancel`  | `chat_id`                       | abandon the turn: everyone back to idle |

A socket that started or answered a call is in it: when the socket closes, it leaves the
call (a ringing call it started is cancelled), and a turn it was speaking ends. Errors come
back as `{"error", "chat_id", ...}` (`retry_after` too when over a limit); the socket stays
open. Someone not in a chat learns nothing of its calls: `call_start`, `call_accept` and
`call_status` answer "Chat not found", and frames naming a call "That call is over", whether
or not the chat exists or has a call.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from functools import wraps

from apps.accounts.models import User
from apps.core.errors import Conflict, InvalidInput, ServiceError
from apps.voice import calls, events, turns
from apps.voice.background import background_run
from apps.voice.selectors import call_view
from apps.voice.services import CallGone, user_display_name
from apps.voice.speech import DEFAULT_AUDIO_FORMAT

logger = logging.getLogger(__name__)

Frame = dict
SendJson = Callable[[dict], Awaitable[None]]


def _replying(handler):
    """Service errors go back to the socket as `{"error": ...}` with the frame's ids."""

    @wraps(handler)
    async def wrapper(self: VoiceSocket, frame: Frame) -> None:
        try:
            await handler(self, frame)
        except ServiceError as error:
            await self._error(error, frame)
        except Exception:
            logger.exception("voice frame %s failed", frame.get("type"))
            await self._send_json({"error": "Something went wrong; try again", **_ids(frame)})

    return wrapper


# Chat and call ids are 32 hex digits; a longer string is not one, and is never echoed back.
ID_MAX_CHARS = 64


def _ids(frame: Frame) -> dict:
    return {
        name: frame[name]
        for name in ("chat_id", "call_id")
        if isinstance(frame.get(name), str) and len(frame[name]) <= ID_MAX_CHARS
    }


def _string(frame: Frame, name: str, *, max_chars: int | None = ID_MAX_CHARS) -> str:
    value = frame.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{name} is required")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInput(f"{name} must be at most {max_chars} characters")
    return value


class VoiceSocket:
    def __init__(self, *, user: Callable[[], User], send_json: SendJson) -> None:
        self._user = user
        self._send_json = send_json
        # chat_id -> call_id of the calls this socket started or answered.
        self.calls: dict[str, str] = {}
        # The turn this socket speaks (recording or being processed), if any.
        self.turn: turns.Turn | None = None
        self._audio_refused = False

    @property
    def user(self) -> User:
        return self._user()

    def frame_handlers(self) -> dict[str, Callable[[Frame], Awaitable[None]]]:
        return {
            "call_start": self.on_call_start,
            "call_accept": self.on_call_accept,
            "call_decline": self.on_call_decline,
            "call_cancel": self.on_call_cancel,
            "call_end": self.on_call_end,
            "call_status": self.on_call_status,
            "ptt_start": self.on_ptt_start,
            "ptt_audio": self.on_ptt_audio,
            "ptt_stop": self.on_ptt_stop,
            "ptt_cancel": self.on_ptt_cancel,
        }

    # --- Calls ---------------------------------------------------------------------------------

    @_replying
    async def on_call_start(self, frame: Frame) -> None:
        chat_id = _string(frame, "chat_id")
        call = await calls.call_start(user=self.user, chat_id=chat_id)
        self.calls[chat_id] = call.call_id

    @_replying
    async def on_call_accept(self, frame: Frame) -> None:
        chat_id, call_id = _string(frame, "chat_id"), _string(frame, "call_id")
        await calls.call_accept(user=self.user, chat_id=chat_id, call_id=call_id)
        self.calls[chat_id] = call_id

    @_replying
    async def on_call_decline(self, frame: Frame) -> None:
        chat_id, call_id = _string(frame, "chat_id"), _string(frame, "call_id")
        await calls.call_decline(user=self.user, chat_id=chat_id, call_id=call_id)

    @_replying
    async def on_call_cancel(self, frame: Frame) -> None:
        chat_id, call_id = _string(frame, "chat_id"), _string(frame, "call_id")
        await calls.call_cancel(user=self.user, chat_id=chat_id, call_id=call_id)
        self._call_forget(chat_id, call_id)

    @_replying
    async def on_call_end(self, frame: Frame) -> None:
        chat_id, call_id = _string(frame, "chat_id"), _string(frame, "call_id")
        self._call_forget(chat_id, call_id)
        await calls.call_leave(user=self.user, chat_id=chat_id, call_id=call_id)

    @_replying
    async def on_call_status(self, frame: Frame) -> None:
        chat_id = _string(frame, "chat_id")
        call = await calls.call_status_get(user=self.user, chat_id=chat_id)
        await self._send_json(
            {
                "type": "call_status",
                "chat_id": chat_id,
                "call": call_view(call=call) if call else None,
            }
        )

    def _call_forget(self, chat_id: str, call_id: str) -> None:
        if self.calls.get(chat_id) == call_id:
            del self.calls[chat_id]

    # --- Push to talk --------------------------------------------------------------------------

    def _speaking(self) -> turns.Turn | None:
        turn = self.turn
        return turn if turn is not None and not turn.finished else None

    def _recording(self, chat_id: str) -> turns.Turn:
        turn = self._speaking()
        if turn is None or not turn.recording or turn.chat_id != chat_id:
            raise Conflict("No recording in progress; send ptt_start first")
        return turn

    @_replying
    async def on_ptt_start(self, frame: Frame) -> None:
        chat_id = _string(frame, "chat_id")
        if self._speaking() is not None:
            raise Conflict("You are already speaking")
        audio_format = frame.get("format") or DEFAULT_AUDIO_FORMAT
        if not isinstance(audio_format, str):
            raise InvalidInput("format must be a string")
        self._audio_refused = False
        self.turn = await turns.turn_start(
            user=self.user, chat_id=chat_id, audio_format=audio_format
        )

    @_replying
    async def on_ptt_audio(self, frame: Frame) -> None:
        turn = self._recording(_string(frame, "chat_id"))
        try:
            data = base64.b64decode(_string(frame, "data", max_chars=None), validate=True)
        except binascii.Error as error:
            raise InvalidInput("data must be base64") from error
        await self._audio_add(turn, data)

    @_replying
    async def on_ptt_stop(self, frame: Frame) -> None:
        await turns.turn_stop(turn=self._recording(_string(frame, "chat_id")))

    @_replying
    async def on_ptt_cancel(self, frame: Frame) -> None:
        chat_id = _string(frame, "chat_id")
        turn = self._speaking()
        if turn is None or turn.chat_id != chat_id:
            raise Conflict("You are not speaking")
        await turns.turn_cancel(turn=turn)

    def takes_audio(self, data: bytes) -> bool:
        """Is this binary frame audio? While recording, always; otherwise only if it is not
        JSON (the chat socket accepts JSON in binary frames too)."""
        turn = self._speaking()
        if turn is not None and turn.recording:
            return True
        return data.lstrip()[:1] != b"{"

    async def on_audio(self, data: bytes) -> None:
        turn = self._speaking()
        if turn is None or not turn.recording:
            # Chunks still in flight after a refused or ended turn: say so once.
            if not self._audio_refused:
                self._audio_refused = True
                await self._send_json({"error": "No recording in progress; send ptt_start first"})
            return
        try:
            await self._audio_add(turn, data)
        except ServiceError as error:
            await self._send_json({"error": error.detail, "chat_id": turn.chat_id})

    async def _audio_add(self, turn: turns.Turn, data: bytes) -> None:
        try:
            turns.turn_audio_add(turn=turn, data=data)
        except turns.RecordingTooLong as error:
            await turns.turn_fail(turn=turn, error=error.detail, error_code="too_long")

    # --- Channel events and closing --------------------------------------------------------------

    async def on_signal(self, event: dict) -> None:
        turn = self._speaking()
        if (
            event.get("signal") == events.SIGNAL_TURN_ABORTED
            and turn is not None
            and turn.turn_id == event.get("turn_id")
        ):
            turns.turn_drop(turn=turn)

    async def disconnect(self) -> None:
        """The socket closed: its turn ends and it leaves its calls. Done in the background,
        so it completes even though the consumer is going away."""
        turn = self._speaking()
        joined = dict(self.calls)
        self.calls.clear()
        if turn is None and not joined:
            return
        background_run(self._depart(self.user, turn, joined), name="voice-socket-closed")

    async def _depart(self, user: User, turn: turns.Turn | None, joined: dict[str, str]) -> None:
        if turn is not None:
            await turns.turn_fail(
                turn=turn,
                error=f"{user_display_name(user=user)} left",
                error_code="participant_left",
            )
        for chat_id, call_id in joined.items():
            try:
                await calls.call_leave(
                    user=user,
                    chat_id=chat_id,
                    call_id=call_id,
                    reason=calls.LEFT_REASON_DISCONNECTED,
                )
            except (CallGone, ServiceError):
                continue  # already over, or never answered by this socket's user
            except Exception:
                logger.exception(
                    "leaving the call in chat %s after a socket closed failed", chat_id
                )

    # --- Helpers -----------------------------------------------------------------------------

    async def _error(self, error: ServiceError, frame: Frame) -> None:
        payload = {"error": error.detail, **_ids(frame)}
        if error.retry_after is not None:
            payload["retry_after"] = error.retry_after
        current = getattr(error, "call", None)
        if current is not None:
            payload["call"] = call_view(call=current)
        await self._send_json(payload)

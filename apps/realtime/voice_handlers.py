"""The voice side of a chat socket: call and push-to-talk frames.

The consumer (apps/realtime/consumers.py) hands these frames here (`frame_handlers`),
binary frames while this socket records (`takes_audio`, `on_audio`), the `voice.signal`
channel event (`on_signal`), and its closing (`disconnect`). Each handler reads its fields
(apps.realtime.voice_frames) and calls one use case (apps.voice.actions); what this class
keeps is what belongs to the socket: the calls it is in and the turn it speaks.

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

import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import wraps

from apps.accounts.models import User
from apps.core.background import background_task_start
from apps.core.errors import Conflict, ServiceError
from apps.realtime.frames import SOMETHING_WENT_WRONG, Frame
from apps.realtime.protocol import ErrorFrame
from apps.realtime.voice_frames import (
    NO_RECORDING,
    call_status_reply,
    error_reply,
    frame_audio,
    frame_audio_format,
    frame_refusal,
    frame_string,
)
from apps.voice import actions, events
from apps.voice.turns import Turn

logger = logging.getLogger(__name__)

SendJson = Callable[[Mapping[str, object]], Awaitable[None]]


VoiceHandler = Callable[["VoiceSocket", Frame], Awaitable[None]]


def _replying(handler: VoiceHandler) -> VoiceHandler:
    """Service errors go back to the socket as `{"error": ...}` with the frame's ids."""

    @wraps(handler)
    async def wrapper(self: VoiceSocket, frame: Frame) -> None:
        try:
            await handler(self, frame)
        except ServiceError as error:
            await self._send_json(error_reply(error, frame))
        except Exception:
            logger.exception("voice frame %s failed", frame.get("type"))
            await self._send_json(frame_refusal(detail=SOMETHING_WENT_WRONG, frame=frame))

    return wrapper


class VoiceSocket:
    def __init__(self, *, user: Callable[[], User], send_json: SendJson) -> None:
        self._user = user
        self._send_json = send_json
        # chat_id -> call_id of the calls this socket started or answered.
        self.calls: dict[str, str] = {}
        # The turn this socket speaks (recording or being processed), if any.
        self.turn: Turn | None = None
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
        chat_id = frame_string(frame, "chat_id")
        call = await actions.do_start_call(user=self.user, chat_id=chat_id)
        self.calls[chat_id] = call.call_id

    @_replying
    async def on_call_accept(self, frame: Frame) -> None:
        chat_id, call_id = frame_string(frame, "chat_id"), frame_string(frame, "call_id")
        await actions.do_accept_call(user=self.user, chat_id=chat_id, call_id=call_id)
        self.calls[chat_id] = call_id

    @_replying
    async def on_call_decline(self, frame: Frame) -> None:
        chat_id, call_id = frame_string(frame, "chat_id"), frame_string(frame, "call_id")
        await actions.do_decline_call(user=self.user, chat_id=chat_id, call_id=call_id)

    @_replying
    async def on_call_cancel(self, frame: Frame) -> None:
        chat_id, call_id = frame_string(frame, "chat_id"), frame_string(frame, "call_id")
        await actions.do_cancel_call(user=self.user, chat_id=chat_id, call_id=call_id)
        self._call_forget(chat_id, call_id)

    @_replying
    async def on_call_end(self, frame: Frame) -> None:
        chat_id, call_id = frame_string(frame, "chat_id"), frame_string(frame, "call_id")
        self._call_forget(chat_id, call_id)
        await actions.do_leave_call(user=self.user, chat_id=chat_id, call_id=call_id)

    @_replying
    async def on_call_status(self, frame: Frame) -> None:
        chat_id = frame_string(frame, "chat_id")
        call = await actions.do_get_call_status(user=self.user, chat_id=chat_id)
        await self._send_json(call_status_reply(chat_id=chat_id, call=call))

    def _call_forget(self, chat_id: str, call_id: str) -> None:
        if self.calls.get(chat_id) == call_id:
            del self.calls[chat_id]

    # --- Push to talk --------------------------------------------------------------------------

    def _speaking(self) -> Turn | None:
        turn = self.turn
        return turn if turn is not None and not turn.finished else None

    def _recording(self, chat_id: str) -> Turn:
        turn = self._speaking()
        if turn is None or not turn.recording or turn.chat_id != chat_id:
            raise Conflict(NO_RECORDING)
        return turn

    @_replying
    async def on_ptt_start(self, frame: Frame) -> None:
        chat_id = frame_string(frame, "chat_id")
        if self._speaking() is not None:
            raise Conflict("You are already speaking")
        audio_format = frame_audio_format(frame)
        self._audio_refused = False
        self.turn = await actions.do_start_turn(
            user=self.user, chat_id=chat_id, audio_format=audio_format
        )

    @_replying
    async def on_ptt_audio(self, frame: Frame) -> None:
        turn = self._recording(frame_string(frame, "chat_id"))
        await actions.do_add_turn_audio(turn=turn, data=frame_audio(frame))

    @_replying
    async def on_ptt_stop(self, frame: Frame) -> None:
        await actions.do_stop_turn(turn=self._recording(frame_string(frame, "chat_id")))

    @_replying
    async def on_ptt_cancel(self, frame: Frame) -> None:
        chat_id = frame_string(frame, "chat_id")
        turn = self._speaking()
        if turn is None or turn.chat_id != chat_id:
            raise Conflict("You are not speaking")
        await actions.do_cancel_turn(turn=turn)

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
                refusal: ErrorFrame = {"error": NO_RECORDING}
                await self._send_json(refusal)
            return
        try:
            await actions.do_add_turn_audio(turn=turn, data=data)
        except ServiceError as error:
            failure: ErrorFrame = {"error": error.detail, "chat_id": turn.chat_id}
            await self._send_json(failure)

    # --- Channel events and closing --------------------------------------------------------------

    async def on_signal(self, event: dict) -> None:
        turn = self._speaking()
        if (
            event.get("signal") == events.SIGNAL_TURN_ABORTED
            and turn is not None
            and turn.turn_id == event.get("turn_id")
        ):
            actions.do_drop_turn(turn=turn)

    async def disconnect(self) -> None:
        """The socket closed: its turn ends and it leaves its calls. Done in the background,
        so it completes even though the consumer is going away."""
        turn = self._speaking()
        joined = dict(self.calls)
        self.calls.clear()
        if turn is None and not joined:
            return
        background_task_start(
            actions.do_leave_on_disconnect(user=self.user, turn=turn, calls=joined),
            name="voice-socket-closed",
        )

"""The chat socket's protocol, whole: the frames a client sends, the frames the server
sends (the unions `ClientFrame` and `ServerFrame`, gathering those of accounts, chats and
voice), and the close codes.

One socket per browser tab (`/api/ws/chat?ticket=` or `?token=`) carries every chat of its
user. A frame is a JSON object, kept a plain dict at run time: these typed dicts describe
it. `frontend/src/lib/protocol.ts` is generated from them (`python -m
apps.realtime.typescript`), and tests/realtime checks every frame of a real session, and
the REST replies, against them. This module imports nothing but `typing`, `enum` and the
other protocol modules.
"""

from enum import IntEnum
from typing import Literal, NotRequired, TypedDict

from apps.accounts.protocol import PresenceFrame, ProfileUpdatedFrame
from apps.chats.protocol import ChatFrame
from apps.voice.protocol import CallView, VoiceFrame, VoiceRequest


class CloseCode(IntEnum):
    """Why the server closed a chat socket. A client reconnects after any of them but
    POLICY_VIOLATION, which ends the session."""

    # A missing or bad token at the handshake (the contract's code, RFC 6455's policy
    # violation), or later the account disabled, its password reset or all its sessions
    # logged out.
    POLICY_VIOLATION = 1008
    # A socket ticket that is used up or expired: ask for a new one.
    TICKET_INVALID = 4001
    # The handshake's Origin is not one of CORS_ORIGINS.
    ORIGIN_NOT_ALLOWED = 4003
    # The client fell too far behind in reading, or a gap could not be filled: reconnect
    # and `resume`.
    TOO_FAR_BEHIND = 4008
    # More than SOCKETS_PER_USER_MAX sockets for the account (an ErrorFrame with `code`
    # `too_many_sockets` comes first).
    TOO_MANY_SOCKETS = 4029
    # Redis or DynamoDB is down at the handshake: try again later (HTTP's 503).
    TRY_AGAIN_LATER = 4503


# --- Frames a client sends --------------------------------------------------------------------


class SendRequest(TypedDict):
    """Send a message. The contract's frame has no `type`; resending the same
    `client_msg_id` never makes a second message. Answered by `ack` (or an error)."""

    type: NotRequired[Literal["send"]]
    chat_id: str
    text: str
    client_msg_id: NotRequired[str | None]
    # The seq of a message of the same chat this one replies to (quotes).
    reply_to_seq: NotRequired[int | None]


class TypingRequest(TypedDict):
    """The other members see `typing` (at most every 2 s)."""

    type: Literal["typing"]
    chat_id: str


class ReadRequest(TypedDict):
    """Record a read mark; every member sees `read`."""

    type: Literal["read"]
    chat_id: str
    seq: int


class ReactRequest(TypedDict):
    """Toggle one's reaction to message `seq`: the same emoji again takes it away, another
    replaces it; every member sees `reaction_updated`."""

    type: Literal["react"]
    chat_id: str
    seq: int
    emoji: str


class ResumeRequest(TypedDict):
    """Receive every message after the last `seq` seen in each chat, then
    `resume_complete`."""

    type: Literal["resume"]
    chats: dict[str, int]


class EditRequest(TypedDict):
    """Edit one's own text message (by its `seq`; `message_id`, if given, must be the one
    there). Answered by `message_edited` to every member, or an error."""

    type: Literal["edit"]
    chat_id: str
    seq: int
    message_id: NotRequired[str]
    text: str


class DeleteRequest(TypedDict):
    """Delete a message for everyone (one's own; any, for a group's creator). Answered by
    `message_deleted` to every member, or an error."""

    type: Literal["delete"]
    chat_id: str
    seq: int
    message_id: NotRequired[str]


class PingRequest(TypedDict):
    type: Literal["ping"]


class PresenceWatchRequest(TypedDict):
    """Watch the presence of the chat's other members (one chat per socket: it replaces the
    last watch): one `presence` frame each now, then one per change."""

    type: Literal["presence_watch"]
    chat_id: str


class PresenceUnwatchRequest(TypedDict):
    """Stop watching presence."""

    type: Literal["presence_unwatch"]


ClientFrame = (
    SendRequest
    | TypingRequest
    | ReadRequest
    | ReactRequest
    | ResumeRequest
    | PingRequest
    | VoiceRequest
    | PresenceWatchRequest
    | PresenceUnwatchRequest
    | EditRequest
    | DeleteRequest
)

# --- Frames the server sends about the socket itself ---------------------------------------


class PongFrame(TypedDict):
    type: Literal["pong"]


class ResumeCompleteFrame(TypedDict):
    """The last `seq` now delivered, per chat asked for."""

    type: Literal["resume_complete"]
    chats: dict[str, int]


class ErrorFrame(TypedDict):
    """A frame that was refused, whatever it was: the socket stays open. It has no `type`.
    The ids are the refused frame's (only when they are valid ids); `retry_after` (seconds)
    comes with a limit or an outage, `call` with a call refused because another is under
    way. `code` `busy`: a send refused because the server has as many in progress as it
    can finish promptly; nothing was stored, so resend the same `client_msg_id` after
    `retry_after`, backing off."""

    error: str
    code: NotRequired[Literal["too_many_sockets", "busy"]]
    chat_id: NotRequired[str]
    client_msg_id: NotRequired[str]
    call_id: NotRequired[str]
    retry_after: NotRequired[int]
    call: NotRequired[CallView]


ServerFrame = (
    ChatFrame
    | ProfileUpdatedFrame
    | VoiceFrame
    | PongFrame
    | ResumeCompleteFrame
    | ErrorFrame
    | PresenceFrame
)


class ErrorReply(TypedDict):
    """Every REST failure: the text a person can read."""

    detail: str

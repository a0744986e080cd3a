"""The wire shapes of accounts: REST replies and the `profile_updated` frame.

Typed dicts, so a frame or reply stays a plain dict at run time; the front end's types are
generated from these (apps/realtime/typescript.py) and tests/realtime checks real replies
and frames against them. This module imports nothing but `typing`.
"""

from typing import Literal, TypedDict


class Language(TypedDict):
    """An item of `GET /api/languages`: a language signup accepts."""

    code: str
    name: str
    native_name: str


class TokenReply(TypedDict):
    """`POST /api/auth/signup` (201) and `POST /api/auth/login` (200)."""

    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


class Me(TypedDict):
    """`GET`/`PATCH /api/auth/me`, and the `user` of `profile_updated`: never the hash."""

    user_id: str
    username: str
    first_name: str
    last_name: str
    native_language: str
    # Languages besides the native one that the user reads: messages written in these are
    # shown as written, untranslated.
    read_languages: list[str]
    # Whether others see when this user is online and when they were last seen.
    presence_visible: bool
    created_at: str


class SocketTicketReply(TypedDict):
    """`POST /api/ws/ticket` (201): a one-time ticket for `/api/ws/chat?ticket=`."""

    ticket: str
    expires_in: int


class LogoutAllReply(TypedDict):
    """`POST /api/auth/logout_all`."""

    logged_out: bool


class PresenceFrame(TypedDict):
    """To a socket watching a chat (`presence_watch`): one other member's presence, at the
    watch and at each change. `online` is false and `last_seen` null for a member who hides
    their presence; `last_seen` (when their last socket closed) is null while online, when
    unknown, and for a watcher who hides their own."""

    type: Literal["presence"]
    user_id: str
    online: bool
    last_seen: str | None


class ProfileUpdatedFrame(TypedDict):
    """To the user's own sockets: their profile after a change (names, language)."""

    type: Literal["profile_updated"]
    user: Me

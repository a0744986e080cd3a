"""The wire shapes of chats: REST replies and the frames the server sends about chats and
messages (apps/chats/events.py builds them; apps/chats/selectors.py presents a chat, a
member and a message).

Typed dicts, so a frame or reply stays a plain dict at run time; the front end's types are
generated from these (apps/realtime/typescript.py) and tests/realtime checks real replies
and frames against them. This module imports nothing but `typing`.
"""

from typing import Literal, NotRequired, TypedDict

ChatKind = Literal["direct", "group"]
# text: typed; voice_note: a recording sent as a message; voice: a push-to-talk turn of a
# call; call: a call's outcome (missed, declined, cancelled, ended).
MessageKind = Literal["text", "voice_note", "voice", "call"]
CallOutcome = Literal["missed", "declined", "cancelled", "ended"]
# How a reader wants translations into their language to address people in a chat.
Formality = Literal["formal", "informal"]
TranslationSkipped = Literal["nothing_to_translate", "reader_reads_language"]


class MessageMeta(TypedDict, total=False):
    """Details of a message that is not plain text: a call's (`call_id`, `outcome`,
    `duration_seconds` once answered) or a spoken turn's (`call_id`, `turn_id`)."""

    call_id: str
    outcome: CallOutcome
    duration_seconds: int
    turn_id: str


class ReactionSummary(TypedDict):
    """One emoji on a message: how many reacted with it, and who (each person once per
    message)."""

    emoji: str
    count: int
    user_ids: list[str]


class ReplyQuote(TypedDict):
    """The message a reply quotes, as this reader sees it: in their language (the stored
    translation, or the original they read), at most 160 characters (cut with "…"). `deleted`
    (true, else absent) when the quoted message was deleted: `text` is then empty."""

    seq: int
    message_id: str
    from_user_id: str
    text: str
    language: str
    deleted: NotRequired[bool]


class Message(TypedDict):
    """A message as one reader sees it: the contract's five keys, plus additions."""

    message_id: str
    text: str
    from_user_id: str
    language: str
    timestamp: str
    seq: int
    kind: MessageKind
    original_text: str
    original_language: str
    # False: the reader's translation is still owed; `text` is the original meanwhile.
    translated: bool
    client_msg_id: str | None
    meta: NotRequired[MessageMeta]
    # Present when the message was delivered as written on purpose, not as a failure:
    # "nothing_to_translate" (only emoji, links, numbers, mentions or code), or
    # "reader_reads_language" (written in a language the reader listed among those they also
    # read). `translated` is then true.
    translation_skipped: NotRequired[TranslationSkipped]
    # The reactions, most used first; absent while there are none.
    reactions: NotRequired[list[ReactionSummary]]
    # Raised by every reaction change: a `reaction_updated` frame with a version no higher
    # than this is older news. Absent until the first reaction.
    reactions_version: NotRequired[int]
    # The message this one replies to (apps/chats/replies.py). Absent on a message that
    # quotes none, and on `message_updated` (the quote did not change; keep the one shown).
    reply_to: NotRequired[ReplyQuote]
    # When its sender last edited its text (apps/chats/message_changes.py); absent if never.
    edited_at: NotRequired[str]
    # A message deleted for everyone: a tombstone, `text` and `original_text` "", no `meta`.
    deleted: NotRequired[Literal[True]]


class ChatSummary(TypedDict):
    """A chat as one member's inbox shows it (`GET /api/chats` items, `chat_created`)."""

    chat_id: str
    # A group's title here: old clients show this as the chat's name.
    other_username: str | None
    # None for a group.
    other_user_id: str | None
    last_message_preview: str | None
    updated_at: str
    kind: ChatKind
    title: str | None
    unread_count: int
    last_seq: int
    last_read_seq: int
    # This member muted the chat (every device of theirs): no Web Push for its messages.
    muted: bool


class ChatCreateReply(ChatSummary):
    """`POST /api/chats` (201 whether new or existing)."""

    created: bool


class Member(TypedDict):
    user_id: str
    username: str
    first_name: str
    last_name: str
    native_language: str
    last_read_seq: int


class ChatDetail(ChatSummary):
    """`GET /api/chats/{id}`."""

    members: list[Member]
    # Who made the chat: a group's creator may delete anyone's message in it.
    created_by: NotRequired[str]


class HistoryPage(TypedDict):
    """`GET /api/chats/{id}/messages`: newest first."""

    messages: list[Message]
    next_cursor: str | None


class MessageCreateReply(TypedDict):
    """`POST /api/chats/{id}/messages` and `POST /api/chats/{id}/voice_notes` (201, or 200
    for a resend of a known `client_msg_id`)."""

    chat_id: str
    message: Message
    duplicate: bool


class MemberAddReply(TypedDict):
    """`POST /api/chats/{id}/members` (201)."""

    chat_id: str
    user_id: str


class LeaveReply(TypedDict):
    """`DELETE /api/chats/{id}/members/me`."""

    chat_id: str
    left: Literal[True]


class MessageEditReply(TypedDict):
    """`PATCH /api/chats/{id}/messages/{seq}`: the edited message, in the editor's view."""

    chat_id: str
    message: Message


class MessageDeleteReply(TypedDict):
    """`DELETE /api/chats/{id}/messages/{seq}`: the message is a tombstone now."""

    chat_id: str
    message_id: str
    seq: int
    deleted: Literal[True]


# `POST /api/chats/{id}/read` answers the chat's ChatSummary.


class GlossaryEntry(TypedDict):
    """A glossary term and its fixed rendering in every language; null keeps it as written
    (a name, a brand, an in-joke)."""

    term: str
    rendering: str | None


class Glossary(TypedDict):
    """`GET`/`PUT /api/chats/{id}/glossary`: the chat's glossary. `version` is 0 while it has
    never been edited; a `PUT` sends back the version it was made from."""

    chat_id: str
    version: int
    entries: list[GlossaryEntry]


class ChatPreferences(TypedDict):
    """`GET`/`PUT /api/chats/{id}/preferences`: the caller's own choices for this chat."""

    chat_id: str
    # null: no preference (the translation follows the conversation).
    formality: Formality | None


class ChatMuteReply(TypedDict):
    """`PUT /api/chats/{id}/mute`: the caller's mute of this chat, as now stored."""

    chat_id: str
    muted: bool


class ReactionReply(TypedDict):
    """`PUT /api/chats/{id}/messages/{seq}/reaction`: the message's reactions after the
    toggle; `emoji` is the caller's own now (null: the toggle took it away)."""

    chat_id: str
    seq: int
    message_id: str
    emoji: str | None
    reactions: list[ReactionSummary]


class AccountDeletedReply(TypedDict):
    """`POST /api/auth/me/delete`: the account and the person's data are gone (what
    `delete_user` deletes); every token and socket of theirs stopped working."""

    deleted: bool


class PushConfig(TypedDict):
    """`GET /api/push`: whether this server sends Web Push, and the key a browser subscribes
    with (`PushManager.subscribe({applicationServerKey})`); null while it is off."""

    enabled: bool
    public_key: str | None


class PushSubscriptionReply(TypedDict):
    """`POST /api/push/subscriptions` (201) and `DELETE /api/push/subscriptions` (200)."""

    subscribed: bool


class PushPayload(TypedDict):
    """What a push carries (encrypted for the browser), for someone away: a new message in
    their language (`message`), or a call ringing for them (`call`). The service worker shows
    it as a notification."""

    type: Literal["message", "call"]
    chat_id: str
    title: str
    body: str
    url: str
    tag: str
    seq: NotRequired[int]
    message_id: NotRequired[str]
    language: NotRequired[str]
    call_id: NotRequired[str]


# --- Frames the server sends ----------------------------------------------------------------


class MessageFrame(TypedDict):
    """To every member, in the reader's language: a message was stored."""

    type: Literal["message"]
    chat_id: str
    message: Message


class MessageStartedFrame(TypedDict):
    """To the other members: a message is being translated (for longer than 80 ms)."""

    type: Literal["message_started"]
    chat_id: str
    message_id: str
    from_user_id: str
    original_text: str
    original_language: str
    timestamp: str


class MessageWithdrawnFrame(TypedDict):
    """To the other members: a message announced by `message_started` will not come."""

    type: Literal["message_withdrawn"]
    chat_id: str
    message_id: str


class TranslationPartialFrame(TypedDict):
    """To the members reading `language`: the translation so far (it only grows)."""

    type: Literal["translation_partial"]
    chat_id: str
    message_id: str
    language: str
    text: str


class MessageUpdatedFrame(TypedDict):
    """To the members reading one language: a translation that was owed has arrived."""

    type: Literal["message_updated"]
    chat_id: str
    message: Message


class TypingFrame(TypedDict):
    """To the other members: `user_id` is typing."""

    type: Literal["typing"]
    chat_id: str
    user_id: str


class ReadFrame(TypedDict):
    """To every member: `user_id` has read up to `seq`."""

    type: Literal["read"]
    chat_id: str
    user_id: str
    seq: int


class ChatCreatedFrame(TypedDict):
    """To every member of a new chat, and to a member added to a group."""

    type: Literal["chat_created"]
    chat: ChatSummary


class MemberAddedFrame(TypedDict):
    """To the existing members: a group gained a member."""

    type: Literal["member_added"]
    chat_id: str
    user_id: str
    username: str


class MemberLeftFrame(TypedDict):
    """To the remaining members: a member left a group."""

    type: Literal["member_left"]
    chat_id: str
    user_id: str


class AckFrame(TypedDict):
    """To the sending socket: its message was stored (or was already, `duplicate`)."""

    type: Literal["ack"]
    chat_id: str
    client_msg_id: str | None
    message_id: str
    seq: int
    timestamp: str
    duplicate: bool


class GlossaryUpdatedFrame(TypedDict):
    """To every member: the chat's glossary after an edit by `user_id`."""

    type: Literal["glossary_updated"]
    chat_id: str
    user_id: str
    glossary: Glossary


class ReactionUpdatedFrame(TypedDict):
    """To every member: the reactions to message `seq` after `user_id` toggled one (the
    whole summary, which replaces what the client held)."""

    type: Literal["reaction_updated"]
    chat_id: str
    seq: int
    message_id: str
    user_id: str
    reactions: list[ReactionSummary]
    # The message's `reactions_version` after this change: frames from two instances can
    # arrive in either order, and the higher version is the later state.
    reactions_version: int


class MessageEditedFrame(TypedDict):
    """To every member, in the reader's language: a message's text was edited (re-translated;
    a language whose translation failed follows as `message_updated`)."""

    type: Literal["message_edited"]
    chat_id: str
    message: Message


class MessageDeletedFrame(TypedDict):
    """To every member: a message was deleted for everyone (it is a tombstone now)."""

    type: Literal["message_deleted"]
    chat_id: str
    message_id: str
    seq: int


class ChatMutedFrame(TypedDict):
    """To the member's own sockets (every device): they muted or unmuted the chat."""

    type: Literal["chat_muted"]
    chat_id: str
    muted: bool


# --- Search (GET /api/search; apps/chats/search.py) ----------------------------------------


class SnippetPart(TypedDict):
    """A piece of a result's snippet; `match` marks a word the query found."""

    text: str
    match: bool


class SearchResult(TypedDict):
    """One message found, as its reader sees it."""

    chat_id: str
    # The chat's name as the reader's inbox shows it (the other person, or the group's title).
    chat_name: str | None
    kind: ChatKind
    seq: int
    sender_name: str | None
    message: Message
    # Around the first match, in the reader's language; from the original when only the
    # original holds the words (`snippet_is_original`).
    snippet: list[SnippetPart]
    snippet_is_original: bool


class SearchPage(TypedDict):
    """`GET /api/search?q=&cursor=&limit=`: newest first; `next_cursor` for more."""

    results: list[SearchResult]
    next_cursor: str | None


ChatFrame = (
    MessageFrame
    | MessageStartedFrame
    | MessageWithdrawnFrame
    | TranslationPartialFrame
    | MessageUpdatedFrame
    | TypingFrame
    | ReadFrame
    | ChatCreatedFrame
    | MemberAddedFrame
    | MemberLeftFrame
    | AckFrame
    | GlossaryUpdatedFrame
    | ReactionUpdatedFrame
    | MessageEditedFrame
    | MessageDeletedFrame
    | ChatMutedFrame
)

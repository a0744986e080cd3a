"""Every broadcast the chat app makes, in one place, each with its own event type.

Events go to a per-user group (`user.<user_id>`) that every socket of that user joins, so
one socket carries all of a user's chats. A frame is rendered per member, in the member's
language. Except for the in-progress events of a message being translated, every broadcast
follows a successful write.

| type                  | to                          | when |
|-----------------------|-----------------------------|------|
| `message`             | every member                | a message was stored (the contract's frame), in the reader's language |
| `message_started`     | the other members           | a message is being translated (for longer than 80 ms): its original text, before it is stored |
| `message_withdrawn`   | the other members           | a message announced by `message_started` will not be stored (the send failed, or repeated a stored one) |
| `translation_partial` | members reading a language  | the translation so far, while it streams in |
| `message_updated`     | members reading a language  | a translation that was owed has been stored |
| `typing`              | the other members           | a member is typing |
| `read`                | every member                | a member has read up to a sequence number |
| `chat_created`        | every member                | a chat was created, or a member was added (to the newcomer) |
| `member_added`        | the existing members        | a group gained a member |
| `member_left`         | the remaining members       | a member left a group |
| `profile_updated`     | the user's own sockets      | the user changed their profile (names, language) |

One event is for the sockets themselves, never a frame: `session.revoked` (to the user's own
sockets, after the account was disabled, its password reset or all its sessions logged out)
carries the account's new token version; a socket that authenticated with an older one
closes with 1008.
"""

from __future__ import annotations

from channels.layers import get_channel_layer

from apps.chats.models import Message
from apps.chats.selectors import message_view

FRAME_HANDLER = "chat.frame"
SESSION_REVOKED_HANDLER = "session.revoked"


def user_group(user_id: str) -> str:
    return f"user.{user_id}"


async def _deliver(user_ids, frame: dict) -> None:
    layer = get_channel_layer()
    for user_id in user_ids:
        await layer.group_send(user_group(user_id), {"type": FRAME_HANDLER, "frame": frame})


async def message_broadcast(*, message: Message, member_languages: dict[str, str]) -> None:
    for member_id, language in member_languages.items():
        await _deliver(
            [member_id],
            {
                "type": "message",
                "chat_id": message.chat_id,
                "message": message_view(message=message, language=language),
            },
        )


async def message_started_broadcast(
    *,
    chat_id: str,
    message_id: str,
    from_user_id: str,
    original_text: str,
    original_language: str,
    timestamp: str,
    member_ids,
) -> None:
    await _deliver(
        member_ids,
        {
            "type": "message_started",
            "chat_id": chat_id,
            "message_id": message_id,
            "from_user_id": from_user_id,
            "original_text": original_text,
            "original_language": original_language,
            "timestamp": timestamp,
        },
    )


async def message_withdrawn_broadcast(*, chat_id: str, message_id: str, member_ids) -> None:
    await _deliver(
        member_ids, {"type": "message_withdrawn", "chat_id": chat_id, "message_id": message_id}
    )


async def translation_partial_broadcast(
    *, chat_id: str, message_id: str, language: str, text: str, member_ids
) -> None:
    await _deliver(
        member_ids,
        {
            "type": "translation_partial",
            "chat_id": chat_id,
            "message_id": message_id,
            "language": language,
            "text": text,
        },
    )


async def message_updated_broadcast(
    *, message: Message, member_languages: dict[str, str], languages: set[str]
) -> None:
    for member_id, language in member_languages.items():
        if language in languages:
            await _deliver(
                [member_id],
                {
                    "type": "message_updated",
                    "chat_id": message.chat_id,
                    "message": message_view(message=message, language=language),
                },
            )


async def typing_broadcast(*, chat_id: str, user_id: str, member_ids) -> None:
    others = [member for member in member_ids if member != user_id]
    await _deliver(others, {"type": "typing", "chat_id": chat_id, "user_id": user_id})


async def read_broadcast(*, chat_id: str, user_id: str, seq: int, member_ids) -> None:
    await _deliver(member_ids, {"type": "read", "chat_id": chat_id, "user_id": user_id, "seq": seq})


async def chat_created_broadcast(*, chat_summaries: dict[str, dict]) -> None:
    """`chat_summaries` maps each member to the chat as that member sees it."""
    for member_id, summary in chat_summaries.items():
        await _deliver([member_id], {"type": "chat_created", "chat": summary})


async def member_added_broadcast(*, chat_id: str, user_id: str, username: str, member_ids) -> None:
    others = [member for member in member_ids if member != user_id]
    await _deliver(
        others, {"type": "member_added", "chat_id": chat_id, "user_id": user_id, "username": username}
    )


async def member_left_broadcast(*, chat_id: str, user_id: str, member_ids) -> None:
    await _deliver(member_ids, {"type": "member_left", "chat_id": chat_id, "user_id": user_id})


async def profile_updated_broadcast(*, user_id: str, profile: dict) -> None:
    await _deliver([user_id], {"type": "profile_updated", "user": profile})


async def session_revoked_broadcast(*, user_id: str, token_version: int) -> None:
    await get_channel_layer().group_send(
        user_group(user_id), {"type": SESSION_REVOKED_HANDLER, "token_version": token_version}
    )

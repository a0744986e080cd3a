"""Reads of chats."""

from apps.chats.models import ChatMembership


def chat_membership_exists(*, user_id: str, chat_id: str) -> bool:
    try:
        ChatMembership.get(user_id, chat_id, consistent_read=True)
    except ChatMembership.DoesNotExist:
        return False
    return True

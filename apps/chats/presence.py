"""Whose presence a member may watch in a chat: the chat's other members, each with their
switch (apps/accounts/presence.py holds the state itself)."""

from __future__ import annotations

from apps.accounts.models import User
from apps.accounts.selectors import user_presence_visible
from apps.chats.selectors import chat_get_for_member

# A watch follows at most this many other members (the first by user id): a group's details
# panel shows no more at once, and it bounds a watch's Redis script and subscriptions.
PRESENCE_WATCH_MAX_MEMBERS = 50


def presence_watch_members(*, user: User, chat_id: str) -> dict[str, bool]:
    """The other members of `chat_id` (404 unless `user` is one): user id -> whether they show
    their presence. One GetItem (the chat) and one BatchGetItem (their accounts); a member
    whose account is gone is left out."""
    chat = chat_get_for_member(chat_id=chat_id, user_id=user.user_id)
    others = sorted(set(chat.member_ids) - {user.user_id})[:PRESENCE_WATCH_MAX_MEMBERS]
    if not others:
        return {}
    accounts = User.batch_get([User.key_for(member_id) for member_id in others])
    return {account.user_id: user_presence_visible(user=account) for account in accounts}

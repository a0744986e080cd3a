"""Every broadcast the accounts app makes, to the user's own sockets (apps/core/delivery.py).

| event              | when | carries |
|--------------------|------|---------|
| `profile_updated`  | the user's profile changed (names, language) | the frame `{"type": "profile_updated", "user": <profile>}` |
| `session.revoked`  | the account was disabled, its password reset or all its sessions logged out | the account's new `token_version`: a socket that authenticated with an older one closes with 1008 (never a frame); `account_deleted: true` when the account is being deleted (the socket's close then forgets the user's presence instead of recording them last seen) |
"""

from __future__ import annotations

from apps.accounts.protocol import Me, ProfileUpdatedFrame
from apps.core.delivery import frames_deliver, user_event_send

SESSION_REVOKED_HANDLER = "session.revoked"


async def profile_updated_broadcast(*, user_id: str, profile: Me) -> None:
    await frames_deliver([user_id], ProfileUpdatedFrame(type="profile_updated", user=profile))


async def session_revoked_broadcast(
    *, user_id: str, token_version: int, account_deleted: bool = False
) -> None:
    event: dict[str, object] = {"type": SESSION_REVOKED_HANDLER, "token_version": token_version}
    if account_deleted:
        event["account_deleted"] = True
    await user_event_send(user_id=user_id, event=event)

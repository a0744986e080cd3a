"""A user's Web Push subscriptions: the browsers that asked to be told of new messages and
calls while Commonality is closed (apps/core/web_push.py sends; apps/chats/push_notifications.py
decides when).

| table   | item              | pk                  | access pattern |
|---------|-------------------|---------------------|----------------|
| `users` | PushSubscriptions | `PUSH#<user_id>`    | GetItem when a push is due for the user; replaced whole by PutItem on condition that `version` is the one read (or that the item is new) when a browser subscribes or unsubscribes, or a push service says a subscription is gone; deleted with the account |

One item per user, holding every subscription (at most `WEB_PUSH_SUBSCRIPTIONS_MAX`, the
oldest dropped beyond it), so a push costs one read whatever the number of browsers. Kept
apart from the User item, which every request reads, so the subscriptions' keys never weigh on
those reads.

Each process keeps what it read of a user's subscriptions and mutes for a minute
(apps/chats/push_notifications.py). A change made through any instance (a subscription, a
mute, log out everywhere, the account deleted) therefore also puts a new random stamp in Redis
(`push-changed:<user_id>`, kept PUSH_CHANGE_STAMP_SECONDS); a process compares it with the one
it read alongside its copies before each push, so no instance pushes by what it read before
the change.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.models import Model

from apps.core.dynamo import dynamo_table
from apps.core.errors import Conflict
from apps.core.keyvalue import keyvalue_store
from apps.core.web_push import PushTarget

logger = logging.getLogger(__name__)

PUSH_KEY_PREFIX = "PUSH#"
# Longer than any process keeps its copies (a minute), so a copy read before a change never
# outlives the stamp that marks it stale.
PUSH_CHANGE_STAMP_SECONDS = 180
# Concurrent changes to one user's subscriptions are rare (two browsers subscribing at the
# same moment); each is retried from a fresh read this many times.
CHANGE_ATTEMPTS = 4


@dynamo_table("users", owns_schema=False)
class PushSubscriptions(Model):
    class Meta:
        table_name = "users"

    pk = UnicodeAttribute(hash_key=True)
    # subscription id (a hash of its endpoint) -> {endpoint, p256dh, auth, created_at}
    subscriptions: MapAttribute[str, Any] = MapAttribute(default=dict)
    version = NumberAttribute(default=0)


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return dict(value.as_dict()) if hasattr(value, "as_dict") else dict(value)


def _key(user_id: str) -> str:
    return f"{PUSH_KEY_PREFIX}{user_id}"


def push_subscription_id(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()[:24]


def _read(user_id: str) -> PushSubscriptions | None:
    try:
        return PushSubscriptions.get(_key(user_id), consistent_read=True)
    except DoesNotExist:
        return None


def _subscriptions_change(*, user_id: str, change: Any) -> None:
    """Apply `change` (dict of subscriptions -> None, in place) to the stored item, on
    condition nobody changed it since it was read; retried from a fresh read."""
    for _ in range(CHANGE_ATTEMPTS):
        item = _read(user_id)
        version = int(item.version) if item is not None else 0
        subscriptions = _as_dict(item.subscriptions) if item is not None else {}
        before = dict(subscriptions)
        change(subscriptions)
        if subscriptions == before:
            return
        replacement = PushSubscriptions(
            _key(user_id), subscriptions=subscriptions, version=version + 1
        )
        condition = (
            PushSubscriptions.version == version
            if item is not None
            else PushSubscriptions.pk.does_not_exist()
        )
        try:
            replacement.save(condition=condition)
            return
        except PutError as error:
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
    raise Conflict("the push subscriptions changed meanwhile; try again")


def push_subscription_add(*, user_id: str, endpoint: str, p256dh: str, auth: str) -> str:
    """Store (or refresh) one browser's subscription; the oldest go beyond the cap."""
    subscription_id = push_subscription_id(endpoint)
    entry = {
        "endpoint": endpoint,
        "p256dh": p256dh,
        "auth": auth,
        "created_at": datetime.now(UTC).isoformat(),
    }

    def add(subscriptions: dict[str, Any]) -> None:
        subscriptions.pop(subscription_id, None)
        subscriptions[subscription_id] = entry
        while len(subscriptions) > settings.WEB_PUSH_SUBSCRIPTIONS_MAX:
            oldest = min(subscriptions, key=lambda key: subscriptions[key]["created_at"])
            del subscriptions[oldest]

    _subscriptions_change(user_id=user_id, change=add)
    return subscription_id


def push_subscription_remove(*, user_id: str, endpoint: str) -> None:
    subscription_id = push_subscription_id(endpoint)
    _subscriptions_change(
        user_id=user_id, change=lambda subscriptions: subscriptions.pop(subscription_id, None)
    )


def push_subscriptions_delete(*, user_id: str) -> None:
    """Every subscription of the user (their account is being deleted)."""
    PushSubscriptions(_key(user_id)).delete()


def push_targets_of(*, user_id: str) -> list[PushTarget]:
    try:
        item = PushSubscriptions.get(_key(user_id))
    except DoesNotExist:
        return []
    return [
        PushTarget(endpoint=entry["endpoint"], p256dh=entry["p256dh"], auth=entry["auth"])
        for entry in _as_dict(item.subscriptions).values()
    ]


def _change_stamp_key(user_id: str) -> str:
    return f"push-changed:{user_id}"


async def push_settings_changed(*, user_id: str) -> None:
    """What decides this user's pushes changed, and is stored: every process's copies of it
    are stale from now on. Without Redis the change still stands; other instances then follow
    it within the minute their copies last."""
    try:
        await keyvalue_store().put(
            _change_stamp_key(user_id), uuid.uuid4().hex, ttl_seconds=PUSH_CHANGE_STAMP_SECONDS
        )
    except Exception as error:
        logger.warning(
            "marking user %s's push settings changed failed (%s)", user_id, type(error).__name__
        )


async def push_settings_stamp(*, user_id: str) -> str | None:
    """The stamp of the user's last change to what decides their pushes (None: none for
    PUSH_CHANGE_STAMP_SECONDS). Raises what Redis raises."""
    return await keyvalue_store().get(_change_stamp_key(user_id))

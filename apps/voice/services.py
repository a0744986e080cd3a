"""Writes for voice: LiveKit call tokens, call and turn state (Redis, compare-and-set), and the
drafts of the messages a call or a spoken turn leaves in the chat history (stored by
apps.chats.actions.do_store_message, so they get a sequence number like any message). Pure writes: who is told, and when, is
decided in apps.voice.actions, which calls these.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from livekit.api import AccessToken, VideoGrants

from apps.accounts.models import User
from apps.accounts.selectors import user_display_name
from apps.chats import services as chat_services
from apps.chats.models import MessageKind
from apps.chats.selectors import chat_get, map_as_dict
from apps.core.errors import Conflict
from apps.core.keyvalue import keyvalue_store
from apps.voice.errors import CALL_GONE, CallGone
from apps.voice.phrases import call_phrase
from apps.voice.protocol import VoiceTokenReply
from apps.voice.selectors import call_get, call_key, turn_key
from apps.voice.types import CALL_RINGING, Call, TurnLock, call_room_name

logger = logging.getLogger(__name__)

# The client contract: call access tokens last one hour.
CALL_TOKEN_TTL = timedelta(hours=1)
# LiveKit track sources a participant may publish: audio only, no camera, no screen share.
CALL_PUBLISH_SOURCES = ["microphone"]
# A ringing call's state outlives the ring timeout a little, so the timer always finds it;
# if the instance running the timer dies, the state still goes away on its own.
RING_STATE_GRACE_SECONDS = 5.0
# How often a state change is retried when another instance changed the state meanwhile.
STATE_CHANGE_ATTEMPTS = 8


# --- Call tokens -----------------------------------------------------------------------------


def call_token_issue(*, user: User, chat_id: str) -> VoiceTokenReply:
    """A LiveKit access token for the chat's room (the caller has checked that the user is a
    member and that LiveKit is configured). Audio only: the microphone is the one source it
    may publish."""
    room_name = call_room_name(chat_id=chat_id)
    token = (
        AccessToken(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET)
        .with_identity(user.user_id)
        .with_name(user_display_name(user=user))
        .with_metadata(json.dumps({"language": user.native_language, "username": user.username}))
        .with_ttl(CALL_TOKEN_TTL)
        .with_grants(
            VideoGrants(
                room_join=True,
                room=room_name,
                can_subscribe=True,
                can_publish=True,
                can_publish_sources=list(CALL_PUBLISH_SOURCES),
                can_publish_data=True,
            )
        )
        .to_jwt()
    )
    return VoiceTokenReply(token=token, room_name=room_name, url=settings.LIVEKIT_URL)


# --- Call state ------------------------------------------------------------------------------


def _state_ttl(call: Call) -> float:
    if call.state == CALL_RINGING:
        return settings.VOICE_RING_TIMEOUT_SECONDS + RING_STATE_GRACE_SECONDS
    return float(settings.VOICE_CALL_MAX_SECONDS)


def call_new(*, caller: User, chat_id: str, member_languages: dict[str, str]) -> Call:
    call = Call(
        call_id=uuid.uuid4().hex,
        chat_id=chat_id,
        caller_id=caller.user_id,
        state=CALL_RINGING,
        member_languages=dict(member_languages),
        participants=(caller.user_id,),
        started_at=datetime.now(UTC).isoformat(),
    )
    return Call.decode(call.encode())


async def call_state_create(*, call: Call) -> bool:
    """Store a new call unless the chat has one already (one call per chat at a time)."""
    return await keyvalue_store().put_if_absent(
        call_key(chat_id=call.chat_id), call.raw or call.encode(), ttl_seconds=_state_ttl(call)
    )


async def call_state_change(
    *, chat_id: str, call_id: str, change: Callable[[Call], Call | None]
) -> tuple[Call, Call | None]:
    """Apply `change` to the chat's call atomically: it gets the current state and returns the
    next one, or None to end the call (and may raise a ServiceError to refuse). Another
    instance changing the state meanwhile makes this read it again and retry.

    Returns (before, after)."""
    store = keyvalue_store()
    key = call_key(chat_id=chat_id)
    for _ in range(STATE_CHANGE_ATTEMPTS):
        current = await call_get(chat_id=chat_id)
        if current is None or current.call_id != call_id:
            raise CallGone(CALL_GONE)
        after = change(current)
        if after is None:
            if await store.delete_if_value(key, current.raw):
                return current, None
            continue
        raw = after.encode()
        if await store.replace_if_value(key, current.raw, raw, ttl_seconds=_state_ttl(after)):
            return current, Call.decode(raw)
    raise Conflict("The call changed meanwhile; try again")


# --- Turn state ------------------------------------------------------------------------------


async def turn_lock_acquire(*, lock: TurnLock) -> bool:
    """Take the chat's turn (one speaker at a time). The lock expires a moment after the
    turn's safety timeout, so a turn whose instance died frees the chat by itself."""
    return await keyvalue_store().put_if_absent(
        turn_key(chat_id=lock.chat_id),
        lock.raw,
        ttl_seconds=settings.VOICE_TURN_TIMEOUT_SECONDS + 1.0,
    )


async def turn_lock_release(*, lock: TurnLock) -> bool:
    """Free the chat's turn if this turn still holds it. Exactly one caller gets True: the
    one that ends the turn (complete, failed, timed out or aborted) and says so."""
    return await keyvalue_store().delete_if_value(turn_key(chat_id=lock.chat_id), lock.raw)


# --- Messages --------------------------------------------------------------------------------


def voice_message_draft(
    *,
    chat_id: str,
    from_user_id: str,
    kind: MessageKind,
    original_text: str,
    original_language: str,
    translations: dict[str, str],
    pending_languages: frozenset[str] = frozenset(),
    meta: dict | None = None,
) -> chat_services.MessageDraft:
    """A message that was not typed (a call's outcome, a spoken turn), ready for
    apps.chats.actions.do_store_message."""
    return chat_services.MessageDraft(
        chat_id=chat_id,
        message_id=uuid.uuid4().hex,
        from_user_id=from_user_id,
        original_text=original_text,
        original_language=original_language,
        translations={
            lang: text for lang, text in translations.items() if lang != original_language
        },
        pending_languages=pending_languages,
        client_msg_id=None,
        created_at=datetime.now(UTC),
        kind=kind,
        meta=meta,
    )


def call_message_draft(
    *, call: Call, outcome: str, duration_seconds: int | None = None
) -> chat_services.MessageDraft:
    """The call's outcome for the history, from the caller, in every member's language (as
    the chat has them now, read here)."""
    chat = chat_get(chat_id=call.chat_id)
    languages = map_as_dict(chat.member_languages) if chat else dict(call.member_languages)
    caller_language = languages.get(call.caller_id) or call.member_languages.get(
        call.caller_id, "en"
    )
    meta: dict = {"call_id": call.call_id, "outcome": outcome}
    if duration_seconds is not None:
        meta["duration_seconds"] = int(duration_seconds)
    return voice_message_draft(
        chat_id=call.chat_id,
        from_user_id=call.caller_id,
        kind=MessageKind.CALL,
        original_text=call_phrase(
            outcome=outcome, language=caller_language, duration_seconds=duration_seconds
        ),
        original_language=caller_language,
        translations={
            language: call_phrase(
                outcome=outcome, language=language, duration_seconds=duration_seconds
            )
            for language in set(languages.values())
        },
        meta=meta,
    )

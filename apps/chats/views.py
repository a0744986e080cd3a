from datetime import UTC, datetime

from django.http import HttpRequest, JsonResponse

from apps.accounts.http import authenticated
from apps.accounts.models import User
from apps.accounts.selectors import user_read_languages
from apps.chats import actions, reactions, replies, selectors
from apps.chats.cursors import message_cursor_decode
from apps.chats.presenters import (
    chat_members_view,
    chat_preferences_view,
    chat_summary,
    glossary_view,
    message_view,
)
from apps.chats.protocol import (
    AccountDeletedReply,
    ChatCreateReply,
    ChatDetail,
    ChatMuteReply,
    HistoryPage,
    LeaveReply,
    MemberAddReply,
    MessageCreateReply,
    MessageDeleteReply,
    MessageEditReply,
    PushConfig,
    PushSubscriptionReply,
    ReactionReply,
)
from apps.core.concurrency import run_blocking
from apps.core.errors import InvalidInput
from apps.core.http import (
    client_address,
    endpoint,
    json_body,
    json_response,
    string_field,
    string_list_field,
)
from apps.core.web_push import vapid_public_key, web_push_enabled


def _limit(request: HttpRequest) -> int:
    raw = request.GET.get("limit")
    if raw in (None, ""):
        return selectors.HISTORY_DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= selectors.HISTORY_MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {selectors.HISTORY_MAX_LIMIT}")
    return limit


@authenticated
async def _chat_create(request: HttpRequest, *, user: User) -> JsonResponse:
    body = json_body(request)
    if "usernames" in body or "title" in body:
        usernames = string_list_field(body, "usernames", what="usernames")
        created = await actions.do_create_group_chat(
            user=user, title=string_field(body, "title"), usernames=usernames
        )
    else:
        created = await actions.do_create_direct_chat(
            user=user, other_username=string_field(body, "username")
        )
    reply: ChatCreateReply = {
        **chat_summary(membership=created.membership),
        "created": created.created,
    }
    # The contract answers 201 whether the chat is new or already existed.
    return json_response(reply, status=201)


@authenticated
async def _chat_list(request: HttpRequest, *, user: User) -> JsonResponse:
    rows = await run_blocking(selectors.chat_inbox)(user_id=user.user_id)
    return json_response([chat_summary(membership=row) for row in rows])


@authenticated
async def _chat_detail(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    chat = await run_blocking(selectors.chat_get_for_member)(chat_id=chat_id, user_id=user.user_id)
    row = await run_blocking(selectors.chat_membership_get)(user_id=user.user_id, chat_id=chat_id)
    records = await run_blocking(selectors.chat_member_records)(chat=chat)
    detail: ChatDetail = {
        **chat_summary(membership=row),
        "members": chat_members_view(members=records),
        "created_by": chat.created_by,
    }
    return json_response(detail)


@authenticated
async def _history(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    limit = _limit(request)
    cursor = request.GET.get("cursor") or None
    before_seq = message_cursor_decode(cursor) if cursor else None
    page = await actions.do_read_history(
        user=user, chat_id=chat_id, limit=limit, before_seq=before_seq
    )
    language = user.native_language
    reads = user_read_languages(user=user)
    quotes = await replies.page_quotes(chat_id=chat_id, messages=page.messages)
    return json_response(
        HistoryPage(
            messages=[
                message_view(
                    message=m,
                    language=language,
                    reader_id=user.user_id,
                    read_languages=reads,
                    quotes=quotes,
                )
                for m in page.messages
            ],
            next_cursor=page.next_cursor,
        )
    )


@authenticated
async def _message_create(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    body = json_body(request)
    outcome = await actions.do_send_message(
        user=user,
        chat_id=chat_id,
        text=string_field(body, "text"),
        client_msg_id=string_field(body, "client_msg_id", required=False),
        reply_to_seq=body.get("reply_to_seq"),
    )
    return json_response(
        MessageCreateReply(chat_id=chat_id, message=outcome.message, duplicate=outcome.duplicate),
        status=200 if outcome.duplicate else 201,
    )


@authenticated
async def _message_edit(
    request: HttpRequest, *, user: User, chat_id: str, seq: int
) -> JsonResponse:
    body = json_body(request)
    edited = await actions.do_edit_message(
        user=user,
        chat_id=chat_id,
        seq=seq,
        text=string_field(body, "text"),
        message_id=string_field(body, "message_id", required=False),
    )
    return json_response(MessageEditReply(chat_id=chat_id, message=edited))


@authenticated
async def _message_delete(
    request: HttpRequest, *, user: User, chat_id: str, seq: int
) -> JsonResponse:
    tombstone = await actions.do_delete_message(
        user=user,
        chat_id=chat_id,
        seq=seq,
        message_id=request.GET.get("message_id") or None,
    )
    return json_response(
        MessageDeleteReply(
            chat_id=chat_id, message_id=tombstone.message_id, seq=int(tombstone.seq), deleted=True
        )
    )


@authenticated
async def _member_add(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    body = json_body(request)
    newcomer = await actions.do_add_member(
        user=user, chat_id=chat_id, username=string_field(body, "username")
    )
    return json_response(MemberAddReply(chat_id=chat_id, user_id=newcomer.user_id), status=201)


@authenticated
async def _leave(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    await actions.do_leave_chat(user=user, chat_id=chat_id)
    return json_response(LeaveReply(chat_id=chat_id, left=True))


@authenticated
async def _read(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    body = json_body(request)
    seq = body.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise InvalidInput("seq must be an integer")
    membership = await actions.do_mark_read(user=user, chat_id=chat_id, seq=seq)
    return json_response(chat_summary(membership=membership))


@authenticated
async def _glossary(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    await run_blocking(selectors.chat_get_for_member)(chat_id=chat_id, user_id=user.user_id)
    stored = await run_blocking(selectors.glossary_get)(chat_id=chat_id)
    return json_response(glossary_view(glossary=stored))


@authenticated
async def _glossary_update(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    body = json_body(request)
    unknown = sorted(set(body) - {"version", "entries"})
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(unknown)}; send version and entries")
    updated = await actions.do_glossary_update(
        user=user, chat_id=chat_id, version=body.get("version"), entries=body.get("entries")
    )
    return json_response(updated)


@authenticated
async def _preferences(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    formality = await run_blocking(selectors.chat_formality)(user_id=user.user_id, chat_id=chat_id)
    return json_response(chat_preferences_view(chat_id=chat_id, formality=formality))


@authenticated
async def _preferences_update(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    body = json_body(request)
    if set(body) != {"formality"}:
        raise InvalidInput('send {"formality": "formal" | "informal" | null}')
    formality = await actions.do_chat_formality_set(
        user=user, chat_id=chat_id, formality=body["formality"]
    )
    return json_response(chat_preferences_view(chat_id=chat_id, formality=formality))


@authenticated
async def _mute_set(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    body = json_body(request)
    if set(body) != {"muted"}:
        raise InvalidInput('send {"muted": true | false}')
    muted = await actions.do_set_chat_muted(user=user, chat_id=chat_id, muted=body["muted"])
    return json_response(ChatMuteReply(chat_id=chat_id, muted=muted))


@authenticated
async def _reaction_toggle(
    request: HttpRequest, *, user: User, chat_id: str, seq: int
) -> JsonResponse:
    body = json_body(request)
    if set(body) != {"emoji"}:
        raise InvalidInput('send {"emoji": "<one emoji>"}')
    toggled = await actions.do_toggle_reaction(
        user=user, chat_id=chat_id, seq=seq, emoji=body["emoji"]
    )
    return json_response(
        ReactionReply(
            chat_id=chat_id,
            seq=seq,
            message_id=toggled.message.message_id,
            emoji=toggled.emoji,
            reactions=reactions.message_reactions_view(toggled.message),
        )
    )


chats = endpoint(get=_chat_list, post=_chat_create)
chat_detail = endpoint(get=_chat_detail)
messages = endpoint(get=_history, post=_message_create)
message = endpoint(patch=_message_edit, delete=_message_delete)
members = endpoint(post=_member_add)
member_me = endpoint(delete=_leave)
read = endpoint(post=_read)
glossary = endpoint(get=_glossary, put=_glossary_update)
preferences = endpoint(get=_preferences, put=_preferences_update)
mute = endpoint(put=_mute_set)
reaction = endpoint(put=_reaction_toggle)


# --- One's own data (the chats app's: deleting an account takes the person out of chats) ---


@authenticated
async def _my_data_export(request: HttpRequest, *, user: User) -> JsonResponse:
    """The signed-in person's data as a JSON file to save: what `export_user_data` gives."""
    export = await actions.do_export_own_data(user=user)
    response = JsonResponse(export, json_dumps_params={"indent": 2, "ensure_ascii": False})
    day = datetime.now(UTC).date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="commonality-data-{day}.json"'
    return response


@authenticated
async def _my_account_delete(request: HttpRequest, *, user: User) -> JsonResponse:
    body = json_body(request)
    await actions.do_delete_own_account(
        user=user,
        password=string_field(body, "password"),
        client_address=client_address(request),
    )
    return json_response(AccountDeletedReply(deleted=True))


async def _push_config(request: HttpRequest) -> JsonResponse:
    return json_response(
        PushConfig(enabled=web_push_enabled(), public_key=vapid_public_key()),
    )


@authenticated
async def _push_subscribe(request: HttpRequest, *, user: User) -> JsonResponse:
    await actions.do_push_subscribe(user=user, subscription=json_body(request))
    return json_response(PushSubscriptionReply(subscribed=True), status=201)


@authenticated
async def _push_unsubscribe(request: HttpRequest, *, user: User) -> JsonResponse:
    await actions.do_push_unsubscribe(user=user, endpoint=json_body(request).get("endpoint"))
    return json_response(PushSubscriptionReply(subscribed=False))


my_data_export = endpoint(get=_my_data_export)
push_config = endpoint(get=_push_config)
push_subscriptions = endpoint(post=_push_subscribe, delete=_push_unsubscribe)
my_account_delete = endpoint(post=_my_account_delete)

from django.http import HttpRequest, JsonResponse

from apps.accounts.http import authenticated
from apps.accounts.models import User
from apps.chats import events, messaging, selectors, services
from apps.core.concurrency import run_blocking
from apps.core.errors import InvalidInput
from apps.core.http import (
    endpoint,
    json_body,
    json_response,
    string_field,
    string_list_field,
)


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


async def _summaries_for_members(chat_id: str, member_ids) -> dict[str, dict]:
    summaries = {}
    for member_id in member_ids:
        row = await run_blocking(selectors.chat_membership_get)(user_id=member_id, chat_id=chat_id)
        if row is not None:
            summaries[member_id] = selectors.chat_summary(membership=row)
    return summaries


@authenticated
async def _chat_create(request: HttpRequest, *, user: User) -> JsonResponse:
    body = json_body(request)
    if "usernames" in body or "title" in body:
        usernames = string_list_field(body, "usernames", what="usernames")
        created = await run_blocking(services.chat_group_create)(
            user=user, title=string_field(body, "title"), usernames=usernames
        )
    else:
        created = await run_blocking(services.chat_direct_create)(
            user=user, other_username=string_field(body, "username")
        )
    if created.created:
        await events.chat_created_broadcast(
            chat_summaries=await _summaries_for_members(
                created.membership.chat_id, created.member_ids
            )
        )
    summary = selectors.chat_summary(membership=created.membership)
    summary["created"] = created.created
    # The contract answers 201 whether the chat is new or already existed.
    return json_response(summary, status=201)


@authenticated
async def _chat_list(request: HttpRequest, *, user: User) -> JsonResponse:
    rows = await run_blocking(selectors.chat_inbox)(user_id=user.user_id)
    return json_response([selectors.chat_summary(membership=row) for row in rows])


@authenticated
async def _chat_detail(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    chat = await run_blocking(selectors.chat_get_for_member)(chat_id=chat_id, user_id=user.user_id)
    row = await run_blocking(selectors.chat_membership_get)(user_id=user.user_id, chat_id=chat_id)
    summary = selectors.chat_summary(membership=row)
    summary["members"] = await run_blocking(selectors.chat_members)(chat=chat)
    return json_response(summary)


@authenticated
async def _history(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    limit = _limit(request)
    cursor = request.GET.get("cursor") or None
    before_seq = selectors.message_cursor_decode(cursor) if cursor else None
    await run_blocking(selectors.chat_get_for_member)(chat_id=chat_id, user_id=user.user_id)
    page = await run_blocking(selectors.message_history)(
        chat_id=chat_id, limit=limit, before_seq=before_seq
    )
    language = user.native_language
    messages = await messaging.messages_in_language(messages=page.messages, language=language)
    return json_response(
        {
            "messages": [selectors.message_view(message=m, language=language) for m in messages],
            "next_cursor": page.next_cursor,
        }
    )


@authenticated
async def _message_create(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    body = json_body(request)
    outcome = await messaging.message_send(
        user=user,
        chat_id=chat_id,
        text=string_field(body, "text"),
        client_msg_id=string_field(body, "client_msg_id", required=False),
    )
    return json_response(
        {"chat_id": chat_id, "message": outcome.message, "duplicate": outcome.duplicate},
        status=200 if outcome.duplicate else 201,
    )


@authenticated
async def _member_add(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    body = json_body(request)
    chat, newcomer = await run_blocking(services.chat_member_add)(
        user=user, chat_id=chat_id, username=string_field(body, "username")
    )
    await events.member_added_broadcast(
        chat_id=chat_id,
        user_id=newcomer.user_id,
        username=newcomer.username,
        member_ids=chat.member_ids,
    )
    await events.chat_created_broadcast(
        chat_summaries=await _summaries_for_members(chat_id, [newcomer.user_id])
    )
    return json_response({"chat_id": chat_id, "user_id": newcomer.user_id}, status=201)


@authenticated
async def _leave(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    chat = await run_blocking(services.chat_leave)(user=user, chat_id=chat_id)
    await events.member_left_broadcast(
        chat_id=chat_id, user_id=user.user_id, member_ids=chat.member_ids
    )
    return json_response({"chat_id": chat_id, "left": True})


@authenticated
async def _read(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    body = json_body(request)
    seq = body.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise InvalidInput("seq must be an integer")
    membership = await run_blocking(services.chat_mark_read)(user=user, chat_id=chat_id, seq=seq)
    chat = await run_blocking(selectors.chat_get)(chat_id=chat_id)
    await events.read_broadcast(
        chat_id=chat_id,
        user_id=user.user_id,
        seq=int(membership.last_read_seq),
        member_ids=chat.member_ids if chat else [user.user_id],
    )
    return json_response(selectors.chat_summary(membership=membership))


chats = endpoint(get=_chat_list, post=_chat_create)
chat_detail = endpoint(get=_chat_detail)
messages = endpoint(get=_history, post=_message_create)
members = endpoint(post=_member_add)
member_me = endpoint(delete=_leave)
read = endpoint(post=_read)

"""`GET /api/search?q=&cursor=&limit=`: the caller's messages matching `q` (search.py)."""

from django.http import HttpRequest, JsonResponse

from apps.accounts.http import authenticated
from apps.accounts.models import User
from apps.chats.search import do_search_messages, search_limit_parse
from apps.core.http import endpoint, json_response


@authenticated
async def _search(request: HttpRequest, *, user: User) -> JsonResponse:
    page = await do_search_messages(
        user=user,
        query=request.GET.get("q"),
        cursor=request.GET.get("cursor") or None,
        limit=search_limit_parse(request.GET.get("limit")),
    )
    return json_response(page)


search = endpoint(get=_search)

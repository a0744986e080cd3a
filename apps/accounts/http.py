"""Who is calling: the bearer token of a REST request resolved to its account."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse

from apps.accounts.selectors import user_from_access_token
from apps.core.concurrency import run_blocking
from apps.core.errors import Unauthorized
from apps.core.http import Handler


def bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Not authenticated")
    return token.strip()


def authenticated(handler: Handler) -> Handler:
    """Resolve the bearer token to an active user, passed to the handler as `user`."""

    @wraps(handler)
    async def wrapper(request: HttpRequest, **kwargs: Any) -> JsonResponse:
        token = bearer_token(request)
        user = await run_blocking(user_from_access_token)(token=token)
        return await handler(request, user=user, **kwargs)

    return wrapper

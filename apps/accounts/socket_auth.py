"""Authenticating WebSocket handshakes.

Two ways in: `?ticket=` with a one-time ticket from `POST /api/ws/ticket` (what new clients
use, so the long-lived token never sits in a URL), or `?token=` with an access token as in the
client contract. A handshake that carries an Origin must come from one of `CORS_ORIGINS`.
"""

import logging
import secrets
from urllib.parse import parse_qs

from django.conf import settings

from apps.accounts.models import User
from apps.accounts.selectors import user_from_access_token, user_get
from apps.accounts.throttles import socket_ticket_throttle_hit
from apps.core.concurrency import run_blocking
from apps.core.errors import Unauthorized
from apps.core.keyvalue import keyvalue_store
from apps.core.outages import outage_caused

logger = logging.getLogger(__name__)

TICKET_KEY_PREFIX = "wsticket:"


async def socket_ticket_issue(*, user: User) -> str:
    """A one-time ticket for `user`'s next socket; RateLimited (429) beyond
    WS_TICKET_RATE_LIMIT_COUNT per window, since each one is state kept in Redis."""
    await socket_ticket_throttle_hit(user_id=user.user_id)
    ticket = secrets.token_urlsafe(32)
    # The token version travels with the ticket: a password reset or "log out everywhere"
    # after it was issued makes it worthless, like the token it was issued for.
    await keyvalue_store().put(
        f"{TICKET_KEY_PREFIX}{ticket}",
        f"{user.user_id}:{int(user.token_version)}",
        ttl_seconds=settings.WS_TICKET_TTL_SECONDS,
    )
    return ticket


async def socket_ticket_redeem(*, ticket: str) -> User | None:
    """The ticket's user; a ticket works once, only before it expires, and only while the
    user's tokens issued before it still do."""
    value = await keyvalue_store().take(f"{TICKET_KEY_PREFIX}{ticket}")
    if value is None:
        return None
    user_id, _, token_version = value.partition(":")
    if not token_version.isdigit():
        return None
    user = await run_blocking(user_get)(user_id=user_id)
    if user is None or not user.is_active or int(user.token_version) != int(token_version):
        return None
    return user


def socket_origin_allowed(scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin-1").rstrip("/") in settings.CORS_ORIGINS
    # No Origin: not a browser (scripts, mobile apps); the token still has to be valid.
    return True


class AccessTokenAuthMiddleware:
    """Puts the authenticated user (or None) in `scope["user"]`, and whether the Origin is
    allowed in `scope["origin_allowed"]`; the consumer decides what to do with them."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        unavailable = False
        try:
            user = await self._user(query)
        except Exception as error:
            if not outage_caused(error):
                raise
            # Redis or DynamoDB is down: the consumer closes with a code clients retry on,
            # instead of the handshake failing with an HTTP 500.
            logger.warning(
                "socket handshake: a dependency is unavailable (%s)", type(error).__name__
            )
            user, unavailable = None, True
        scope = dict(
            scope,
            user=user,
            auth_method="ticket" if (query.get("ticket") or [""])[0] else "token",
            origin_allowed=socket_origin_allowed(scope),
            dependencies_unavailable=unavailable,
        )
        return await self.inner(scope, receive, send)

    async def _user(self, query: dict[str, list[str]]):
        ticket = (query.get("ticket") or [""])[0]
        if ticket:
            return await socket_ticket_redeem(ticket=ticket)
        token = (query.get("token") or [""])[0]
        if not token:
            return None
        try:
            return await run_blocking(user_from_access_token)(token=token)
        except Unauthorized:
            return None

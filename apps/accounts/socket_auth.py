"""Authenticating WebSocket handshakes with an access token."""

from urllib.parse import parse_qs

from apps.accounts.selectors import user_from_access_token
from apps.core.concurrency import run_blocking
from apps.core.errors import Unauthorized


class AccessTokenAuthMiddleware:
    """Puts the token's user (or None) in `scope["user"]`; the consumer decides what to do.

    The token comes from `?token=` as in the client contract.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        scope = dict(scope, user=await self._user(scope))
        return await self.inner(scope, receive, send)

    async def _user(self, scope):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        tokens = query.get("token") or []
        if not tokens or not tokens[0]:
            return None
        try:
            return await run_blocking(user_from_access_token)(token=tokens[0])
        except Unauthorized:
            return None

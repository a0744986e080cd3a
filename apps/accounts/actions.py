"""The accounts use cases: each validates, writes through services, then sends its events.

Views and the account commands call these only. Each is async (the request path); a command
runs one with `async_to_sync`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.accounts import events, selectors, services
from apps.accounts.models import User
from apps.accounts.passwords import password_hash_make, password_hash_run, password_verify
from apps.accounts.presence_actions import do_presence_visibility_announce
from apps.accounts.protocol import Me
from apps.accounts.push_subscriptions import push_settings_changed, push_subscriptions_delete
from apps.accounts.signals import user_language_changed
from apps.accounts.socket_auth import socket_ticket_issue
from apps.accounts.throttles import login_throttle_hit, signup_throttle_hit
from apps.core.concurrency import run_blocking
from apps.core.errors import Forbidden

logger = logging.getLogger(__name__)


async def do_signup(
    *,
    username: str,
    password: str,
    first_name: str,
    last_name: str,
    native_language: str,
    client_address: str | None = None,
) -> User:
    """A signup: checked first (free, not counted), then counted against the client
    address's signup limit (none for an operator's command or a test), hashed on the bounded
    pool, and stored."""
    account = services.user_signup_check(
        username=username,
        password=password,
        first_name=first_name,
        last_name=last_name,
        native_language=native_language,
    )
    if client_address is not None:
        await signup_throttle_hit(client_address=client_address)
    password_hash = await password_hash_run(password_hash_make, password=account.password)
    return await run_blocking(services.user_account_store)(
        account=account, password_hash=password_hash
    )


async def do_login(*, username: str, password: str, client_address: str) -> User:
    """A login from a client: counted against the login limits (429) before anything else,
    the password checked on the bounded hashing pool (503 when it is full); one answer (401)
    for every kind of failure."""
    await login_throttle_hit(username=username, client_address=client_address)
    user = await run_blocking(services.user_login_candidate)(username=username)
    # Without an account a hash is computed all the same, so that answer takes as long.
    check = await password_hash_run(
        password_verify, password=password, encoded=user.password_hash if user else None
    )
    return await run_blocking(services.user_login_outcome)(user=user, check=check)


WRONG_PASSWORD = "Incorrect password"


async def do_password_confirm(*, user: User, password: str, client_address: str) -> None:
    """A signed-in person typed their password again before something that cannot be undone
    (deleting their account). Counted against the login limits first, as a login is (429), so
    a stolen token cannot be used to guess the password; checked on the hashing pool (503 when
    full); 403 when it does not match (not 401: the token itself is fine)."""
    await login_throttle_hit(username=user.username, client_address=client_address)
    check = await password_hash_run(password_verify, password=password, encoded=user.password_hash)
    if not check.matches:
        raise Forbidden(WRONG_PASSWORD)


@dataclass(frozen=True)
class ProfileUpdate:
    user: User
    # What `GET /api/auth/me` now shows, as broadcast in `profile_updated`.
    profile: Me
    # What the receivers of `user_language_changed` updated (the chats app: chats); 0 when
    # the languages (native and read) stayed.
    language_updates: int


async def do_update_profile(*, user: User, changes: Mapping[str, object]) -> ProfileUpdate:
    """Change profile fields. A new native language or list of languages the user also
    reads reaches the other apps (their `user_language_changed` receivers, awaited) before
    the user's sockets hear `profile_updated`."""
    previous = (user.native_language, selectors.user_read_languages(user=user))
    was_visible = selectors.user_presence_visible(user=user)
    user = await run_blocking(services.user_profile_update)(user=user, changes=changes)
    language_updates = 0
    if (user.native_language, selectors.user_read_languages(user=user)) != previous:
        # Each receiver's answer: a count of rows updated, or whatever a receiver returns.
        replies: list[tuple[Any, Any]] = await user_language_changed.asend(sender=User, user=user)
        language_updates = sum(reply for _, reply in replies if isinstance(reply, int))
    profile = selectors.user_public_profile(user=user)
    await events.profile_updated_broadcast(user_id=user.user_id, profile=profile)
    if selectors.user_presence_visible(user=user) != was_visible:
        await do_presence_visibility_announce(user=user)
    return ProfileUpdate(user=user, profile=profile, language_updates=language_updates)


async def do_set_language(*, user: User, language: str) -> ProfileUpdate:
    """Change the native language, exactly as `PATCH /api/auth/me` with only that field."""
    return await do_update_profile(user=user, changes={"native_language": language})


async def _sessions_close(*, user: User) -> None:
    """Close the user's open sockets on every instance, now that their token version moved
    on. A socket that misses this (Redis unreachable) closes at its next periodic check, so
    the write stands either way."""
    try:
        await events.session_revoked_broadcast(
            user_id=user.user_id, token_version=int(user.token_version)
        )
    except Exception:
        logger.exception("telling the sockets of user %s to close failed", user.user_id)


async def do_issue_socket_ticket(*, user: User) -> str:
    """A one-time ticket for the user's next socket (kept in Redis for WS_TICKET_TTL_SECONDS;
    429 beyond the ticket limit)."""
    return await socket_ticket_issue(user=user)


async def do_logout_all(*, user: User) -> User:
    """Log out everywhere: every token and socket ticket issued so far stops working (the
    caller's included), and open sockets close, on every instance. No browser is pushed
    messages any more either (a lost phone stops showing them): each subscribes again when its
    user logs back in and turns it on."""
    user = await run_blocking(services.user_logout_all)(user=user)
    await run_blocking(push_subscriptions_delete)(user_id=user.user_id)
    await push_settings_changed(user_id=user.user_id)
    await _sessions_close(user=user)
    return user


async def do_disable_user(*, user: User) -> User:
    """No more logins or sockets; every token issued so far stops working and open sockets
    close."""
    user = await run_blocking(services.user_disable)(user=user)
    await _sessions_close(user=user)
    return user


async def do_enable_user(*, user: User) -> User:
    """Logins work again; tokens issued before the account was disabled stay dead."""
    return await run_blocking(services.user_enable)(user=user)


async def do_reset_password(*, user: User, password: str) -> User:
    """A new password (validated against the account); every token issued so far stops
    working and open sockets close."""
    user = await run_blocking(services.user_password_reset)(user=user, password=password)
    await _sessions_close(user=user)
    return user

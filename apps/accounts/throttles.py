"""Limits on logins, signups and socket tickets, counted in Redis across every instance
(apps.core.ratelimit: sliding windows; a refused attempt is not counted).

Logins are counted before the password is checked, so the count is one atomic step shared by
every instance and a burst of concurrent guesses cannot slip past it; the price is that a
successful login counts too, which a person logging in a few times a day never notices.

- per client address, every login: bounds the hashing one source can cause and the number
  of accounts it can try;
- per account and address: the few guesses one source gets at one account; a person who
  mistypes is held back alone, not everyone else logging in to that account;
- per account from all addresses: a higher ceiling, so guesses spread over many addresses
  stay few too. Keeping a real user out needs many addresses guessing all the time: each
  address contributes at most its per-account-and-address count.

Accounts are counted by the username as typed (any case), existing or not, so the answers
are the same for unknown usernames and reveal nothing.
"""

from __future__ import annotations

import hashlib

from apps.core.ratelimit import RateLimit, rate_limit_from_settings, rate_limit_hit


def _login_per_address() -> RateLimit:
    return rate_limit_from_settings(
        name="login-address",
        setting="LOGIN_RATE_LIMIT_PER_ADDRESS",
        detail="too many login attempts from this address",
    )


def _login_per_account_and_address() -> RateLimit:
    return rate_limit_from_settings(
        name="login-account-address",
        setting="LOGIN_RATE_LIMIT_PER_ACCOUNT",
        detail="too many login attempts for this account",
    )


def _login_per_account() -> RateLimit:
    return rate_limit_from_settings(
        name="login-account",
        setting="LOGIN_RATE_LIMIT_PER_ACCOUNT_ALL_ADDRESSES",
        window_setting="LOGIN_RATE_LIMIT_PER_ACCOUNT",
        detail="too many login attempts for this account",
    )


def _signup_per_address() -> RateLimit:
    return rate_limit_from_settings(
        name="signup-address",
        setting="SIGNUP_RATE_LIMIT_PER_ADDRESS",
        detail="too many signups from this address",
    )


def _socket_tickets_per_user() -> RateLimit:
    return rate_limit_from_settings(
        name="ws-ticket", setting="WS_TICKET_RATE_LIMIT", detail="too many socket tickets"
    )


def _account_key(username: str) -> str:
    # Bounded length whatever was typed; usernames are unique regardless of case.
    return hashlib.sha256(username.casefold().encode()).hexdigest()[:32]


async def login_throttle_hit(*, username: str, client_address: str) -> None:
    """Count one login attempt, or raise RateLimited (429, Retry-After)."""
    account = _account_key(username)
    await rate_limit_hit(limit=_login_per_address(), subject=client_address)
    await rate_limit_hit(
        limit=_login_per_account_and_address(), subject=f"{account}:{client_address}"
    )
    await rate_limit_hit(limit=_login_per_account(), subject=account)


async def signup_throttle_hit(*, client_address: str) -> None:
    await rate_limit_hit(limit=_signup_per_address(), subject=client_address)


async def socket_ticket_throttle_hit(*, user_id: str) -> None:
    await rate_limit_hit(limit=_socket_tickets_per_user(), subject=user_id)

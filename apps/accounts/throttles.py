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

from apps.core.ratelimit import SettingsRateLimit, rate_limit_hit

_TOO_MANY_LOGINS = "too many login attempts for this account"
_LOGIN_PER_ADDRESS = SettingsRateLimit(
    "login-address", "LOGIN_RATE_LIMIT_PER_ADDRESS", "too many login attempts from this address"
)
_LOGIN_PER_ACCOUNT_AND_ADDRESS = SettingsRateLimit(
    "login-account-address", "LOGIN_RATE_LIMIT_PER_ACCOUNT", _TOO_MANY_LOGINS
)
_LOGIN_PER_ACCOUNT = SettingsRateLimit(
    "login-account",
    "LOGIN_RATE_LIMIT_PER_ACCOUNT_ALL_ADDRESSES",
    _TOO_MANY_LOGINS,
    window_setting="LOGIN_RATE_LIMIT_PER_ACCOUNT",
)
_SIGNUP_PER_ADDRESS = SettingsRateLimit(
    "signup-address", "SIGNUP_RATE_LIMIT_PER_ADDRESS", "too many signups from this address"
)
_SOCKET_TICKETS_PER_USER = SettingsRateLimit(
    "ws-ticket", "WS_TICKET_RATE_LIMIT", "too many socket tickets"
)


def _account_key(username: str) -> str:
    # Bounded length whatever was typed; usernames are unique regardless of case.
    return hashlib.sha256(username.casefold().encode()).hexdigest()[:32]


async def login_throttle_hit(*, username: str, client_address: str) -> None:
    """Count one login attempt, or raise RateLimited (429, Retry-After)."""
    account = _account_key(username)
    await rate_limit_hit(limit=_LOGIN_PER_ADDRESS, subject=client_address)
    await rate_limit_hit(
        limit=_LOGIN_PER_ACCOUNT_AND_ADDRESS, subject=f"{account}:{client_address}"
    )
    await rate_limit_hit(limit=_LOGIN_PER_ACCOUNT, subject=account)


async def signup_throttle_hit(*, client_address: str) -> None:
    await rate_limit_hit(limit=_SIGNUP_PER_ADDRESS, subject=client_address)


async def socket_ticket_throttle_hit(*, user_id: str) -> None:
    await rate_limit_hit(limit=_SOCKET_TICKETS_PER_USER, subject=user_id)

"""Passwords: what is accepted, and hashing on a bounded pool of its own.

Hashing is the one expensive thing an anonymous client can make the server do (each Argon2
hash holds 19 MiB and a core for tens of milliseconds, apps.accounts.hashers). On the request
path every hash goes through `password_hash_run`: at most PASSWORD_HASH_WORKERS at once per
process, on threads that DynamoDB calls never wait behind, with a bounded queue; beyond it a
client gets 503 with Retry-After.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.hashers import make_password, verify_password
from django.contrib.auth.password_validation import (
    CommonPasswordValidator,
    NumericPasswordValidator,
    UserAttributeSimilarityValidator,
)
from django.core.exceptions import FieldDoesNotExist, ValidationError

from apps.core.concurrency import BoundedPool
from apps.core.errors import InvalidInput

T = TypeVar("T")

# Scheduling priority of the hashing threads (0 normal, 19 lowest; Linux).
PASSWORD_HASH_NICENESS = 10

# The account attributes a password must not resemble.
SIMILARITY_ATTRIBUTES = ("username", "first_name", "last_name")


@dataclass(frozen=True)
class PasswordCheck:
    matches: bool
    # The password hashed again with the current parameters, when the stored hash used
    # older ones and the password matched; to be stored in place of the old hash.
    upgraded_hash: str | None = None


class _NoModelFields:
    """What UserAttributeSimilarityValidator asks of a model (`_meta.get_field`) to name the
    attribute in its message; our accounts are not Django models."""

    @staticmethod
    def get_field(name: str):
        raise FieldDoesNotExist(name)


@dataclass(frozen=True)
class _AccountAttributes:
    username: str
    first_name: str
    last_name: str
    _meta = _NoModelFields()


@functools.cache
def _validators() -> tuple:
    # The common-password list (20,000 entries) is read once per process, not per signup.
    # (Django's MinimumLengthValidator is the length check above, keeping its old text.)
    return (
        UserAttributeSimilarityValidator(user_attributes=SIMILARITY_ATTRIBUTES),
        CommonPasswordValidator(),
        NumericPasswordValidator(),
    )


def password_validate(*, password: str, username: str, first_name: str, last_name: str) -> str:
    """The password if it is acceptable for this account, else InvalidInput (422) with every
    reason: too short or long (alone), only whitespace, too like the username or names, among the
    20,000 most common passwords, or only digits."""
    # The length rules first, with the texts clients have always been given.
    if len(password) < settings.PASSWORD_MIN_LENGTH:
        raise InvalidInput(f"password must be at least {settings.PASSWORD_MIN_LENGTH} characters")
    if len(password) > settings.PASSWORD_MAX_LENGTH:
        raise InvalidInput(f"password must be at most {settings.PASSWORD_MAX_LENGTH} characters")
    problems: list[str] = []
    if not password.strip():
        problems.append("This password is only whitespace.")
    account = _AccountAttributes(username=username, first_name=first_name, last_name=last_name)
    for validator in _validators():
        try:
            validator.validate(password, account)
        except ValidationError as error:
            problems.extend(error.messages)
    if problems:
        raise InvalidInput(f"password refused: {' '.join(problems)}")
    return password


def password_hash_make(*, password: str) -> str:
    return make_password(password)


def password_verify(*, password: str, encoded: str | None) -> PasswordCheck:
    """Whether `password` matches the hash `encoded`; without a hash (no such account) one
    hash is computed all the same, so that answer takes as long as a wrong password."""
    if encoded is None:
        make_password(password)
        return PasswordCheck(matches=False)
    matches, must_update = verify_password(password, encoded)
    if matches and must_update:
        return PasswordCheck(matches=True, upgraded_hash=make_password(password))
    return PasswordCheck(matches=matches)


@functools.cache
def _hash_pool(workers: int, max_waiting: int, wait_seconds: float) -> BoundedPool:
    return BoundedPool(
        name="password-hash",
        workers=workers,
        max_waiting=max_waiting,
        wait_seconds=wait_seconds,
        busy_detail="too many logins and signups at once",
        # Hashing waits for the CPU rather than the event loop and DynamoDB calls waiting
        # for hashing: a login burst slows logins, not every other request.
        niceness=PASSWORD_HASH_NICENESS,
    )


def password_hash_pool() -> BoundedPool:
    return _hash_pool(
        settings.PASSWORD_HASH_WORKERS,
        settings.PASSWORD_HASH_MAX_WAITING,
        settings.PASSWORD_HASH_WAIT_SECONDS,
    )


async def password_hash_run(function: Callable[..., T], /, **kwargs) -> T:
    """Run a hashing function (`password_hash_make`, `password_verify`) on the bounded
    hashing pool; Unavailable (503, Retry-After) when it is full."""
    return await password_hash_pool().run(function, **kwargs)

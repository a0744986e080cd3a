"""Access tokens: JWT HS256 signed with JWT_SECRET, subject = user id."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import jwt
from django.conf import settings

from apps.accounts.models import User
from apps.core.errors import Unauthorized

TOKEN_TYPE: Final = "bearer"


@dataclass(frozen=True)
class AccessTokenClaims:
    user_id: str
    token_version: int


def access_token_issue(*, user_id: str, token_version: int) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": user_id,
        "iat": now,
        "exp": now + timedelta(minutes=settings.JWT_EXPIRATION_MINUTES),
        "tv": token_version,
        # Two logins in the same second would otherwise get the same token: each device's
        # session is its own.
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(payload, settings.JWT_SECRET, algorithm=settings.JWT_ALGORITHM)


def user_access_token(*, user: User) -> str:
    """A new access token for the user, valid until their token version moves on."""
    return access_token_issue(user_id=user.user_id, token_version=int(user.token_version))


def access_token_decode(*, token: str) -> AccessTokenClaims:
    try:
        payload = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=[settings.JWT_ALGORITHM],
            options={"require": ["sub", "exp"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("Token expired") from error
    except jwt.PyJWTError as error:
        raise Unauthorized("Invalid token") from error
    subject = payload.get("sub")
    token_version = payload.get("tv", 0)
    if not isinstance(subject, str) or not subject or not isinstance(token_version, int):
        raise Unauthorized("Invalid token")
    return AccessTokenClaims(user_id=subject, token_version=token_version)


def access_token_lifetime_seconds() -> int:
    return settings.JWT_EXPIRATION_MINUTES * 60

"""Reads of accounts."""

from apps.accounts.models import User, UsernameClaim
from apps.accounts.tokens import access_token_decode
from apps.core.errors import Unauthorized


def user_get(*, user_id: str) -> User | None:
    try:
        return User.get(User.key_for(user_id), consistent_read=True)
    except User.DoesNotExist:
        return None


def user_get_by_username(*, username: str) -> User | None:
    try:
        claim = UsernameClaim.get(UsernameClaim.key_for(username), consistent_read=True)
    except UsernameClaim.DoesNotExist:
        return None
    return user_get(user_id=claim.user_id)


def user_from_access_token(*, token: str) -> User:
    """The active user a token belongs to, or Unauthorized."""
    claims = access_token_decode(token=token)
    user = user_get(user_id=claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.token_version:
        raise Unauthorized("Invalid token")
    return user


def user_public_profile(*, user: User) -> dict:
    """What `GET /api/auth/me` shows: never the password hash."""
    return {
        "user_id": user.user_id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "native_language": user.native_language,
        "created_at": user.created_at.isoformat(),
    }

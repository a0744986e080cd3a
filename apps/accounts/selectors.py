"""Reads of accounts."""

from apps.accounts.models import User, UsernameClaim
from apps.accounts.protocol import Me
from apps.accounts.tokens import access_token_decode
from apps.core.errors import Unauthorized
from apps.core.text import text_problem

# Longer than any username signup has ever accepted (50).
USERNAME_LOOKUP_MAX_CHARS = 100


def user_get(*, user_id: str) -> User | None:
    try:
        return User.get(User.key_for(user_id), consistent_read=True)
    except User.DoesNotExist:
        return None


def user_get_by_username(*, username: str) -> User | None:
    if len(username) > USERNAME_LOOKUP_MAX_CHARS or text_problem(username) is not None:
        # No such name was ever accepted, and DynamoDB would refuse the key (over 2048 bytes,
        # or not encodable) with an error rather than "not found".
        return None
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


def user_display_name(*, user: User) -> str:
    """What to call a person (a ringing call, a turn's notices): the full name, or the
    username when no name was given."""
    return f"{user.first_name} {user.last_name}".strip() or user.username


def user_read_languages(*, user: User) -> list[str]:
    """The languages besides their native one that the user reads (none on older accounts)."""
    # Stored as a list of strings; the stubs type a ListAttribute's items as attributes.
    return [str(code) for code in user.read_languages or []]


def user_presence_visible(*, user: User) -> bool:
    """Whether others see when the user is online and was last seen (older accounts: yes)."""
    return user.presence_visible is not False


def user_public_profile(*, user: User) -> Me:
    """What `GET /api/auth/me` shows: never the password hash."""
    return {
        "user_id": user.user_id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "native_language": user.native_language,
        "read_languages": user_read_languages(user=user),
        "presence_visible": user_presence_visible(user=user),
        "created_at": user.created_at.isoformat(),
    }


# --- Operations (management commands) ----------------------------------------------------


def user_find(*, identifier: str) -> User | None:
    """The user with this username (any case), else with this user id."""
    return user_get_by_username(username=identifier) or user_get(user_id=identifier)


def user_list(*, username_prefix: str = "", limit: int | None = None) -> list[User]:
    """Accounts whose username starts with `username_prefix` (any case), by username.

    A Scan of the whole `users` table: for operations commands only, never a request path.
    """
    from apps.accounts.models import USER_KEY_PREFIX

    prefix = username_prefix.casefold()
    users = [
        user
        for user in User.scan(User.pk.startswith(USER_KEY_PREFIX), consistent_read=True)
        if user.username.casefold().startswith(prefix)
    ]
    users.sort(key=lambda user: user.username.casefold())
    return users if limit is None else users[:limit]


def user_account_view(*, user: User) -> dict:
    """Everything about an account an operator or its owner may see: never the hash."""
    return {
        **user_public_profile(user=user),
        "is_active": bool(user.is_active),
        "token_version": int(user.token_version),
    }

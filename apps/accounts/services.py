"""Writes and credential checks for accounts."""

import time
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from apps.accounts.languages import LANGUAGES_BY_CODE
from apps.accounts.models import User, UsernameClaim
from apps.accounts.selectors import user_get_by_username
from apps.accounts.tokens import access_token_issue
from apps.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from apps.core.text import display_text_clean, username_normalize

USERNAME_MIN_LENGTH = 3
USERNAME_MAX_LENGTH = 50
NAME_MAX_LENGTH = 100
INVALID_CREDENTIALS = "Invalid username or password"
PROFILE_FIELDS = ("first_name", "last_name", "native_language")
SIGNUP_ATTEMPTS = 3


def _username_validate(username: str) -> str:
    if not USERNAME_MIN_LENGTH <= len(username) <= USERNAME_MAX_LENGTH:
        raise InvalidInput(
            f"username must be {USERNAME_MIN_LENGTH} to {USERNAME_MAX_LENGTH} characters"
        )
    # New names are lower-case ASCII (apps/core/text.py); existing ones keep their spelling
    # and log in as before, by their case-folded claim.
    normalized = username_normalize(value=username)
    if normalized is None:
        raise InvalidInput("username may contain only letters a-z, digits, '.', '-' and '_'")
    return normalized


def _name_validate(field: str, value: str) -> str:
    value = display_text_clean(value=value, field=field)
    if not 1 <= len(value) <= NAME_MAX_LENGTH:
        raise InvalidInput(f"{field} must be 1 to {NAME_MAX_LENGTH} characters")
    return value


def _language_validate(code: str) -> str:
    if code not in LANGUAGES_BY_CODE:
        supported = ", ".join(LANGUAGES_BY_CODE)
        raise InvalidInput(f"native_language must be one of: {supported}")
    return code


def _password_validate(password: str) -> str:
    if len(password) < settings.PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            f"password must be at least {settings.PASSWORD_MIN_LENGTH} characters"
        )
    if len(password) > settings.PASSWORD_MAX_LENGTH:
        raise InvalidInput(f"password must be at most {settings.PASSWORD_MAX_LENGTH} characters")
    return password


def user_signup(
    *,
    username: str,
    password: str,
    first_name: str,
    last_name: str,
    native_language: str,
) -> User:
    username = _username_validate(username)
    first_name = _name_validate("first_name", first_name)
    last_name = _name_validate("last_name", last_name)
    native_language = _language_validate(native_language)
    password = _password_validate(password)

    user_id = uuid.uuid4().hex
    user = User(
        User.key_for(user_id),
        user_id=user_id,
        username=username,
        first_name=first_name,
        last_name=last_name,
        native_language=native_language,
        password_hash=make_password(password),
        created_at=datetime.now(UTC),
        is_active=True,
        token_version=0,
    )
    claim = UsernameClaim(UsernameClaim.key_for(username), user_id=user_id)
    for attempt in range(SIGNUP_ATTEMPTS):
        try:
            with TransactWrite(connection=User._get_connection().connection) as transaction:
                transaction.save(claim, condition=UsernameClaim.pk.does_not_exist())
                transaction.save(user, condition=User.pk.does_not_exist())
        except TransactWriteError as error:
            codes = _cancellation_codes(error)
            if "ConditionalCheckFailed" in codes:
                raise Conflict("Username already taken") from error
            # DynamoDB cancels a transaction that touches an item another one is writing
            # (a concurrent signup for the same name); once that one settles, try again.
            if "TransactionConflict" in codes and attempt + 1 < SIGNUP_ATTEMPTS:
                time.sleep(0.05 * (attempt + 1))
                continue
            if "TransactionConflict" in codes:
                raise Conflict("Username already taken") from error
            raise
        return user
    raise AssertionError("unreachable")


def _cancellation_codes(error: TransactWriteError) -> list[str]:
    return [reason.code for reason in error.cancellation_reasons or [] if reason is not None]


def user_login(*, username: str, password: str) -> User:
    """The user these credentials belong to; one answer for every kind of failure."""
    plausible = USERNAME_MIN_LENGTH <= len(username) <= USERNAME_MAX_LENGTH
    user = user_get_by_username(username=username) if plausible else None
    if user is None:
        # Hash anyway, so an unknown username takes as long as a wrong password.
        make_password(password)
        raise Unauthorized(INVALID_CREDENTIALS)
    if not check_password(password, user.password_hash) or not user.is_active:
        raise Unauthorized(INVALID_CREDENTIALS)
    return user


def user_access_token(*, user: User) -> str:
    return access_token_issue(user_id=user.user_id, token_version=user.token_version)


def user_profile_update(*, user: User, changes: dict[str, str]) -> User:
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise InvalidInput(
            f"cannot change {', '.join(unknown)}; changeable fields: {', '.join(PROFILE_FIELDS)}"
        )
    if not changes:
        raise InvalidInput(f"nothing to change; changeable fields: {', '.join(PROFILE_FIELDS)}")
    cleaned: dict[str, str] = {}
    for field, value in changes.items():
        if field == "native_language":
            cleaned[field] = _language_validate(value)
        else:
            cleaned[field] = _name_validate(field, value)
    actions = [getattr(User, field).set(value) for field, value in cleaned.items()]
    try:
        user.update(actions=actions, condition=User.pk.exists())
    except UpdateError as error:
        raise NotFound("User not found") from error
    return user


# --- Operations (management commands) ----------------------------------------------------


def _user_update(*, user: User, actions: list) -> User:
    try:
        user.update(actions=actions, condition=User.pk.exists())
    except UpdateError as error:
        raise NotFound("User not found") from error
    return user


def user_disable(*, user: User) -> User:
    """No more logins or sockets, and every token issued so far stops working at once."""
    return _user_update(user=user, actions=[User.is_active.set(False), User.token_version.add(1)])


def user_enable(*, user: User) -> User:
    """Logins work again; tokens issued before the account was disabled stay dead."""
    return _user_update(user=user, actions=[User.is_active.set(True)])


def user_password_reset(*, user: User, password: str) -> User:
    """Set a new password; every token issued so far stops working."""
    password = _password_validate(password)
    return _user_update(
        user=user,
        actions=[User.password_hash.set(make_password(password)), User.token_version.add(1)],
    )


def user_account_delete(*, user: User) -> None:
    """Delete the account item and its username claim in one transaction (the username is
    free again). Chats and messages are the chats app's to clean up first."""
    with TransactWrite(connection=User._get_connection().connection) as transaction:
        transaction.delete(User(User.key_for(user.user_id)))
        transaction.delete(
            UsernameClaim(UsernameClaim.key_for(user.username)),
            # Never someone else's claim (a later account that took the name).
            condition=(UsernameClaim.user_id == user.user_id) | UsernameClaim.pk.does_not_exist(),
        )

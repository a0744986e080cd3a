"""Writes and credential checks for accounts."""

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from apps.accounts.languages import LANGUAGES_BY_CODE
from apps.accounts.models import User, UsernameClaim
from apps.accounts.passwords import (
    PasswordCheck,
    password_hash_make,
    password_validate,
    password_verify,
)
from apps.accounts.selectors import user_get_by_username
from apps.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from apps.core.text import display_text_clean, username_normalize
from apps.core.transactions import transaction_cancellation_codes, transaction_write

logger = logging.getLogger(__name__)

USERNAME_MIN_LENGTH = 3
USERNAME_MAX_LENGTH = 50
NAME_MAX_LENGTH = 100
INVALID_CREDENTIALS = "Invalid username or password"
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "native_language",
    "read_languages",
    "presence_visible",
)


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


def _read_languages_validate(codes: object, *, native_language: str) -> list[str]:
    """Supported codes, each once, in the order of LANGUAGES; the native language, read
    anyway, is left out."""
    if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
        raise InvalidInput("read_languages must be a list of language codes")
    unknown = sorted({code for code in codes if code not in LANGUAGES_BY_CODE})
    if unknown:
        supported = ", ".join(LANGUAGES_BY_CODE)
        raise InvalidInput(f"read_languages may contain only: {supported}")
    wanted = set(codes) - {native_language}
    return [code for code in LANGUAGES_BY_CODE if code in wanted]


def _language_validate(code: object) -> str:
    if not isinstance(code, str) or code not in LANGUAGES_BY_CODE:
        supported = ", ".join(LANGUAGES_BY_CODE)
        raise InvalidInput(f"native_language must be one of: {supported}")
    return code


@dataclass(frozen=True)
class NewAccount:
    """A signup's fields, checked and cleaned; nothing stored yet."""

    username: str
    password: str
    first_name: str
    last_name: str
    native_language: str


def user_signup_check(
    *,
    username: str,
    password: str,
    first_name: str,
    last_name: str,
    native_language: str,
) -> NewAccount:
    """The signup's fields cleaned, or InvalidInput (422) naming what is wrong."""
    username = _username_validate(username)
    first_name = _name_validate("first_name", first_name)
    last_name = _name_validate("last_name", last_name)
    native_language = _language_validate(native_language)
    password = password_validate(
        password=password, username=username, first_name=first_name, last_name=last_name
    )
    return NewAccount(
        username=username,
        password=password,
        first_name=first_name,
        last_name=last_name,
        native_language=native_language,
    )


def user_account_store(*, account: NewAccount, password_hash: str) -> User:
    """Write a checked signup's account and username claim; Conflict if the name is taken."""
    user_id = uuid.uuid4().hex
    user = User(
        User.key_for(user_id),
        user_id=user_id,
        username=account.username,
        first_name=account.first_name,
        last_name=account.last_name,
        native_language=account.native_language,
        password_hash=password_hash,
        created_at=datetime.now(UTC),
        is_active=True,
        token_version=0,
    )
    claim = UsernameClaim(UsernameClaim.key_for(account.username), user_id=user_id)

    def write(transaction: TransactWrite) -> None:
        transaction.save(claim, condition=UsernameClaim.pk.does_not_exist())
        transaction.save(user, condition=User.pk.does_not_exist())

    try:
        # A concurrent signup for the same name conflicts: tried again on the one policy.
        transaction_write(connection=User._get_connection().connection, write=write)
    except TransactWriteError as error:
        codes = transaction_cancellation_codes(error)
        if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
            raise Conflict("Username already taken") from error
        raise
    return user


def user_login_candidate(*, username: str) -> User | None:
    plausible = USERNAME_MIN_LENGTH <= len(username) <= USERNAME_MAX_LENGTH
    return user_get_by_username(username=username) if plausible else None


def user_login_outcome(*, user: User | None, check: PasswordCheck) -> User:
    if user is None or not check.matches or not user.is_active:
        raise Unauthorized(INVALID_CREDENTIALS)
    if check.upgraded_hash is not None:
        user_password_hash_upgrade(user=user, password_hash=check.upgraded_hash)
    return user


def user_login(*, username: str, password: str) -> User:
    """The user these credentials belong to; one answer for every kind of failure. Hashes
    in the calling thread (tests); a client's login is `apps.accounts.actions.do_login`."""
    user = user_login_candidate(username=username)
    # Without an account a hash is computed all the same, so that answer takes as long.
    check = password_verify(password=password, encoded=user.password_hash if user else None)
    return user_login_outcome(user=user, check=check)


def user_password_hash_upgrade(*, user: User, password_hash: str) -> None:
    """Replace a hash made with older parameters by one made with the current ones, unless
    the password was changed meanwhile."""
    try:
        user.update(
            actions=[User.password_hash.set(password_hash)],
            condition=User.password_hash == user.password_hash,
        )
    except UpdateError:
        # The password was reset in between: the new password's hash stays.
        logger.info("password hash of user %s changed before its upgrade", user.user_id)


def user_profile_update(*, user: User, changes: Mapping[str, object]) -> User:
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise InvalidInput(
            f"cannot change {', '.join(unknown)}; changeable fields: {', '.join(PROFILE_FIELDS)}"
        )
    if not changes:
        raise InvalidInput(f"nothing to change; changeable fields: {', '.join(PROFILE_FIELDS)}")
    cleaned: dict[str, object] = {}
    native_language = user.native_language
    if "native_language" in changes:
        native_language = cleaned["native_language"] = _language_validate(
            changes["native_language"]
        )
    for field, value in changes.items():
        if field == "read_languages":
            cleaned[field] = _read_languages_validate(value, native_language=native_language)
        elif field == "presence_visible":
            if not isinstance(value, bool):
                raise InvalidInput("presence_visible must be true or false")
            cleaned[field] = value
        elif field != "native_language":
            if not isinstance(value, str):
                raise InvalidInput(f"{field} must be a string")
            cleaned[field] = _name_validate(field, value)
    return _user_update(
        user=user, actions=[getattr(User, field).set(value) for field, value in cleaned.items()]
    )


def _user_update(*, user: User, actions: list) -> User:
    try:
        user.update(actions=actions, condition=User.pk.exists())
    except UpdateError as error:
        raise NotFound("User not found") from error
    return user


# --- Operations (management commands) ----------------------------------------------------


def user_disable(*, user: User) -> User:
    """No more logins or sockets: every token issued so far stops working at once (open
    sockets are closed by the caller, `actions.do_disable_user`)."""
    return _user_update(user=user, actions=[User.is_active.set(False), User.token_version.add(1)])


def user_enable(*, user: User) -> User:
    """Logins work again; tokens issued before the account was disabled stay dead."""
    return _user_update(user=user, actions=[User.is_active.set(True)])


def user_password_reset(*, user: User, password: str) -> User:
    """Set a new password; every token issued so far stops working."""
    password = password_validate(
        password=password,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
    )
    return _user_update(
        user=user,
        actions=[
            User.password_hash.set(password_hash_make(password=password)),
            User.token_version.add(1),
        ],
    )


def user_logout_all(*, user: User) -> User:
    """Log out everywhere: every token and socket ticket issued so far stops working."""
    return _user_update(user=user, actions=[User.token_version.add(1)])


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

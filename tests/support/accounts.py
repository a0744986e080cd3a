"""Creating accounts for tests through the real service."""

import itertools

from asgiref.sync import async_to_sync

from apps.accounts import actions
from apps.accounts.models import User
from apps.accounts.tokens import user_access_token

_numbers = itertools.count()


def user_create(*, language: str = "en", username: str | None = None) -> User:
    return async_to_sync(actions.do_signup)(
        username=username or f"user{next(_numbers)}",
        password="correct horse battery",
        first_name="Test",
        last_name="Person",
        native_language=language,
    )


def user_token(user: User) -> str:
    return user_access_token(user=user)

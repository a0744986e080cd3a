"""Shared by the account commands: finding the user a command is about."""

from django.core.management.base import CommandError

from apps.accounts.models import User
from apps.accounts.selectors import user_find
from apps.core.commands import command_errors


def user_argument(parser) -> None:
    parser.add_argument("user", help="the account: its username (any case) or its user id")


def user_resolve(identifier: str) -> User:
    with command_errors("look up the user"):
        user = user_find(identifier=identifier)
    if user is None:
        raise CommandError(f"no user with username or id {identifier!r}")
    return user


def user_label(user: User) -> str:
    return f"{user.username} ({user.user_id})"

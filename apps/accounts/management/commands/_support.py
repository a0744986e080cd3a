"""Shared by the account commands: finding the user a command is about."""

from collections.abc import Awaitable, Callable

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError

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


class UserActiveCommand(BaseCommand):
    """user_disable and user_enable: run `action` (an accounts action) on the account named
    and say what became of it, given whether it was active before."""

    action: Callable[..., Awaitable[User]]
    doing: str

    def outcome(self, was_active: bool) -> str:
        raise NotImplementedError

    def add_arguments(self, parser):
        user_argument(parser)

    def handle(self, *args, user: str, **options):
        account = user_resolve(user)
        was_active = bool(account.is_active)
        with command_errors(self.doing):
            account = async_to_sync(type(self).action)(user=account)
        self.stdout.write(self.style.SUCCESS(f"{user_label(account)} {self.outcome(was_active)}"))

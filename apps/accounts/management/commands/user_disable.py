from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand

from apps.accounts.actions import do_disable_user
from apps.accounts.management.commands._support import user_argument, user_label, user_resolve
from apps.core.commands import command_errors


class Command(BaseCommand):
    help = (
        "Disable an account: it can no longer log in or open a socket, and every access token "
        "issued to it stops working at once (its token version is raised); its open sockets "
        "close within a second, on every instance. Undo with user_enable."
    )

    def add_arguments(self, parser):
        user_argument(parser)

    def handle(self, *args, user: str, **options):
        account = user_resolve(user)
        was_active = bool(account.is_active)
        with command_errors("disable the user"):
            account = async_to_sync(do_disable_user)(user=account)
        state = "disabled" if was_active else "was already disabled; tokens revoked again"
        self.stdout.write(self.style.SUCCESS(f"{user_label(account)} {state}"))

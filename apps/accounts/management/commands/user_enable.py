from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand

from apps.accounts.actions import do_enable_user
from apps.accounts.management.commands._support import user_argument, user_label, user_resolve
from apps.core.commands import command_errors


class Command(BaseCommand):
    help = (
        "Enable a disabled account: it can log in again. Tokens issued before it was disabled "
        "stay invalid; the person logs in anew."
    )

    def add_arguments(self, parser):
        user_argument(parser)

    def handle(self, *args, user: str, **options):
        account = user_resolve(user)
        was_active = bool(account.is_active)
        with command_errors("enable the user"):
            account = async_to_sync(do_enable_user)(user=account)
        state = "was already enabled" if was_active else "enabled"
        self.stdout.write(self.style.SUCCESS(f"{user_label(account)} {state}"))

import getpass
import sys

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.actions import do_reset_password
from apps.accounts.management.commands._support import user_argument, user_label, user_resolve
from apps.core.commands import command_errors


class Command(BaseCommand):
    help = (
        "Set a new password for an account, typed at a prompt (twice), or read from the first "
        "line of standard input with --password-stdin. Every access token issued so far stops "
        "working and open sockets close. The password never appears in arguments, output or logs."
    )

    def add_arguments(self, parser):
        user_argument(parser)
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the new password from the first line of standard input",
        )

    def handle(self, *args, user: str, password_stdin: bool, **options):
        account = user_resolve(user)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("no password on standard input")
        else:
            if not sys.stdin.isatty():
                raise CommandError(
                    "standard input is not a terminal; use --password-stdin to pipe a password"
                )
            password = getpass.getpass("New password: ")
            if password != getpass.getpass("New password (again): "):
                raise CommandError("the passwords do not match")
        with command_errors("reset the password"):
            account = async_to_sync(do_reset_password)(user=account, password=password)
        self.stdout.write(
            self.style.SUCCESS(f"password of {user_label(account)} changed; old tokens revoked")
        )

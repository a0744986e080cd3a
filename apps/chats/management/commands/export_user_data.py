from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.management.commands._support import user_argument, user_resolve
from apps.chats.personal_data import user_data_export
from apps.core.commands import command_errors, json_text


class Command(BaseCommand):
    help = (
        "Export all of one person's data as JSON (a data access request): the account without "
        "its password hash, their chats as their inbox shows them, and every message they "
        "wrote with its translations (found through the messages' author index, no Scan); what "
        "GET /api/auth/me/export gives the person. Writes to "
        "standard output, or to --output FILE (created with owner-only permissions)."
    )

    def add_arguments(self, parser):
        user_argument(parser)
        parser.add_argument("--output", "-o", help="write the JSON to this file instead")

    def handle(self, *args, user: str, output: str | None, **options):
        account = user_resolve(user)
        with command_errors("export the user's data"):
            export = user_data_export(user=account)
        text = json_text(export) + "\n"
        if output is None:
            self.stdout.write(text, ending="")
            return
        path = Path(output)
        try:
            with open(path, "x", encoding="utf-8", opener=_owner_only) as file:
                file.write(text)
        except FileExistsError:
            raise CommandError(f"{path} exists; choose another file") from None
        except OSError as error:
            raise CommandError(f"cannot write {path}: {error.strerror}") from None
        self.stderr.write(
            f"wrote {path}: {len(export['chats'])} chat(s), {len(export['messages'])} message(s)"
        )


def _owner_only(path, flags):
    import os

    return os.open(path, flags, 0o600)

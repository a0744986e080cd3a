from django.core.management.base import BaseCommand, CommandError

from apps.accounts.selectors import user_account_view, user_list
from apps.core.commands import command_errors, json_text, text_table


class Command(BaseCommand):
    help = (
        "List accounts by username, optionally only those whose username starts with a prefix "
        "(any case). Reads the whole users table (a Scan): for operations, not for scripts "
        "that run often."
    )

    def add_arguments(self, parser):
        parser.add_argument("prefix", nargs="?", default="", help="username prefix (any case)")
        parser.add_argument("--disabled", action="store_true", help="only disabled accounts")
        parser.add_argument(
            "--limit", type=int, default=100, help="at most this many (default 100; 0: all)"
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON")

    def handle(self, *args, prefix: str, disabled: bool, limit: int, as_json: bool, **options):
        if limit < 0:
            raise CommandError("--limit must be 0 (all) or more")
        with command_errors("list users"):
            users = user_list(username_prefix=prefix)
        if disabled:
            users = [user for user in users if not user.is_active]
        total = len(users)
        if limit:
            users = users[:limit]
        if as_json:
            self.stdout.write(json_text([user_account_view(user=user) for user in users]))
            return
        rows = [
            (
                user.username,
                user.user_id,
                user.native_language,
                "yes" if user.is_active else "DISABLED",
                user.created_at.isoformat(timespec="seconds"),
            )
            for user in users
        ]
        headers = ("USERNAME", "USER ID", "LANGUAGE", "ACTIVE", "CREATED")
        self.stdout.write(text_table(headers, rows))
        shown = f"{len(users)} of {total}" if len(users) < total else str(total)
        self.stdout.write(f"{shown} user(s)")

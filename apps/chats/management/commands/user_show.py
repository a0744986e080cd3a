from collections.abc import Mapping

from django.core.management.base import BaseCommand

from apps.accounts.management.commands._support import user_argument, user_resolve
from apps.accounts.selectors import user_account_view
from apps.chats.presenters import chat_summary
from apps.chats.selectors import chat_inbox
from apps.core.commands import command_errors, json_text, text_table


class Command(BaseCommand):
    help = (
        "Show one account: profile, whether it is active, its token version and its chats "
        "(never the password hash)."
    )

    def add_arguments(self, parser):
        user_argument(parser)
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON")

    def handle(self, *args, user: str, as_json: bool, **options):
        account = user_resolve(user)
        with command_errors("read the user's chats"):
            rows = chat_inbox(user_id=account.user_id)
        view = user_account_view(user=account)
        # Read by key name below: any of the summary's keys.
        chats: list[Mapping[str, object]] = [chat_summary(membership=row) for row in rows]
        if as_json:
            keys = ("chat_id", "kind", "title", "other_username", "updated_at", "last_seq")
            view["chats"] = [{key: chat[key] for key in keys} for chat in chats]
            self.stdout.write(json_text(view))
            return
        for key, value in view.items():
            self.stdout.write(f"{key + ':':<17}{value}")
        self.stdout.write(f"{'chats:':<17}{len(chats)}")
        if chats:
            self.stdout.write(
                text_table(
                    ("CHAT ID", "KIND", "WITH / TITLE", "LAST SEQ", "UNREAD", "UPDATED"),
                    [
                        (
                            chat["chat_id"],
                            chat["kind"],
                            chat["other_username"],
                            chat["last_seq"],
                            chat["unread_count"],
                            chat["updated_at"],
                        )
                        for chat in chats
                    ],
                )
            )

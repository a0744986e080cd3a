from django.core.management.base import BaseCommand

from apps.accounts.selectors import user_list, user_read_languages
from apps.chats.services import chat_languages_refresh
from apps.core.commands import command_errors


class Command(BaseCommand):
    help = (
        "Record each account's native and read languages in every chat of theirs, as a "
        "profile change does. Run once after deploying the version whose chats keep their "
        "members' read languages: accounts that listed read languages before then are "
        "otherwise still translated for until they next edit their profile. Scans the users "
        "table (an operations command, never a request path); safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            dest="every_account",
            help="every account, not only those that list read languages",
        )

    def handle(self, *args, every_account: bool, **options):
        with command_errors("list the accounts"):
            accounts = [
                user for user in user_list() if every_account or user_read_languages(user=user)
            ]
        chats = 0
        for account in accounts:
            with command_errors(f"update the chats of {account.username}"):
                chats += chat_languages_refresh(user=account)
        self.stdout.write(
            self.style.SUCCESS(f"{len(accounts)} account(s), {chats} chat(s) updated")
        )

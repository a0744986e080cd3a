import sys

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.management.commands._support import user_argument, user_label, user_resolve
from apps.chats.actions import do_delete_user
from apps.core.commands import command_errors


class Command(BaseCommand):
    help = (
        "Delete an account and the person's data: their profile and username (free again), "
        "their inbox rows and their place in every chat (a 1:1 partner's inbox then shows "
        "'[deleted]'); chats nobody is left in are deleted with all their messages. Messages "
        "they wrote in chats that go on are kept in place, so sequence numbers stay gapless, "
        "but anonymised: text and translations become '[message deleted]' and the author "
        "'deleted'. Their reactions, search index entries, push subscriptions and presence "
        "(last seen) go too: nothing of theirs is left but tombstones. Export first with export_user_data if the data is needed. Asks to type the "
        "username unless --yes is given. Running it again after a failure finishes the job."
    )

    def add_arguments(self, parser):
        user_argument(parser)
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, user: str, yes: bool, **options):
        account = user_resolve(user)
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError("refusing to delete without confirmation; pass --yes")
            self.stdout.write(
                f"This deletes {user_label(account)} and anonymises every message they wrote."
            )
            typed = input("Type the username to confirm: ").strip()
            if typed.casefold() != account.username.casefold():
                raise CommandError("confirmation did not match; nothing deleted")
        with command_errors("delete the user"):
            deleted = async_to_sync(do_delete_user)(user=account)
        self.stdout.write(
            self.style.SUCCESS(
                f"deleted {deleted.username} ({deleted.user_id}): left {deleted.chats_left} "
                f"chat(s), deleted {deleted.chats_deleted} empty chat(s), anonymised "
                f"{deleted.messages_anonymised} message(s)"
            )
        )

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand

from apps.accounts.actions import do_set_language
from apps.accounts.languages import LANGUAGES_BY_CODE
from apps.accounts.management.commands._support import user_argument, user_label, user_resolve
from apps.core.commands import command_errors


class Command(BaseCommand):
    help = (
        "Change an account's native language, as PATCH /api/auth/me does: the new language is "
        "recorded in each of its chats, so messages written from now on are translated into it, "
        "and the account's open sockets are told (profile_updated). "
        f"Languages: {', '.join(LANGUAGES_BY_CODE)}."
    )

    def add_arguments(self, parser):
        user_argument(parser)
        parser.add_argument("language", help="language code, e.g. es")

    def handle(self, *args, user: str, language: str, **options):
        account = user_resolve(user)
        previous = account.native_language
        with command_errors("change the language"):
            update = async_to_sync(do_set_language)(user=account, language=language)
        self.stdout.write(
            self.style.SUCCESS(
                f"{user_label(update.user)}: language {previous} -> {update.user.native_language} "
                f"({update.language_updates} chat(s) updated)"
            )
        )

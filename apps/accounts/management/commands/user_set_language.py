from django.core.management.base import BaseCommand

from apps.accounts.languages import LANGUAGES_BY_CODE
from apps.accounts.management.commands._support import user_argument, user_label, user_resolve
from apps.accounts.services import user_profile_update
from apps.core.commands import command_errors


class Command(BaseCommand):
    help = (
        "Change an account's native language, as PATCH /api/auth/me does: the new language is "
        "recorded in each of its chats, so messages written from now on are translated into it. "
        f"Languages: {', '.join(LANGUAGES_BY_CODE)}."
    )

    def add_arguments(self, parser):
        user_argument(parser)
        parser.add_argument("language", help="language code, e.g. es")

    def handle(self, *args, user: str, language: str, **options):
        from apps.chats.services import chat_languages_refresh

        account = user_resolve(user)
        previous = account.native_language
        with command_errors("change the language"):
            account = user_profile_update(user=account, changes={"native_language": language})
            chats = chat_languages_refresh(user=account) if language != previous else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"{user_label(account)}: language {previous} -> {account.native_language} "
                f"({chats} chat(s) updated)"
            )
        )

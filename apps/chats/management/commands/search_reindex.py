from django.core.management.base import BaseCommand, CommandError

from apps.chats.search_index import chat_reindex, user_reindex
from apps.core.commands import command_errors


class Command(BaseCommand):
    help = (
        "Write the search index entries of one chat's messages (for its current members), or of "
        "every message in one user's chats (for that user): after a crash lost some, or for a "
        "member added to a chat after its messages were written. Reads by Query, never Scan; "
        "writing an entry twice changes nothing."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--chat", dest="chat_id", help="a chat's id")
        target.add_argument("--user", dest="user_id", help="a user's id")

    def handle(self, *args, chat_id: str | None, user_id: str | None, **options):
        with command_errors("reindex"):
            if chat_id is not None:
                written = chat_reindex(chat_id=chat_id)
                if written == 0:
                    from apps.chats.selectors import chat_get

                    if chat_get(chat_id=chat_id) is None:
                        raise CommandError(f"no chat with id {chat_id!r}")
                self.stdout.write(f"chat {chat_id}: {written} index entries written")
            else:
                written = user_reindex(user_id=user_id or "")
                self.stdout.write(f"user {user_id}: {written} index entries written")

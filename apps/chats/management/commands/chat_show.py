from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.selectors import user_get
from apps.chats.selectors import chat_get, chat_membership_get, map_as_dict, message_history
from apps.core.commands import command_errors, json_text, text_table

DEFAULT_MESSAGES = 20


class Command(BaseCommand):
    help = (
        "Show a chat for support: its members (username, language, read mark, unread count) and "
        "its most recent messages (sequence number, time, author, language, length, which "
        "translations are stored or owed). Message text is printed only with --show-text."
    )

    def add_arguments(self, parser):
        parser.add_argument("chat_id", help="the chat's id")
        parser.add_argument(
            "--messages",
            type=int,
            default=DEFAULT_MESSAGES,
            help=f"how many recent messages to list (default {DEFAULT_MESSAGES}, at most 200)",
        )
        parser.add_argument(
            "--show-text",
            action="store_true",
            help="also print each message's original text (only when the case needs it)",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON")

    def handle(self, *args, chat_id: str, messages: int, show_text: bool, as_json: bool, **options):
        if not 0 <= messages <= 200:
            raise CommandError("--messages must be 0 to 200")
        with command_errors("read the chat"):
            chat = chat_get(chat_id=chat_id)
            if chat is None:
                raise CommandError(f"no chat with id {chat_id!r}")
            languages = map_as_dict(chat.member_languages)
            members = []
            usernames: dict[str, str] = {}
            for member_id in sorted(chat.member_ids):
                account = user_get(user_id=member_id)
                row = chat_membership_get(user_id=member_id, chat_id=chat_id)
                usernames[member_id] = account.username if account else "(no account)"
                members.append(
                    {
                        "user_id": member_id,
                        "username": usernames[member_id],
                        "language": languages.get(member_id),
                        "active": bool(account.is_active) if account else False,
                        "last_read_seq": int(row.last_read_seq) if row else None,
                        "unread_count": int(row.unread_count) if row else None,
                    }
                )
            page = (
                message_history(chat_id=chat_id, limit=messages, before_seq=None)
                if messages
                else None
            )
        recent: list[dict[str, Any]] = []
        for message in page.messages if page else []:
            entry: dict[str, Any] = {
                "seq": int(message.seq),
                "message_id": message.message_id,
                "timestamp": message.created_at.isoformat(timespec="seconds"),
                "from_user_id": message.from_user_id,
                "from": usernames.get(message.from_user_id, message.from_user_id),
                "language": message.original_language,
                "chars": len(message.original_text),
                "translations": sorted(map_as_dict(message.translations)),
                "pending": sorted(message.pending_languages or ()),
            }
            if show_text:
                entry["text"] = message.original_text
            recent.append(entry)
        summary = {
            "chat_id": chat.chat_id,
            "kind": chat.kind,
            "title": chat.title,
            "created_by": chat.created_by,
            "created_at": chat.created_at.isoformat(timespec="seconds"),
            "last_seq": int(chat.last_seq),
        }
        if as_json:
            self.stdout.write(json_text({**summary, "members": members, "messages": recent}))
            return
        for key, value in summary.items():
            self.stdout.write(f"{key + ':':<12}{value}")
        self.stdout.write(f"\nmembers ({len(members)}):")
        self.stdout.write(
            text_table(
                ("USERNAME", "USER ID", "LANGUAGE", "ACTIVE", "READ UP TO", "UNREAD"),
                [
                    (
                        member["username"],
                        member["user_id"],
                        member["language"],
                        "yes" if member["active"] else "no",
                        member["last_read_seq"],
                        member["unread_count"],
                    )
                    for member in members
                ],
            )
        )
        self.stdout.write(f"\nlatest {len(recent)} message(s), newest first:")
        headers = ["SEQ", "TIME", "FROM", "LANG", "CHARS", "TRANSLATED", "OWED"]
        if show_text:
            headers.append("TEXT")
        rows = []
        for entry in recent:
            cells: list[Any] = [
                entry["seq"],
                entry["timestamp"],
                entry["from"],
                entry["language"],
                entry["chars"],
                ",".join(entry["translations"]) or "-",
                ",".join(entry["pending"]) or "-",
            ]
            if show_text:
                cells.append(entry["text"].replace("\n", " "))
            rows.append(cells)
        self.stdout.write(text_table(headers, rows))

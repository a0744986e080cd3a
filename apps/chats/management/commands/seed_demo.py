import asyncio
import logging
import secrets

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.actions import do_signup
from apps.accounts.selectors import user_get_by_username
from apps.chats import actions, events
from apps.chats.models import CHAT_KIND_GROUP
from apps.chats.selectors import chat_get, chat_inbox
from apps.chats.translation import translation_configured
from apps.core.commands import command_errors
from apps.core.concurrency import run_blocking

# username, first name, last name, language
DEMO_USERS = (
    ("demo_emma", "Emma", "Walker", "en"),
    ("demo_lucia", "Lucía", "García", "es"),
    ("demo_camille", "Camille", "Dubois", "fr"),
    ("demo_haruto", "Haruto", "Sato", "ja"),
)
GROUP_TITLE = "Around the world (demo)"
QUIET_WITHOUT_TRANSLATOR = (
    "apps.chats.live_translation",
    "apps.chats.late_translations",
    "apps.chats.translation",
)
# (chat key, author, text); each gets client_msg_id "seed-<key>-<n>", so a rerun sends nothing new.
DEMO_MESSAGES = (
    ("emma-lucia", "demo_emma", "Hi Lucía! Are we still on for coffee tomorrow?"),
    ("emma-lucia", "demo_lucia", "¡Hola Emma! Sí, claro. ¿A las diez en el café de siempre?"),
    ("emma-lucia", "demo_emma", "Perfect, see you at ten."),
    ("camille-haruto", "demo_camille", "Bonjour Haruto, tu as reçu les photos du voyage ?"),
    ("camille-haruto", "demo_haruto", "はい、受け取りました！京都の写真が特に素敵ですね。"),
    ("camille-haruto", "demo_camille", "Merci ! On y retourne l'année prochaine ?"),
    ("group", "demo_emma", "Welcome to the group, everyone!"),
    ("group", "demo_lucia", "¡Gracias! Qué bien poder hablar todos juntos."),
    ("group", "demo_camille", "Salut à tous ! Chacun écrit dans sa langue."),
    ("group", "demo_haruto", "こんにちは！みんなの言葉で読めるのはすごいですね。"),
)


class Command(BaseCommand):
    help = (
        "Create demo data: four users writing English, Spanish, French and Japanese "
        f"({', '.join(user[0] for user in DEMO_USERS)}), two 1:1 chats and a group, with "
        "messages sent through the real send path (translated when OPENAI_API_KEY is set, "
        "stored untranslated otherwise). Idempotent: existing users, chats and messages are "
        "left as they are (an existing user's password is not changed). New users get the "
        "--password given, or one random password that is printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help="password for the demo users created now (default: a random one, printed)",
        )

    def handle(self, *args, password: str | None, **options):
        generated = password is None
        if password is None:
            password = secrets.token_urlsafe(12)
        with command_errors("seed demo data"):
            users, created = self._users(password)
            quiet = []
            if not translation_configured():
                self.stdout.write(
                    "translation is not configured (OPENAI_API_KEY unset): "
                    "messages are stored untranslated"
                )
                # Each message would log a warning per language; expected here, so hushed.
                quiet = [logging.getLogger(name) for name in QUIET_WITHOUT_TRANSLATOR]
            levels = [logger.level for logger in quiet]
            for logger in quiet:
                logger.setLevel(logging.ERROR)
            try:
                chats, sent, existing = asyncio.run(self._chats_and_messages(users))
            finally:
                for logger, level in zip(quiet, levels, strict=True):
                    logger.setLevel(level)
        self.stdout.write(
            f"messages: {sent} sent, {existing} already there; chats: {', '.join(chats.values())}"
        )
        if created:
            shown = f"{password} (random; shown once)" if generated else "as given with --password"
            self.stdout.write(f"password of the users created now: {shown}")
        self.stdout.write(self.style.SUCCESS("demo data ready"))

    def _users(self, password: str):
        users, created = {}, []
        for username, first_name, last_name, language in DEMO_USERS:
            user = user_get_by_username(username=username)
            if user is None:
                user = async_to_sync(do_signup)(
                    username=username,
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                    native_language=language,
                )
                created.append(username)
                self.stdout.write(f"created user {username} ({language})")
            else:
                if not user.is_active:
                    raise CommandError(f"demo user {username} is disabled; enable it first")
                self.stdout.write(f"exists  user {username} ({user.native_language})")
            users[username] = user
        return users, created

    async def _chats_and_messages(self, users) -> tuple[dict[str, str], int, int]:
        chats = await self._chats(users)
        sent, existing = await self._messages(users, chats)
        return chats, sent, existing

    async def _chats(self, users) -> dict[str, str]:
        emma, lucia = users["demo_emma"], users["demo_lucia"]
        camille, haruto = users["demo_camille"], users["demo_haruto"]
        chats = {
            "emma-lucia": await actions.do_create_direct_chat(
                user=emma, other_username=lucia.username
            ),
            "camille-haruto": await actions.do_create_direct_chat(
                user=camille, other_username=haruto.username
            ),
        }
        chat_ids = {key: created.membership.chat_id for key, created in chats.items()}
        inbox = await run_blocking(chat_inbox)(user_id=emma.user_id)
        group = next(
            (row for row in inbox if row.kind == CHAT_KIND_GROUP and row.title == GROUP_TITLE),
            None,
        )
        if group is None:
            created = await actions.do_create_group_chat(
                user=emma,
                title=GROUP_TITLE,
                usernames=[lucia.username, camille.username, haruto.username],
            )
            chat_ids["group"] = created.membership.chat_id
        else:
            chat_ids["group"] = group.chat_id
            # A demo user deleted and seeded again is a new account: bring it back in.
            chat = await run_blocking(chat_get)(chat_id=group.chat_id)
            for other in (lucia, camille, haruto):
                if chat is not None and other.user_id not in chat.member_ids:
                    await actions.do_add_member(
                        user=emma, chat_id=group.chat_id, username=other.username
                    )
        return chat_ids

    async def _messages(self, users, chats) -> tuple[int, int]:
        sent = existing = 0
        counters: dict[str, int] = {}
        for key, author, text in DEMO_MESSAGES:
            counters[key] = counters.get(key, 0) + 1
            outcome = await actions.do_send_message(
                user=users[author],
                chat_id=chats[key],
                text=text,
                client_msg_id=f"seed-{key}-{counters[key]}",
            )
            if outcome.duplicate:
                existing += 1
            else:
                sent += 1
        # Open sockets see the messages arrive; the broadcasts go out from a task of their own.
        await events.broadcasts_settle(timeout=5)
        return sent, existing

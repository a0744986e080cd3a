"""Seeds the front end's performance run (npm run perf) straight into a DynamoDB endpoint.

Run by e2e-perf/global-setup.ts with the repository's Python, from the repository root:

    DYNAMODB_ENDPOINT=http://127.0.0.1:PORT python frontend/scripts/perf_seed.py \
        --messages 10000 --chats 500

It makes three users (the reader writes English, the others Spanish and French), `--chats - 1`
groups of the three and one direct chat whose history holds `--messages` messages, and prints
one JSON line: {"username", "password", "big_chat_id", "chats", "messages"}.

The history is written in batches (one item per message, as the send path stores it, with its
translation), all but the last; the last goes through the real commit (services.message_commit),
so the chat's counter and both members' inbox rows are as the send path leaves them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commonality.settings")
os.environ.setdefault("ENVIRONMENT", "development")

WORDS = (
    *("coffee", "tomorrow", "morning", "photos", "trip", "Lisbon", "train", "ticket"),
    *("weather", "sunny", "rain", "museum", "dinner", "friends", "music", "concert"),
    *("book", "library", "garden", "weekend", "market", "bread", "cheese"),
)


def text_of(seq: int) -> str:
    # Lengths vary (one line to several), so rows have different heights.
    count = 3 + (seq * 7919) % 40
    return f"#{seq} " + " ".join(WORDS[(seq + i * 3) % len(WORDS)] for i in range(count))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--password", default="correct horse battery")
    args = parser.parse_args()

    import django

    django.setup()
    from asgiref.sync import async_to_sync

    from apps.accounts.actions import do_signup
    from apps.chats.models import Chat, Message, message_sort_key
    from apps.chats.selectors import chat_get
    from apps.chats.services import (
        MessageDraft,
        chat_direct_create,
        chat_group_create,
        message_commit,
    )
    from apps.core.dynamo import dynamo_configure_from_settings, dynamo_tables_create

    dynamo_configure_from_settings()
    dynamo_tables_create(development=True, wait_seconds=30)

    suffix = uuid.uuid4().hex[:8]
    people = {}
    for key, first, language in (("me", "Ava", "en"), ("es", "Beto", "es"), ("fr", "Chloe", "fr")):
        people[key] = async_to_sync(do_signup)(
            username=f"perf_{key}_{suffix}",
            password=args.password,
            first_name=first,
            last_name="Perf",
            native_language=language,
        )
    me, es, fr = people["me"], people["es"], people["fr"]

    for i in range(max(args.chats - 1, 0)):
        chat_group_create(user=me, title=f"Group {i + 1}", usernames=[es.username, fr.username])

    chat_id = chat_direct_create(user=me, other_username=es.username).membership.chat_id
    start = datetime.now(UTC) - timedelta(minutes=args.messages)

    def draft(seq: int) -> MessageDraft:
        mine = seq % 3 != 0
        text = text_of(seq)
        return MessageDraft(
            chat_id=chat_id,
            message_id=str(uuid.uuid4()),
            from_user_id=(me if mine else es).user_id,
            original_text=text if mine else f"(es) {text}",
            original_language="en" if mine else "es",
            translations={"es": f"(es) {text}"} if mine else {"en": text},
            pending_languages=frozenset(),
            client_msg_id=None,
            created_at=start + timedelta(minutes=seq),
        )

    with Message.batch_write() as batch:
        for seq in range(1, args.messages):
            d = draft(seq)
            batch.save(
                Message(
                    chat_id,
                    message_sort_key(seq),
                    message_id=d.message_id,
                    seq=seq,
                    from_user_id=d.from_user_id,
                    original_text=d.original_text,
                    original_language=d.original_language,
                    translations=dict(d.translations),
                    created_at=d.created_at,
                )
            )
    chat = chat_get(chat_id=chat_id)
    assert chat is not None
    chat.update(actions=[Chat.last_seq.set(args.messages - 1)])
    message_commit(draft=draft(args.messages), chat=chat_get(chat_id=chat_id))
    sys.stdout.write(
        json.dumps(
            {
                "username": me.username,
                "password": args.password,
                "big_chat_id": chat_id,
                "chats": args.chats,
                "messages": args.messages,
            }
        )
        + "\n"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

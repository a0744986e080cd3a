#!/usr/bin/env python3
"""What the client libraries alone cost per chat message: the calls a 1:1 send makes through
them, made by the app's own functions at a steady rate, with no Daphne, no sockets and none of
the app's orchestration (admission, turns' bookkeeping aside, frames, presence, sweepers).
Prints this process's CPU per message for each library's share, each run alone, and for all of
them together, to set beside Daphne's CPU per message from bench/chat_load.py.

    .venv/bin/python bench/sdk_floor.py                    # 20 and 75 messages/s, 20 s each
    .venv/bin/python bench/sdk_floor.py --rates 75 --duration 30

Per message, as a 1:1 send with search on makes them (README "CPU per message"):
- *commit*: the message's TransactWriteItems through PynamoDB and botocore
  (`sending.message_commit_in_turn`, the app's blocking pool);
- *index*: its search index entries through the app's queue (`search_index_later`), which
  writes the entries of a quarter second's messages together, 25 to a BatchWriteItem;
- *translation*: one streamed translation through the OpenAI SDK (`translation_stream`)
  from the loopback fake provider (tests/support/fake_openai.py, no delay: the delay is wall
  time, not CPU);
- *redis*: the client-id claim and the rate limit (redis-py, the app's key-value store) and
  the message frame's group sends to both members (the app's channel layer on redis-server).

moto, redis-server and the fake provider run in processes of their own; only this process's
CPU is counted. Each share is run alone (less what the process costs idle at that rate), then all of a message's calls together ("all"), so
that what they cost each other (the pool, the GIL, cold caches between messages) shows. Once warm, the process freezes its start-up heap
out of the garbage collector, as the app does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chat_load import process_cpu_seconds  # noqa: E402
from bench.dynamo_alone import (  # noqa: E402
    chats_create,
    django_start,
    message_commit_as,
    rate_list,
)
from bench.stack import fake_provider_start  # noqa: E402
from tests.support.servers import dynamo_server_start, redis_server_start  # noqa: E402

SHARES = ("commit", "index", "translation", "redis")
TARGET_MS = 5.0


def message_text(number: int) -> str:
    """bench/chat_load.py's text (and dynamo_alone's commit's), so that the translation
    streams as many tokens."""
    return f"bench-{number} hello from the load test"


def direction(entry: dict, number: int, chats: int) -> tuple[object, str, str]:
    """(sender, source, target): messages alternate direction in each chat, as in chat_load."""
    if (number // chats) % 2 == 0:
        return entry["english"], "en", "es"
    return entry["spanish"], "es", "en"


async def commit(entry: dict, number: int, chats: int) -> object:
    sender, _, _ = direction(entry, number, chats)
    return await message_commit_as(entry, sender, number)


def index(committed) -> None:
    from apps.chats.search_index import search_index_later

    search_index_later(
        message=committed.message,
        member_languages=committed.member_languages,
        read_languages=committed.read_languages,
    )


async def translation(entry: dict, number: int, chats: int) -> str:
    from apps.chats.translation import translation_stream

    _, source, target = direction(entry, number, chats)
    whole = ""
    async for partial in translation_stream(
        text=message_text(number), source_language=source, target_language=target
    ):
        whole = partial
    return whole


async def redis_calls(entry: dict, number: int, chats: int) -> None:
    from apps.chats.sending import client_msg_id_claim, message_rate_limit_check
    from apps.core.delivery import frames_deliver

    sender, source, _ = direction(entry, number, chats)
    await message_rate_limit_check(user_id=sender.user_id)
    await client_msg_id_claim(
        chat_id=entry["chat"].chat_id, user_id=sender.user_id, client_msg_id=f"r{number}"
    )
    frame = {
        "type": "message",
        "chat_id": entry["chat"].chat_id,
        "seq": number,
        "from_user_id": sender.user_id,
        "original_text": message_text(number),
        "original_language": source,
        "text": message_text(number),
        "created_at": datetime.now(UTC).isoformat(),
    }
    members = [entry["english"].user_id, entry["spanish"].user_id]
    await frames_deliver(members, frame)


def message_calls(share: str) -> Callable[[dict, int, int], Awaitable[None]]:
    async def one(entry: dict, number: int, chats: int) -> None:
        # "idle": the process's own cost while it waits between messages.
        if share in ("translation", "all"):
            await translation(entry, number, chats)
        if share in ("redis", "all"):
            await redis_calls(entry, number, chats)
        if share in ("commit", "index", "all"):
            committed = await commit(entry, number, chats)
            if share in ("index", "all"):
                index(committed)

    return one


async def step(
    *, chats: list[dict], share: str, rate: float, duration: float, first: int
) -> tuple[int, float]:
    """Run `share`'s calls for rate × duration messages, spread evenly, until the index queue
    has written what they gave it; returns (messages, CPU seconds of this process)."""
    from apps.chats.search_index import search_index_flush

    calls = message_calls(share)
    total = int(rate * duration)
    cpu_before = process_cpu_seconds(os.getpid())
    started = time.perf_counter()
    tasks = []
    for offset in range(total):
        number = first + offset
        delay = started + offset / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(calls(chats[number % len(chats)], number, len(chats))))
    await asyncio.gather(*tasks)
    await search_index_flush()
    return total, process_cpu_seconds(os.getpid()) - cpu_before


async def main_async(options: argparse.Namespace) -> None:
    moto = dynamo_server_start(gc_off=True)
    redis = redis_server_start()
    translator, translator_url = fake_provider_start("tests.support.fake_openai", "--delay", "0")
    os.environ.update(
        OPENAI_BASE_URL=translator_url,
        OPENAI_API_KEY="bench-key",
        REDIS_URL=redis.url,
    )
    try:
        django_start(moto.url)
        chats = chats_create(options.chats)
        print(
            f"{options.chats} 1:1 chats (en and es); {options.duration:g} s per step; "
            f"loadavg {Path('/proc/loadavg').read_text().split()[0]}",
            flush=True,
        )
        number = 0
        # Warm-up: each chat's first commit, the pool's threads, the clients' connections.
        done, _ = await step(
            chats=chats, share="all", rate=25, duration=2 * len(chats) / 25, first=number
        )
        number += done
        # As a warm serving process does (apps/core/garbage_collection.py).
        from apps.core.garbage_collection import garbage_collection_freeze_start_up

        garbage_collection_freeze_start_up()
        header = " | ".join(f"{share} alone" for share in SHARES)
        print(
            f"| Messages/s | {header} | sum of the shares | all of a message's calls together "
            "(idle included) | idle process |"
        )
        print("|---" * (len(SHARES) + 4) + "|")
        for rate in options.rates:
            figures = {}
            for share in ("idle", *SHARES, "all"):
                done, cpu = await step(
                    chats=chats, share=share, rate=rate, duration=options.duration, first=number
                )
                number += done
                figures[share] = cpu * 1000 / max(done, 1)
            # Each share alone is counted above the idle process, and the index share ran with
            # its commits (it indexes what they stored): theirs is taken off.
            for share in SHARES:
                figures[share] -= figures["idle"]
            figures["index"] -= figures["commit"]
            shares = " | ".join(f"{figures[share]:.2f} ms" for share in SHARES)
            total = sum(figures[share] for share in SHARES)
            print(
                f"| {rate:g} | {shares} | {total:.2f} ms | {figures['all']:.2f} ms "
                f"({'over' if figures['all'] > TARGET_MS else 'within'} the {TARGET_MS:g} ms "
                f"target before any socket, frame or app code) | {figures['idle']:.2f} ms |",
                flush=True,
            )
    finally:
        translator.terminate()
        redis.stop()
        moto.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument(
        "--rates",
        type=rate_list,
        default=[20, 75],
        help="messages per second, comma-separated, one set of steps each",
    )
    parser.add_argument("--duration", type=float, default=20, help="seconds per step")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

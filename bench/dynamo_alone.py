#!/usr/bin/env python3
"""The DynamoDB stand-in alone: the per-message DynamoDB request of a chat send (one
TransactWriteItems, made by the app's own commit code) against moto's server at the chat
benchmarks' rates, with no Daphne, Redis or translator. Prints moto's latency and its CPU per
request, so that the share of a chat benchmark's latency that is the stand-in's can be told
from the app's.

    .venv/bin/python bench/dynamo_alone.py                       # moto alone on the last core
    .venv/bin/python bench/dynamo_alone.py --rates 75 --no-pin   # sharing the cores

The commits go through `apps.chats.sending.message_commit_in_turn` (the app's per-chat turns,
its thread pool and `services.message_commit`), in 1:1 chats between English and Spanish users
made by the app's services, with a Spanish translation already in the draft, as a send with a
quick translator commits it. Messages alternate direction and are spread evenly over time
across the chats, as in bench/chat_load.py.

"Commit" latency is the whole call as the app makes it: its turn, the pool, botocore building
and signing the request, moto, and parsing the answer. "Stand-in" latency is the HTTP
exchange alone (from botocore sending the request to its answer parsed, each attempt on its
own), which is what moto adds. By default moto runs alone on the last core and this process on the others (taskset),
so moto's figures are those of a stand-in that does not share a core with the app.
`--moto-gc-off` runs moto with Python's garbage collector off: what is left of its tail then
is not its collection pauses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chat_load import percentile, process_cpu_seconds  # noqa: E402
from tests.support.servers import (  # noqa: E402
    dynamo_server_start,
)


def cores_pin(pid: int, cpus: str) -> None:
    """Pin every thread of `pid` to `cpus`; threads it starts later inherit it."""
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True, capture_output=True)


def django_start(dynamo_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="commonality.settings",
        ENVIRONMENT="development",
        DEBUG="false",
        LOG_LEVEL="WARNING",
        DYNAMODB_ENDPOINT=dynamo_url,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
    )
    import django

    django.setup()
    from apps.core.dynamo import dynamo_configure_from_settings, dynamo_tables_create

    dynamo_configure_from_settings()
    dynamo_tables_create(development=True, wait_seconds=30)


class ExchangeTimer:
    """Times each TransactWriteItems' HTTP exchange on the app's botocore client."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.started: dict[int, float] = {}
        from apps.core.dynamo import dynamo_client

        events = dynamo_client().meta.events
        events.register("before-send.dynamodb.TransactWriteItems", self.before_send)
        events.register("response-received.dynamodb.TransactWriteItems", self.received)

    def before_send(self, request, **_) -> None:
        self.started[threading.get_ident()] = time.perf_counter()

    def received(self, **_) -> None:
        began = self.started.pop(threading.get_ident(), None)
        if began is not None:
            self.seconds.append(time.perf_counter() - began)


def chats_create(count: int) -> list[dict]:
    """`count` 1:1 chats, each between an English and a Spanish user, made by the services."""
    from apps.accounts.services import user_account_store, user_signup_check
    from apps.chats.selectors import chat_get
    from apps.chats.services import chat_direct_create, direct_chat_id

    stamp = int(time.time())
    chats = []
    for index in range(count):
        people = []
        for language in ("en", "es"):
            account = user_signup_check(
                username=f"{language}{index}_{stamp}",
                password=f"bench-{uuid.uuid4().hex}",
                first_name="Bench",
                last_name=language,
                native_language=language,
            )
            # No hashing: nobody logs in here.
            people.append(user_account_store(account=account, password_hash="!"))
        english, spanish = people
        chat_direct_create(user=english, other_username=spanish.username)
        chat_id = direct_chat_id(english.user_id, spanish.user_id)
        chats.append(dict(english=english, spanish=spanish, chat=chat_get(chat_id=chat_id)))
    return chats


async def commit_one(entry: dict, sender, number: int) -> float:
    started = time.perf_counter()
    await message_commit_as(entry, sender, number)
    return time.perf_counter() - started


async def message_commit_as(entry: dict, sender, number: int):
    """Commit message `number` from `sender` into `entry`'s chat; returns the commit's result."""
    from apps.chats import services
    from apps.chats.chat_snapshots import chat_snapshots
    from apps.chats.sending import message_commit_in_turn

    text = f"bench-{number} hello from the load test"
    source, target = ("en", "es") if sender is entry["english"] else ("es", "en")
    draft = services.MessageDraft(
        chat_id=entry["chat"].chat_id,
        message_id=uuid.uuid4().hex,
        from_user_id=sender.user_id,
        original_text=text,
        original_language=source,
        translations={target: f"[{target}] {text}"},
        pending_languages=frozenset(),
        client_msg_id=f"d{number}",
        created_at=datetime.now(UTC),
    )
    committed = await message_commit_in_turn(draft=draft, chat=entry["chat"], commit_after=None)
    # What the app's send does next: the next send in this chat starts from this copy.
    entry["chat"] = committed.chat
    chat_snapshots.put(committed.chat)
    return committed


async def step(chats: list[dict], rate: float, duration: float, first: int, moto_pid: int):
    timer = exchange_timer
    timer.seconds.clear()
    total = int(rate * duration)
    moto_before = process_cpu_seconds(moto_pid)
    own_before = process_cpu_seconds(os.getpid())
    started = time.perf_counter()
    tasks = []
    for offset in range(total):
        number = first + offset
        entry = chats[number % len(chats)]
        sender = entry["english"] if (number // len(chats)) % 2 == 0 else entry["spanish"]
        delay = started + offset / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(commit_one(entry, sender, number)))
    commits = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    moto_cpu = process_cpu_seconds(moto_pid) - moto_before
    own_cpu = process_cpu_seconds(os.getpid()) - own_before
    return dict(
        rate=rate,
        total=total,
        achieved=total / elapsed,
        commit_ms=[seconds * 1000 for seconds in commits],
        exchange_ms=[seconds * 1000 for seconds in timer.seconds],
        requests=len(timer.seconds),
        moto_cpu=moto_cpu,
        own_cpu=own_cpu,
        elapsed=elapsed,
    )


exchange_timer: ExchangeTimer


async def main_async(options: argparse.Namespace) -> None:
    global exchange_timer
    cpus = os.cpu_count() or 1
    moto = dynamo_server_start(gc_off=options.moto_gc_off)
    try:
        if options.pin and cpus > 1:
            cores_pin(moto.process.pid, str(cpus - 1))
            cores_pin(os.getpid(), f"0-{cpus - 2}" if cpus > 2 else "0")
        django_start(moto.url)
        exchange_timer = ExchangeTimer()
        chats = chats_create(options.chats)
        print(
            f"moto alone{' on core ' + str(cpus - 1) + ', this process on the other' if options.pin else ', unpinned'}; "
            f"{'its garbage collector off; ' if options.moto_gc_off else ''}"
            f"{options.chats} chats; {options.duration:g} s per rate; "
            f"loadavg {Path('/proc/loadavg').read_text().split()[0]}",
            flush=True,
        )
        number = 0
        # Warm-up: every chat's first commit, and the pool's threads and connections.
        await step(chats, 25, 2 * len(chats) / 25, number, moto.process.pid)
        number += 2 * len(chats)
        print(
            "| Rate, TransactWriteItems/s | commit p50 / p99 (the app's call) | "
            "stand-in exchange p50 / p99 / max (over 50 ms) | moto CPU per request | moto busy | "
            "this process's CPU per commit (botocore, PynamoDB, pool) |"
        )
        print("|---|---|---|---|---|---|")
        for rate in options.rates:
            result = await step(chats, rate, options.duration, number, moto.process.pid)
            number += result["total"]
            commit, exchange = result["commit_ms"], result["exchange_ms"]
            requests = max(result["requests"], 1)
            print(
                f"| {rate:g} ({result['achieved']:.1f} done) | "
                f"{percentile(commit, 0.5):.1f} / {percentile(commit, 0.99):.1f} ms | "
                f"{percentile(exchange, 0.5):.1f} / {percentile(exchange, 0.99):.1f} / "
                f"{max(exchange, default=float('nan')):.0f} ms "
                f"({sum(1 for ms in exchange if ms > 50)} of {len(exchange)}) | "
                f"{result['moto_cpu'] * 1000 / requests:.2f} ms | "
                f"{result['moto_cpu'] / result['elapsed'] * 100:.0f}% of a core | "
                f"{result['own_cpu'] * 1000 / max(result['total'], 1):.2f} ms |"
                + (
                    f" ({result['requests'] - result['total']} retried)"
                    if result["requests"] > result["total"]
                    else ""
                ),
                flush=True,
            )
    finally:
        moto.stop()


def rate_list(text: str) -> list[float]:
    """A `--rates` value: comma-separated numbers."""
    return [float(number) for number in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument(
        "--rates",
        type=rate_list,
        default=[10, 20, 35, 50, 75, 90, 110],
        help="requests per second, comma-separated, one step each",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per rate")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="let moto share every core"
    )
    parser.add_argument(
        "--moto-gc-off",
        action="store_true",
        help="run moto with Python's garbage collector off (its collection pauses are its tail)",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

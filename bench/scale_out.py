#!/usr/bin/env python3
"""Scale-out: 1, 2 and 3 Daphne instances on one redis-server and one moto (the DynamoDB
stand-in), with the users spread across the instances so that every pair's two people are on
different instances and each message crosses from one instance to another over the Redis
channel layer. Prints, for each number of instances, what a fixed rate costs and the highest
rate sustained. Each N starts a fresh stack.

    .venv/bin/python bench/scale_out.py --instances 1,2,3
    .venv/bin/python bench/scale_out.py --instances 2 --rate 75 --rates 60,75,90,105,120
    .venv/bin/python bench/scale_out.py --instances 1 --pin      # moto alone on the last core

The load client is bench/chat_load.py's (its participants, reader, busy resends and
measuring helpers): N English/Spanish pairs in 1:1 chats, messages alternating direction and
spread evenly over time across the pairs. Latency is from when the message is written to the
reader's final, translated `message` frame, time in the outbox included.

"Sustained" is the highest of the rising rates (`--rates`, `--step-duration` seconds each)
at which nothing was lost, nothing was refused `busy`, at least 95% of the offered rate was
delivered while sending, and the p99 stayed within `--p99-max-ms`.

CPU per message is process CPU (user + system, from /proc) over the messages delivered: the
Daphne figure is the sum over the instances. On a 2-core machine the instances, moto, Redis,
the translator and this client all share the same two cores, so more instances cannot add
capacity here: the figures show what cross-instance delivery costs, not how it scales.

`--pin` separates moto's share: moto runs alone on the last core (taskset), everything else
(Daphne, Redis, the translator, this client) on the others. `--count-dynamo` puts
bench/chat_load.py's counting proxy in front of moto and prints DynamoDB requests per message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from bench.chat_load import (  # noqa: E402
    CountingProxy,
    Participant,
    Refusals,
    percentile,
    process_cpu_seconds,
    process_rss_mb,
    reader,
    redis_commands,
)
from bench.stack import Stack, stack_running  # noqa: E402
from tests.support.http import http_json, http_post, signup  # noqa: E402

IDLE_SECONDS = 5.0


def cores_pin(pid: int, cpus: str) -> None:
    """Pin every thread of `pid` to `cpus`; threads it starts later inherit it."""
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True, capture_output=True)


@dataclass
class Pair:
    english: Participant
    spanish: Participant
    chat_id: str


@dataclass
class StepResult:
    offered: float
    sent: int
    delivered: int
    in_window_rate: float
    latencies_ms: list[float]
    busy: int
    other_errors: int
    daphne_cpu: float
    daphne_cpu_each: list[float]
    moto_cpu: float
    redis_cpu: float
    redis_commands: int
    seconds: float
    # DynamoDB requests by operation, when counted (--count-dynamo).
    dynamo_requests: dict[str, int] | None = None

    @property
    def lost(self) -> int:
        return self.sent - self.delivered

    def per_message_ms(self, cpu_seconds: float) -> float:
        return cpu_seconds * 1000 / max(self.delivered, 1)

    def sustained(self, p99_max_ms: float) -> bool:
        return (
            self.lost == 0
            and self.busy == 0
            and self.in_window_rate >= 0.95 * self.offered
            and percentile(self.latencies_ms, 0.99) <= p99_max_ms
        )


class Load:
    """The people, spread over the instances, and the messages they send."""

    def __init__(self, stack: Stack, pairs: list[Pair], proxy: CountingProxy | None) -> None:
        self.stack = stack
        self.proxy = proxy
        self.pairs = pairs
        self.delivered: dict[str, float] = {}
        self.refusals = Refusals()
        self.numbered = 0  # messages sent so far over every step, so each text is new

    async def connect(self) -> None:
        instances = len(self.stack.ports)
        for index, pair in enumerate(self.pairs):
            # The two people of a pair on different instances whenever there are several.
            for person, home in (
                (pair.english, index % instances),
                (pair.spanish, (index + 1) % instances),
            ):
                person.socket = await websockets.connect(
                    f"{self.stack.ws_of(home)}/api/ws/chat?token={person.token}", max_queue=None
                )
                person.reader = asyncio.create_task(reader(person, self.delivered, self.refusals))

    async def close(self) -> None:
        for pair in self.pairs:
            for person in (pair.english, pair.spanish):
                await person.socket.close()
                person.reader.cancel()

    def cpu(self) -> tuple[list[float], float, float]:
        return (
            [process_cpu_seconds(process.pid) for process in self.stack.daphnes],
            process_cpu_seconds(self.stack.dynamo.process.pid),
            process_cpu_seconds(self.stack.redis.process.pid),
        )

    async def step(self, rate: float, duration: float, drain: float) -> StepResult:
        refusals = self.refusals
        refusals.deadline = float("inf")
        total = int(rate * duration)
        first = self.numbered
        self.numbered += total
        sent: dict[str, float] = {}
        daphne_before, moto_before, redis_before = self.cpu()
        commands_before = redis_commands(self.stack.redis.url)
        busy_before, other_before = refusals.busy, sum(refusals.other.values())
        if self.proxy is not None:
            self.proxy.counts.clear()
        started = time.perf_counter()
        for offset in range(total):
            number = first + offset
            pair = self.pairs[number % len(self.pairs)]
            sender = pair.english if (number // len(self.pairs)) % 2 == 0 else pair.spanish
            text = f"bench-{number} scale-out"
            delay = started + offset / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            client_msg_id = f"s{number}"
            payload = json.dumps(
                {"chat_id": pair.chat_id, "text": text, "client_msg_id": client_msg_id}
            )
            sent[text] = time.perf_counter()
            refusals.send(sender, pair.chat_id, client_msg_id, payload)
        refusals.deadline = time.perf_counter() + drain
        while (
            sum(1 for text in sent if text in self.delivered) < total
            and time.perf_counter() < refusals.deadline
        ):
            await asyncio.sleep(0.05)
        refusals.cancel()
        elapsed = time.perf_counter() - started
        daphne_after, moto_after, redis_after = self.cpu()
        commands = redis_commands(self.stack.redis.url) - commands_before
        window_end = started + duration
        latencies = [
            (self.delivered[text] - moment) * 1000
            for text, moment in sent.items()
            if text in self.delivered
        ]
        daphne_each = [after - before for before, after in zip(daphne_before, daphne_after)]
        return StepResult(
            offered=rate,
            sent=total,
            delivered=len(latencies),
            in_window_rate=sum(
                1 for text in sent if self.delivered.get(text, float("inf")) <= window_end
            )
            / duration,
            latencies_ms=latencies,
            busy=refusals.busy - busy_before,
            other_errors=sum(refusals.other.values()) - other_before,
            daphne_cpu=sum(daphne_each),
            daphne_cpu_each=daphne_each,
            moto_cpu=moto_after - moto_before,
            redis_cpu=redis_after - redis_before,
            redis_commands=sum(commands.values()),
            seconds=elapsed,
            dynamo_requests=dict(self.proxy.counts) if self.proxy is not None else None,
        )


def pairs_create(stack: Stack, count: int) -> list[Pair]:
    base = stack.http
    stamp = int(time.time())
    pairs = []
    for index in range(count):
        people = []
        for language in ("en", "es"):
            username = f"{language}{index}_{stamp}"
            person = Participant(username, signup(base, username, language))
            people.append(person)
        english, spanish = people
        chat_id = http_post(base, "/api/chats", {"username": spanish.name}, token=english.token)[
            "chat_id"
        ]
        for person in people:
            # The reader tells the other's messages from its own by user id.
            person.name = http_json(base, "GET", "/api/auth/me", token=person.token)[1]["user_id"]
        pairs.append(Pair(english, spanish, chat_id))
    return pairs


def step_line(label: str, result: StepResult, p99_max_ms: float) -> str:
    latencies = result.latencies_ms
    return (
        f"  {label:<22} offered {result.offered:6.1f}/s  delivered while sending "
        f"{result.in_window_rate:6.1f}/s  lost {result.lost:4d}  busy {result.busy:5d}  "
        f"p50 {percentile(latencies, 0.5):7.0f} ms  p99 {percentile(latencies, 0.99):7.0f} ms  "
        f"CPU/msg: daphne {result.per_message_ms(result.daphne_cpu):5.2f} ms "
        f"(each {'/'.join(f'{result.per_message_ms(c):.2f}' for c in result.daphne_cpu_each)})  "
        f"moto {result.per_message_ms(result.moto_cpu):5.2f} ms  "
        f"redis {result.per_message_ms(result.redis_cpu):5.2f} ms  "
        f"redis cmds/msg {result.redis_commands / max(result.delivered, 1):4.1f}"
        + ("" if not result.other_errors else f"  other errors {result.other_errors}")
        + ("  [sustained]" if result.sustained(p99_max_ms) else "")
        + (
            "\n    DynamoDB requests per message: "
            + ", ".join(
                f"{name} {count / max(result.sent, 1):.3f}"
                for name, count in sorted(result.dynamo_requests.items(), key=lambda kv: -kv[1])
            )
            if result.dynamo_requests is not None
            else ""
        )
    )


async def configuration(options: argparse.Namespace, instances: int) -> dict:
    cpus = os.cpu_count() or 1
    rest = f"0-{cpus - 2}" if cpus > 2 else "0"
    with stack_running() as stack:
        if options.pin:
            cores_pin(os.getpid(), rest)
            cores_pin(stack.dynamo.process.pid, str(cpus - 1))
            cores_pin(stack.redis.process.pid, rest)
        translator_url = stack.provider(
            "tests.support.fake_openai", "--delay", str(options.translator_delay)
        )
        if options.pin:
            cores_pin(stack.providers[-1].pid, rest)
        proxy = None
        if options.count_dynamo:
            proxy = CountingProxy(stack.dynamo.url)
            proxy.start_in_thread()
        stack.daphne_start(
            dynamo_url=proxy.url if proxy is not None else stack.dynamo.url,
            settings=dict(
                OPENAI_BASE_URL=translator_url,
                OPENAI_API_KEY="bench-key",
                LOG_LEVEL="WARNING",
                **dict(setting.split("=", 1) for setting in options.setting),
            ),
            stderr=subprocess.DEVNULL,
            instances=instances,
            cpus=rest if options.pin else None,
        )
        pairs = pairs_create(stack, options.pairs)
        load = Load(stack, pairs, proxy)
        await load.connect()
        await asyncio.sleep(1)
        # What each instance spends with its sockets open and nothing sent (timers, keepalives).
        idle_before, _, _ = load.cpu()
        await asyncio.sleep(IDLE_SECONDS)
        idle_after, _, _ = load.cpu()
        idle_share = [(a - b) / IDLE_SECONDS * 100 for b, a in zip(idle_before, idle_after)]
        print(
            f"N={instances}: {options.pairs} pairs, each pair's two people on different "
            f"instances{' (only one instance here)' if instances == 1 else ''}; "
            f"RSS per instance {', '.join(f'{process_rss_mb(p.pid):.0f}' for p in stack.daphnes)} MB; "
            f"idle CPU per instance {', '.join(f'{share:.1f}' for share in idle_share)}% of a core; "
            f"loadavg {Path('/proc/loadavg').read_text().split()[0]}",
            flush=True,
        )
        # Warm-up: each person sends once, so every chat's first send on each instance (which
        # reads the chat) and the pools' filling are not counted.
        await load.step(25, 2 * len(pairs) / 25, options.drain)
        fixed = await load.step(options.rate, options.duration, options.drain)
        print(step_line(f"fixed {options.rate:g}/s", fixed, options.p99_max_ms), flush=True)
        sustained = None
        climb = []
        for rate in options.rates:
            result = await load.step(rate, options.step_duration, options.drain)
            climb.append(result)
            print(step_line(f"rising {rate:g}/s", result, options.p99_max_ms), flush=True)
            if not result.sustained(options.p99_max_ms):
                break
            sustained = result
        await load.close()
        if proxy is not None:
            proxy.stop_in_thread()
        return dict(instances=instances, fixed=fixed, sustained=sustained, climb=climb)


def summary(options: argparse.Namespace, rows: list[dict]) -> None:
    print()
    print(
        f"| N | at {options.rate:g} msg/s: delivered msg/s | p50 / p99 | "
        "Daphne CPU per message (sum) | moto CPU per message | Redis CPU per message | "
        "sustained msg/s (p50 / p99 there) |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        fixed, sustained = row["fixed"], row["sustained"]
        at = (
            f"{sustained.offered:g} ({percentile(sustained.latencies_ms, 0.5):.0f} / "
            f"{percentile(sustained.latencies_ms, 0.99):.0f} ms)"
            if sustained
            else f"below {options.rates[0]:g}"
        )
        print(
            f"| {row['instances']} | {fixed.in_window_rate:.1f} (lost {fixed.lost}) | "
            f"{percentile(fixed.latencies_ms, 0.5):.0f} / {percentile(fixed.latencies_ms, 0.99):.0f} ms | "
            f"{fixed.per_message_ms(fixed.daphne_cpu):.2f} ms | "
            f"{fixed.per_message_ms(fixed.moto_cpu):.2f} ms | "
            f"{fixed.per_message_ms(fixed.redis_cpu):.2f} ms | {at} |"
        )


async def main_async(options: argparse.Namespace) -> None:
    print(
        f"translator delay {options.translator_delay * 1000:.0f} ms; fixed {options.rate:g}/s for "
        f"{options.duration:g} s; rising {', '.join(f'{r:g}' for r in options.rates)}/s for "
        f"{options.step_duration:g} s each; {os.cpu_count()} cores"
        + ("; moto pinned alone to the last core" if options.pin else ""),
        flush=True,
    )
    rows = [await configuration(options, instances) for instances in options.instances]
    summary(options, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--instances",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2, 3],
        help="comma-separated numbers of Daphne instances, one fresh stack each",
    )
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--rate", type=float, default=75, help="the fixed offered rate, msg/s")
    parser.add_argument("--duration", type=float, default=20, help="seconds at the fixed rate")
    parser.add_argument(
        "--rates",
        type=lambda text: [float(n) for n in text.split(",")],
        default=[60, 75, 90, 105, 120],
        help="rising rates, comma-separated; the climb stops at the first not sustained",
    )
    parser.add_argument("--step-duration", type=float, default=10)
    parser.add_argument("--drain", type=float, default=10, help="seconds to wait for stragglers")
    parser.add_argument("--translator-delay", type=float, default=0.2)
    parser.add_argument("--p99-max-ms", type=float, default=2000)
    parser.add_argument("--pin", action="store_true", help="moto alone on the last core")
    parser.add_argument(
        "--count-dynamo",
        action="store_true",
        help="count DynamoDB requests by operation, through bench/chat_load.py's proxy "
        "(which costs this client CPU)",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an app setting for every Daphne, e.g. SENDS_IN_FLIGHT_MAX=48 (repeatable)",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

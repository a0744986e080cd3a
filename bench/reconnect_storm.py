#!/usr/bin/env python3
"""Reconnect storm benchmark: every client of a freshly started Daphne reconnects at once, as
after a deploy or a crash. Prints handshake times and Daphne's memory.

    .venv/bin/python bench/reconnect_storm.py
    .venv/bin/python bench/reconnect_storm.py --sockets 200 --wait port

The users (one per socket, each in a 1:1 chat with another) sign up on a first Daphne, which
is then stopped. A second, fresh Daphne starts against the same moto and redis-server; the
benchmark waits for its `GET /api/ready` to answer 200 (`--wait port`: only for its port to
open, as a client racing the deploy would), then opens every socket at the same moment with
the contract's `?token=`. Two times per socket, from the moment its connect began:

- open: the handshake's 101 arrived (the socket is authenticated and accepted);
- usable: the answer to a `ping` sent right after open arrived (the server finished its
  connect work: the socket's place, its group subscription).

With --storms 2 or more, the same sockets reconnect again on the same, now warm, instance
(a reference for what is left of the cold start). A socket that is not usable within
--timeout seconds, or is closed, counts as failed. RSS is
Daphne's resident memory (VmRSS): once ready, at its peak during the storm (sampled every
10 ms), and after. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402
from aiohttp import ClientSession  # noqa: E402

from bench.stack import Stack, stack_running  # noqa: E402

PASSWORD = "a long and unguessable passphrase"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def post(session: ClientSession, url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.post(url, json=body, headers=headers) as response:
        reply = await response.json()
        assert response.status in (200, 201), (response.status, reply)
        return reply


async def users_create(stack: Stack, count: int) -> list[str]:
    """`count` users in 1:1 chats (pairs); their access tokens."""
    stamp = int(time.time())
    limit = asyncio.Semaphore(8)

    async def signup(session: ClientSession, index: int) -> str:
        async with limit:
            reply = await post(
                session,
                f"{stack.http}/api/auth/signup",
                {
                    "username": f"storm{index}_{stamp}",
                    "password": PASSWORD,
                    "first_name": "Storm",
                    "last_name": f"User{index}",
                    "native_language": "en" if index % 2 == 0 else "es",
                },
            )
            return reply["access_token"]

    async with ClientSession() as session:
        tokens = await asyncio.gather(*(signup(session, index) for index in range(count)))
        for index in range(0, count - 1, 2):
            await post(
                session,
                f"{stack.http}/api/chats",
                {"username": f"storm{index + 1}_{stamp}"},
                token=tokens[index],
            )
    return list(tokens)


async def ready_wait(stack: Stack, timeout: float) -> float:
    """Seconds from now until GET /api/ready answers 200."""
    started = time.perf_counter()
    async with ClientSession() as session:
        while True:
            try:
                async with session.get(f"{stack.http}/api/ready") as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                pass
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"/api/ready not 200 after {timeout:.0f} s")
            await asyncio.sleep(0.05)


async def socket_open(
    url: str, start: asyncio.Event, timeout: float, kept: list
) -> tuple[str, float, float]:
    """(outcome, seconds to open, seconds to usable) of one socket."""
    await start.wait()
    began = time.perf_counter()
    opened = float("nan")
    try:
        async with asyncio.timeout(timeout):
            socket = await websockets.connect(url, open_timeout=None)
            opened = time.perf_counter() - began
            await socket.send(json.dumps({"type": "ping"}))
            while True:
                frame = json.loads(await socket.recv())
                if frame.get("type") == "pong":
                    break
            usable = time.perf_counter() - began
    except TimeoutError:
        return "timed out", opened, float("nan")
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else "none"
        return f"closed {code}", opened, float("nan")
    except (OSError, websockets.InvalidHandshake) as error:
        return type(error).__name__, opened, float("nan")
    # Left open until every socket is done, as reconnected clients would be.
    kept.append(socket)
    return "usable", opened, usable


async def rss_sampler(pid: int, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], process_rss_mb(pid))
        await asyncio.sleep(0.01)


async def storm(
    stack: Stack, tokens: list[str], options: argparse.Namespace, *, title: str
) -> None:
    pid = stack.daphne.pid
    before = process_rss_mb(pid)
    peak = [before]
    stop = asyncio.Event()
    sampler = asyncio.create_task(rss_sampler(pid, peak, stop))
    start = asyncio.Event()
    urls = [
        f"{stack.ws}/api/ws/chat?token={tokens[index % len(tokens)]}"
        for index in range(options.sockets)
    ]
    kept: list = []
    tasks = [asyncio.create_task(socket_open(url, start, options.timeout, kept)) for url in urls]
    await asyncio.sleep(0.2)  # every task is waiting on the start line
    pids = {
        "Daphne": pid,
        "moto": stack.dynamo.process.pid,
        "redis": stack.redis.process.pid,
        "this client": os.getpid(),
    }
    cpu_before = {name: process_cpu_seconds(each) for name, each in pids.items()}
    began = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    cpu_used = {name: process_cpu_seconds(each) - cpu_before[name] for name, each in pids.items()}
    stop.set()
    await sampler
    await asyncio.sleep(1)
    after = process_rss_mb(pid)
    for socket in kept:
        await socket.close()

    outcomes = Counter(outcome for outcome, _, _ in results)
    opened = [seconds * 1000 for _, seconds, _ in results if seconds == seconds]
    usable = [seconds * 1000 for outcome, _, seconds in results if outcome == "usable"]
    print(f"\n== {title}: {options.sockets} sockets at once, all done in {elapsed:.2f} s")
    print("   outcomes: " + ", ".join(f"{name}: {count}" for name, count in outcomes.most_common()))
    for name, values in (("open (101)", opened), ("usable (pong)", usable)):
        if values:
            print(
                f"   {name:14} ms: p50 {statistics.median(values):.0f}, "
                f"p90 {percentile(values, 0.9):.0f}, p99 {percentile(values, 0.99):.0f}, "
                f"max {max(values):.0f} ({len(values)} sockets)"
            )
    print(
        "   CPU seconds during the storm: "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in cpu_used.items())
        + f" (Daphne {cpu_used['Daphne'] * 1000 / options.sockets:.1f} ms per socket)"
    )
    print(
        f"   Daphne RSS: {before:.1f} MB ready, peak {peak[0]:.1f} MB, {after:.1f} MB after; "
        f"growth {peak[0] - before:.1f} MB"
    )


def daphne_stop(stack: Stack) -> None:
    stack.daphne.terminate()
    stack.daphne.wait(10)
    stack.daphne = None


async def run(options: argparse.Namespace) -> None:
    settings = {"LOG_LEVEL": "WARNING", "SOCKETS_PER_USER_MAX": str(options.sockets)}
    with stack_running() as stack:
        stack.daphne_start(
            dynamo_url=stack.dynamo.url, settings=settings, stderr=subprocess.DEVNULL
        )
        tokens = await users_create(stack, options.users)
        daphne_stop(stack)

        launched = time.perf_counter()
        stack.daphne_start(
            dynamo_url=stack.dynamo.url, settings=settings, stderr=subprocess.DEVNULL
        )
        listening = time.perf_counter() - launched
        print(
            f"fresh Daphne pid {stack.daphne.pid}: listening {listening:.2f} s after launch, "
            f"RSS {process_rss_mb(stack.daphne.pid):.1f} MB"
        )
        if options.wait == "ready":
            waited = await ready_wait(stack, timeout=60)
            print(f"GET /api/ready answered 200 {waited:.2f} s after the port opened")
        for number in range(options.storms):
            if number:
                await asyncio.sleep(2)  # the closed sockets' clean-up ends
            await storm(
                stack,
                tokens,
                options,
                title="fresh instance"
                if number == 0
                else f"the same instance again ({number + 1})",
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=200, help="sockets opened at once")
    parser.add_argument("--users", type=int, default=200, help="distinct users among them")
    parser.add_argument(
        "--wait",
        choices=("ready", "port"),
        default="ready",
        help="what to wait for before the storm",
    )
    parser.add_argument(
        "--storms",
        type=int,
        default=1,
        help="storms in a row on the same instance (the later ones find it warm)",
    )
    parser.add_argument(
        "--timeout", type=float, default=15.0, help="seconds a socket may take to become usable"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Login abuse benchmark: bursts of concurrent logins against one Daphne (moto's DynamoDB,
redis-server, all on loopback). Prints Daphne's memory growth, GET /api/auth/me latency and
chat send-to-ack latency during each burst, and how the logins were answered.

    .venv/bin/python bench/login_abuse.py
    .venv/bin/python bench/login_abuse.py --logins 50 --accounts 25

A control burst first: as many concurrent GET /api/auth/me (one DynamoDB read each, no
hashing), to tell what the machine and moto cost from what hashing costs. Then two login
bursts, both with the production defaults for hashing and throttles:

- "many clients": each login from an address of its own (TRUSTED_PROXY_HOPS=1 and an
  X-Forwarded-For per request, as Railway's edge would send), so the per-address limits
  do not apply and the hashing pool alone bounds the cost. Half log in to real accounts
  with the right password, half guess unknown usernames (each still costs a hash).
- "one client": every login from one address, guessing unknown usernames: the per-address
  limit answers 429 beyond LOGIN_RATE_LIMIT_PER_ADDRESS_COUNT.

The accounts are made with signups from distinct addresses too, so no limit is raised.
Two probes run through each burst and before it (idle): a GET
/api/auth/me loop, and a chat socket (bench0, in a 1:1 chat with bench1) that sends a
message, waits for its `ack`, and sends the next. The idle figures come from the 3 s before
each burst.
RSS is Daphne's resident memory (VmRSS), sampled every 10 ms; growth is measured from
after a warm-up (one signup, one login, one /me), as a running server would be.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
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
# How long the probes run before each burst, for the idle figures.
IDLE_SECONDS = 3.0


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def post(
    session: ClientSession, url: str, body: dict, *, address: str | None, token: str | None = None
) -> tuple[int, dict]:
    headers = {"X-Forwarded-For": address} if address else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with session.post(url, json=body, headers=headers) as response:
        return response.status, await response.json()


async def rss_sampler(pid: int, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], process_rss_mb(pid))
        await asyncio.sleep(0.01)


async def me_prober(
    session: ClientSession, url: str, token: str, latencies: list[float], stop: asyncio.Event
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        started = time.perf_counter()
        async with session.get(url, headers=headers) as response:
            await response.read()
            assert response.status == 200, response.status
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.005)


_message_numbers = itertools.count()


async def chat_prober(socket, chat_id: str, latencies: list[float], stop: asyncio.Event) -> None:
    """Send a message, wait for its ack, repeat: chat's latency as its sender sees it."""
    while not stop.is_set():
        client_msg_id = f"probe-{next(_message_numbers)}"
        started = time.perf_counter()
        await socket.send(
            json.dumps(
                {"chat_id": chat_id, "text": "are you there?", "client_msg_id": client_msg_id}
            )
        )
        while True:
            frame = json.loads(await socket.recv())
            if frame.get("client_msg_id") == client_msg_id:
                assert frame.get("type") == "ack", frame
                break
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.02)


def figures(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):.1f} ms, p90 {percentile(values, 0.9):.1f} ms, "
        f"p99 {percentile(values, 0.99):.1f} ms ({len(values)})"
    )


async def get_me(session: ClientSession, url: str, token: str) -> tuple[int, dict]:
    async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json()


async def burst(
    stack: Stack,
    session: ClientSession,
    *,
    name: str,
    logins: list[tuple[dict, str | None]],
    token: str,
    chat: tuple,
    control_tokens: list[str] | None = None,
) -> None:
    pid = stack.daphne.pid
    socket, chat_id = chat
    # Unloaded first, for comparison.
    idle: list[float] = []
    chat_idle: list[float] = []
    stop = asyncio.Event()
    probers = [
        asyncio.create_task(me_prober(session, f"{stack.http}/api/auth/me", token, idle, stop)),
        asyncio.create_task(chat_prober(socket, chat_id, chat_idle, stop)),
    ]
    await asyncio.sleep(IDLE_SECONDS)
    stop.set()
    await asyncio.gather(*probers)

    before = process_rss_mb(pid)
    peak = [before]
    latencies: list[float] = []
    chat_during: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(rss_sampler(pid, peak, stop))
    probers = [
        asyncio.create_task(
            me_prober(session, f"{stack.http}/api/auth/me", token, latencies, stop)
        ),
        asyncio.create_task(chat_prober(socket, chat_id, chat_during, stop)),
    ]
    started = time.perf_counter()
    if control_tokens is not None:
        # The control: as many concurrent requests that each read DynamoDB but hash nothing.
        results = await asyncio.gather(
            *(get_me(session, f"{stack.http}/api/auth/me", other) for other in control_tokens)
        )
    else:
        results = await asyncio.gather(
            *(
                post(session, f"{stack.http}/api/auth/login", body, address=address)
                for body, address in logins
            )
        )
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(sampler, *probers)
    after = process_rss_mb(pid)

    statuses = Counter(status for status, _ in results)
    print(f"\n== {name}: {len(results)} concurrent requests, done in {elapsed:.2f} s")
    print(
        "   answers: "
        + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    )
    print(
        f"   Daphne RSS: {before:.1f} MB before, peak {peak[0]:.1f} MB, {after:.1f} MB after; "
        f"growth {peak[0] - before:.1f} MB"
    )
    print(
        f"   GET /api/auth/me idle:   p50 {statistics.median(idle):.1f} ms, "
        f"p99 {percentile(idle, 0.99):.1f} ms ({len(idle)} requests)"
    )
    print(
        f"   GET /api/auth/me during: p50 {statistics.median(latencies):.1f} ms, "
        f"p90 {percentile(latencies, 0.9):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms "
        f"({len(latencies)} requests)"
    )
    print(f"   chat send->ack idle:     {figures(chat_idle)}")
    print(
        f"   chat send->ack during:   {figures(chat_during)}; p50 "
        f"{statistics.median(chat_during) / statistics.median(chat_idle):.2f}x idle"
    )


async def run(options: argparse.Namespace) -> None:
    with stack_running() as stack:
        stack.daphne_start(
            dynamo_url=stack.dynamo.url,
            # Production's value: the client address is the last X-Forwarded-For entry.
            # bench/stack.py raises the signup limit for the other benchmarks; not here.
            settings={"TRUSTED_PROXY_HOPS": "1", "SIGNUP_RATE_LIMIT_PER_ADDRESS_COUNT": "10"},
            stderr=subprocess.DEVNULL,
        )
        pid = stack.daphne.pid
        fresh = process_rss_mb(pid)
        async with ClientSession() as session:
            tokens = []
            for index in range(options.accounts):
                status, body = await post(
                    session,
                    f"{stack.http}/api/auth/signup",
                    {
                        "username": f"bench{index}",
                        "password": PASSWORD,
                        "first_name": "Bench",
                        "last_name": f"User{index}",
                        "native_language": "en",
                    },
                    address=f"198.18.1.{index}",
                )
                assert status == 201, (status, body)
                tokens.append(body["access_token"])
            status, _ = await post(
                session,
                f"{stack.http}/api/auth/login",
                {"username": "bench0", "password": PASSWORD},
                address="198.18.0.1",
            )
            assert status == 200
            print(
                f"Daphne pid {pid}: RSS {fresh:.1f} MB fresh, "
                f"{process_rss_mb(pid):.1f} MB after {options.accounts} signups and a login"
            )

            chat_id = (
                await post(
                    session,
                    f"{stack.http}/api/chats",
                    {"username": "bench1"},
                    address=None,
                    token=tokens[0],
                )
            )[1]["chat_id"]
            socket = await websockets.connect(f"{stack.ws}/api/ws/chat?token={tokens[0]}")
            chat = (socket, chat_id)

            control = [tokens[index % len(tokens)] for index in range(options.logins)]
            await burst(
                stack,
                session,
                name="control: GET /api/auth/me (DynamoDB reads, no hashing)",
                logins=[],
                token=tokens[0],
                chat=chat,
                control_tokens=control,
            )

            many = [
                (
                    {"username": f"bench{index}", "password": PASSWORD}
                    if index < options.accounts
                    else {"username": f"nobody{index}", "password": "a wrong guess"},
                    f"198.18.2.{index}",
                )
                for index in range(options.logins)
            ]
            await burst(
                stack,
                session,
                name="many clients (distinct X-Forwarded-For)",
                logins=many,
                token=tokens[0],
                chat=chat,
            )

            one = [
                ({"username": f"stranger{index}", "password": "a wrong guess"}, "198.18.3.1")
                for index in range(options.logins)
            ]
            await burst(
                stack,
                session,
                name="one client (one address)",
                logins=one,
                token=tokens[0],
                chat=chat,
            )
            await socket.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=50, help="concurrent logins per burst")
    parser.add_argument(
        "--accounts",
        type=int,
        default=25,
        help="real accounts among them (the rest guess unknown usernames)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

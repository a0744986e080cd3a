#!/usr/bin/env python3
"""Chat load benchmark: real WebSockets against Daphne + Redis + moto's DynamoDB server + a
loopback OpenAI-compatible translator with a configurable delay. Prints figures.

    .venv/bin/python bench/chat_load.py --pairs 50 --rate 75 --duration 20 --translator-delay 0.2
    .venv/bin/python bench/chat_load.py --pairs 50 --rate 10 --duration 20 --translator-delay 0
    .venv/bin/python bench/chat_load.py --pairs 60 --rate 0 --idle-sockets 2000
    .venv/bin/python bench/chat_load.py --pairs 50 --rate 150 --duration 20 --drain 10 \
        --translator-delay 0.2 --setting SENDS_IN_FLIGHT_MAX=32

Messages go out the way the front end's outbox sends them: one per sender and chat in
flight, the next when the server has acknowledged it. Past capacity the server refuses sends
`busy`; they are resent like the outbox does (same client_msg_id, back-off, later messages
waiting behind) and counted. "delivered while sending" is the rate delivered during the
sending window; latency is given from when the message was written (its time in the outbox
included) and from the attempt the server took.

Each pair is an English and a Spanish user in a 1:1 chat; messages alternate direction and
are spread evenly over time across the pairs. Latency is send-to-delivery: from the moment
the message is written to the moment the recipient gets the final, translated `message`
frame. DynamoDB requests are counted by a loopback proxy in front of moto, by operation.
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter, deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402
from aiohttp import ClientSession, web  # noqa: E402

from bench.stack import Stack, stack_running  # noqa: E402
from tests.support.http import http_json, http_post, signup  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- processes ----------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class CountingProxy:
    """Forwards DynamoDB requests to moto and counts them by operation."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.counts: Counter[str] = Counter()
        # Seconds each write took upstream (moto's own time, plus loopback).
        self.write_seconds: list[float] = []
        self.session: ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        operation = request.headers.get("X-Amz-Target", "?").split(".")[-1]
        self.counts[operation] += 1
        body = await request.read()
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        started = time.perf_counter()
        async with self.session.post(
            self.upstream + request.path_qs, data=body, headers=headers
        ) as reply:
            payload = await reply.read()
            if operation == "TransactWriteItems":
                self.write_seconds.append(time.perf_counter() - started)
            return web.Response(
                body=payload,
                status=reply.status,
                headers={"Content-Type": reply.headers.get("Content-Type", "application/json")},
            )

    def start_in_thread(self) -> str:
        """Serve from its own thread and loop, so the benchmark's blocking calls don't stall it."""
        import threading

        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            self.url = self.loop.run_until_complete(self.start())
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=serve, name="dynamo-proxy", daemon=True).start()
        ready.wait(10)
        return self.url

    def stop_in_thread(self) -> None:
        asyncio.run_coroutine_threadsafe(self.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def start(self) -> str:
        self.session = ClientSession()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.runner = runner
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self.session.close()
        await self.runner.cleanup()


# --- the load -----------------------------------------------------------------------------


class Participant:
    def __init__(self, name: str, token: str) -> None:
        self.name = name
        self.token = token
        self.socket = None
        self.reader: asyncio.Task | None = None


class Refusals:
    """The load client's outbox: sends, `busy` refusals and their resends, done the way the
    front end's outbox does them (frontend/src/lib/outbox.ts). Each sender has at most one
    message of a chat in flight, since the outbox keeps a chat's order: the next one waits
    in the queue until the server acknowledges or refuses it. A `busy` refusal puts the
    message back at the head of its queue for `retry_after`, doubling with each refusal of
    that message (at most 30 s), stretched by up to half again at random so refused clients
    do not all come back at once; the messages written meanwhile wait behind it."""

    def __init__(self) -> None:
        self.busy = 0
        self.other: Counter[str] = Counter()
        self.busy_of: Counter[str] = Counter()  # client_msg_id -> busy refusals so far
        self.frames: dict[str, tuple[Participant, str]] = {}  # client_msg_id -> (sender, frame)
        self.attempted: dict[str, float] = {}  # client_msg_id -> time of the latest attempt
        self.deadline = float("inf")  # no resends after this
        self.sending: set[asyncio.Task] = set()  # frames being written to sockets
        self.acked: dict[str, float] = {}  # client_msg_id -> time of its ack
        # (sender, chat) -> its queue, the message in flight, and when the queue may go on.
        self.queues: dict[tuple[int, str], deque[str]] = {}
        self.in_flight: dict[tuple[int, str], str] = {}
        self.not_before: dict[tuple[int, str], float] = {}
        self.queue_of: dict[str, tuple[int, str]] = {}

    def send(self, sender: Participant, chat_id: str, client_msg_id: str, payload: str) -> None:
        """A message written now: it goes out when its chat has none in flight."""
        key = (id(sender), chat_id)
        self.frames[client_msg_id] = (sender, payload)
        self.queue_of[client_msg_id] = key
        self.queues.setdefault(key, deque()).append(client_msg_id)
        self._next(key)

    def waiting(self) -> int:
        """Messages written and not yet sent (queued behind one in flight, or refused)."""
        return sum(len(queue) for queue in self.queues.values())

    def _next(self, key: tuple[int, str]) -> None:
        queue = self.queues.get(key)
        if not queue or key in self.in_flight or self.not_before.get(key, 0) > time.perf_counter():
            return
        client_msg_id = queue.popleft()
        self.in_flight[key] = client_msg_id
        self.attempted[client_msg_id] = time.perf_counter()
        sender, payload = self.frames[client_msg_id]
        task = asyncio.get_running_loop().create_task(sender.socket.send(payload))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    def _settled(self, client_msg_id: str) -> tuple[int, str] | None:
        key = self.queue_of.get(client_msg_id)
        if key is None or self.in_flight.get(key) != client_msg_id:
            return None
        del self.in_flight[key]
        return key

    def acknowledged(self, client_msg_id: str) -> None:
        self.acked.setdefault(client_msg_id, time.perf_counter())
        key = self._settled(client_msg_id)
        if key is not None:
            self._next(key)

    def refused(self, frame: dict) -> None:
        client_msg_id = str(frame.get("client_msg_id"))
        key = self._settled(client_msg_id)
        if frame.get("code") != "busy" or key is None:
            self.other[str(frame.get("error"))[:60]] += 1
            if key is not None:
                self._next(key)  # the outbox marks it failed and goes on with the next
            return
        self.busy += 1
        self.busy_of[client_msg_id] += 1
        count = self.busy_of[client_msg_id]
        wait = min(30.0, max(float(frame.get("retry_after") or 1), 2.0 ** (count - 1)))
        wait *= 1 + random.random() * 0.5
        self.queues[key].appendleft(client_msg_id)
        self.not_before[key] = time.perf_counter() + wait
        if time.perf_counter() + wait > self.deadline:
            return
        asyncio.get_running_loop().call_later(wait, self._next, key)

    def cancel(self) -> None:
        """The run is over: nothing more is sent."""
        self.deadline = 0.0
        for task in list(self.sending):
            task.cancel()
        self.queues.clear()
        self.in_flight.clear()
        self.not_before.clear()


async def reader(participant: Participant, delivered: dict[str, float], refusals: Refusals) -> None:
    async for raw in participant.socket:
        frame = json.loads(raw)
        if "error" in frame and "type" not in frame:
            refusals.refused(frame)
        elif frame.get("type") == "ack":
            refusals.acknowledged(str(frame.get("client_msg_id")))
        elif frame.get("type") == "message":
            original = frame["message"].get("original_text", "")
            if (
                original.startswith("bench-")
                and frame["message"]["from_user_id"] != participant.name
            ):
                delivered.setdefault(original, time.perf_counter())


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def run(options: argparse.Namespace) -> None:
    with stack_running(moto_gc_off=options.moto_gc_off) as stack:
        translator_url = stack.provider(
            "tests.support.fake_openai", "--delay", str(options.translator_delay)
        )
        proxy = CountingProxy(stack.dynamo.url)
        proxy.dynamo_pid = stack.dynamo.process.pid
        proxy_url = proxy.start_in_thread()
        try:
            stack.daphne_start(
                dynamo_url=proxy_url,
                settings=dict(
                    OPENAI_BASE_URL=translator_url,
                    OPENAI_API_KEY="bench-key",
                    LOG_LEVEL="WARNING",
                    REDIS_CHANNEL_LAYER=options.channel_layer,
                    **dict(setting.split("=", 1) for setting in options.setting),
                ),
                stderr=subprocess.DEVNULL,
            )
            await measure(options, stack, proxy)
        finally:
            proxy.stop_in_thread()


async def measure(options: argparse.Namespace, stack: Stack, proxy: CountingProxy) -> None:
    base, ws_base, daphne = stack.http, stack.ws, stack.daphne
    print(
        f"setup: {options.pairs} pairs, translator delay {options.translator_delay * 1000:.0f} ms",
        flush=True,
    )
    pairs = []
    stamp = int(time.time())
    for index in range(options.pairs):
        english = Participant(f"en{index}_{stamp}", signup(base, f"en{index}_{stamp}", "en"))
        spanish = Participant(f"es{index}_{stamp}", signup(base, f"es{index}_{stamp}", "es"))
        chat_id = http_post(base, "/api/chats", {"username": spanish.name}, token=english.token)[
            "chat_id"
        ]
        pairs.append((english, spanish, chat_id))
    delivered: dict[str, float] = {}
    refusals = Refusals()
    participants = [person for english, spanish, _ in pairs for person in (english, spanish)]
    user_ids = {}
    for person in participants:
        user_ids[person.name] = http_json(base, "GET", "/api/auth/me", token=person.token)[1][
            "user_id"
        ]
    for person in participants:
        person.socket = await websockets.connect(
            f"{ws_base}/api/ws/chat?token={person.token}", max_queue=None
        )
        person.name = user_ids[person.name]
        person.reader = asyncio.create_task(reader(person, delivered, refusals))

    if options.rate > 0:
        await load_phase(options, pairs, delivered, refusals, proxy, daphne, stack.redis.url)
    if options.idle_sockets > 0:
        await idle_phase(options, participants, ws_base, daphne, stack.redis.url)
    for person in participants:
        await person.socket.close()


_measuring_connections: dict = {}


def redis_commands(url: str) -> Counter[str]:
    """Commands Redis has served so far, by name (INFO commandstats)."""
    import redis as redis_client

    # One measuring connection for the whole run, so its own HELLO is counted once, up front.
    connection = _measuring_connections.get(url)
    if connection is None:
        connection = _measuring_connections[url] = redis_client.Redis.from_url(url)
        connection.ping()
    stats = connection.info("commandstats")
    # The benchmark's own INFO calls are not the application's.
    return Counter(
        {
            name.removeprefix("cmdstat_"): value["calls"]
            for name, value in stats.items()
            if name not in ("cmdstat_info", "cmdstat_ping")
        }
    )


async def load_phase(options, pairs, delivered, refusals, proxy, daphne, redis_url) -> None:
    total = int(options.rate * options.duration)
    interval = 1.0 / options.rate
    sent: dict[str, float] = {}
    await asyncio.sleep(0.5)
    proxy.counts.clear()
    proxy.write_seconds.clear()
    redis_before = redis_commands(redis_url)
    cpu_before = process_cpu_seconds(daphne.pid)
    client_cpu_before = time.process_time()
    dynamo_cpu_before = process_cpu_seconds(proxy.dynamo_pid)
    started = time.perf_counter()
    for number in range(total):
        english, spanish, chat_id = pairs[number % len(pairs)]
        sender = english if (number // len(pairs)) % 2 == 0 else spanish
        text = f"bench-{number} hello from the load test"
        target = started + number * interval
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[text] = time.perf_counter()
        payload = json.dumps({"chat_id": chat_id, "text": text, "client_msg_id": f"b{number}"})
        refusals.send(sender, chat_id, f"b{number}", payload)
    send_elapsed = time.perf_counter() - started
    drain_deadline = time.perf_counter() + options.drain
    refusals.deadline = drain_deadline
    while len(delivered) < total and time.perf_counter() < drain_deadline:
        await asyncio.sleep(0.05)
    waiting = refusals.waiting()
    refusals.cancel()
    cpu_used = process_cpu_seconds(daphne.pid) - cpu_before
    client_cpu_used = time.process_time() - client_cpu_before
    dynamo_cpu_used = process_cpu_seconds(proxy.dynamo_pid) - dynamo_cpu_before
    redis_used = redis_commands(redis_url) - redis_before
    latencies = [(delivered[text] - sent[text]) * 1000 for text in sent if text in delivered]
    # From the attempt the server took (the last one): what a message admitted waited.
    admitted_latencies = [
        (delivered[text] - refusals.attempted[f"b{text.split()[0].removeprefix('bench-')}"]) * 1000
        for text in sent
        if text in delivered
    ]
    ack_latencies = [
        (moment - refusals.attempted[client_msg_id]) * 1000
        for client_msg_id, moment in refusals.acked.items()
        if client_msg_id in refusals.attempted
    ]
    window_end = started + options.duration
    in_window = sum(1 for moment in delivered.values() if moment <= window_end)
    last_delivery = max(delivered.values(), default=started)
    delivered_ids = {f"b{text.split()[0].removeprefix('bench-')}" for text in delivered}
    # Acknowledged (stored) and still not delivered 2 s later: a real loss. Acknowledged in
    # the last 2 s: still on its way when the drain ended (resends go on during the drain).
    # Never acknowledged: refused busy and waiting for its resend, as it would in the outbox.
    ended = time.perf_counter()
    undelivered_acks = [
        moment
        for client_msg_id, moment in refusals.acked.items()
        if client_msg_id not in delivered_ids
    ]
    lost = sum(1 for moment in undelivered_acks if moment < ended - 2)
    on_the_way = len(undelivered_acks) - lost
    unsent = total - len(latencies) - len(undelivered_acks)
    dynamo_requests = sum(proxy.counts.values())
    print(
        f"load: {total} messages written in {send_elapsed:.1f} s (target {options.rate}/s across {len(pairs)} pairs)"
    )
    print(
        f"delivered {len(latencies)}  lost {lost} (stored, not delivered within 2 s)"
        f"  on the way {on_the_way} (stored in the last 2 s)"
        f"  unsent {unsent} (in the outbox when the drain ended: {waiting} refused busy or queued behind one)"
    )
    print(
        f"throughput {len(latencies) / max(last_delivery - started, 1e-9):.1f} messages/s delivered"
    )
    print(
        f"delivered while sending: {in_window / options.duration:.1f} messages/s "
        f"({in_window} in the {options.duration:.0f} s of sending)"
    )
    resent = sum(1 for count in refusals.busy_of.values() if count)
    print(
        f"refused busy {refusals.busy} times ({resent} messages, resent like the front end's "
        f"outbox); other errors {sum(refusals.other.values())}"
        + (
            ": " + ", ".join(f"{n} x {e!r}" for e, n in refusals.other.most_common(3))
            if refusals.other
            else ""
        )
    )
    print(
        "admitted-to-delivery latency ms (from the attempt the server took): "
        f"p50 {percentile(admitted_latencies, 0.50):.1f}  p95 {percentile(admitted_latencies, 0.95):.1f}  "
        f"p99 {percentile(admitted_latencies, 0.99):.1f}  max {max(admitted_latencies, default=float('nan')):.1f}"
    )
    print(
        "admitted-to-ack latency ms (the sender's ack; the rest is delivery): "
        f"p50 {percentile(ack_latencies, 0.50):.1f}  p99 {percentile(ack_latencies, 0.99):.1f}"
    )
    print(
        "send-to-delivery latency ms (from when it was written, time in the outbox included): "
        f"p50 {percentile(latencies, 0.50):.1f}  p95 {percentile(latencies, 0.95):.1f}  "
        f"p99 {percentile(latencies, 0.99):.1f}  max {max(latencies, default=float('nan')):.1f}"
    )
    print(
        f"daphne CPU {cpu_used:.2f} s = {cpu_used * 1000 / max(len(latencies), 1):.2f} ms per delivered message; "
        f"RSS {process_rss_mb(daphne.pid):.0f} MB"
    )
    # The load client shares the cores: past capacity its sends and resends are most of it.
    print(
        f"this load client (with its DynamoDB counting proxy) CPU {client_cpu_used:.2f} s "
        f"over {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"moto (the DynamoDB stand-in) CPU {dynamo_cpu_used:.2f} s "
        f"= {dynamo_cpu_used * 1000 / max(total, 1):.2f} ms per message"
    )
    print(
        f"DynamoDB requests {dynamo_requests} = {dynamo_requests / max(total, 1):.2f} per message: "
        + ", ".join(f"{name} {count}" for name, count in proxy.counts.most_common())
    )
    writes_ms = [seconds * 1000 for seconds in proxy.write_seconds]
    print(
        f"DynamoDB stand-in time per TransactWriteItems (inside the latency above) ms: "
        f"p50 {percentile(writes_ms, 0.5):.1f}  p95 {percentile(writes_ms, 0.95):.1f}"
    )
    redis_total = sum(redis_used.values())
    print(
        f"Redis commands ({options.channel_layer} layer) {redis_total} = {redis_total / max(total, 1):.1f} per message: "
        + ", ".join(f"{name} {count}" for name, count in redis_used.most_common(6))
    )


async def idle_phase(options, participants, ws_base, daphne, redis_url) -> None:
    await asyncio.sleep(1)
    rss_before = process_rss_mb(daphne.pid)
    redis_connect_before = redis_commands(redis_url)
    sockets = []
    for number in range(options.idle_sockets):
        person = participants[number % len(participants)]
        sockets.append(await websockets.connect(f"{ws_base}/api/ws/chat?token={person.token}"))
    await asyncio.sleep(2)
    # A ping round trip on a sample proves the sockets are open and authenticated.
    for socket in sockets[:: max(1, len(sockets) // 20)]:
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {"type": "pong"}
    rss_after = process_rss_mb(daphne.pid)
    connect_commands = sum((redis_commands(redis_url) - redis_connect_before).values())
    print(
        f"idle: {len(sockets)} authenticated sockets, daphne RSS {rss_before:.0f} -> {rss_after:.0f} MB, "
        f"{(rss_after - rss_before) * 1024 / len(sockets):.1f} KB per socket"
    )
    idle_before = redis_commands(redis_url)
    await asyncio.sleep(options.idle_seconds)
    idle_used = redis_commands(redis_url) - idle_before
    idle_total = sum(idle_used.values())
    per_socket_hour = idle_total / len(sockets) * 3600 / options.idle_seconds
    print(
        f"Redis ({options.channel_layer} layer): {connect_commands / len(sockets):.1f} commands per socket to connect "
        f"(the pings included); idle {idle_total} commands in {options.idle_seconds:.0f} s = "
        f"{per_socket_hour:.2f} per idle socket per hour, "
        f"{idle_total * 3600 / options.idle_seconds:.0f} per process per hour "
        + "("
        + ", ".join(f"{name} {count}" for name, count in idle_used.most_common(4))
        + ")"
    )
    for socket in sockets:
        await socket.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument(
        "--rate", type=float, default=75, help="messages per second in all (0: no load)"
    )
    parser.add_argument("--duration", type=float, default=20, help="seconds of sending")
    parser.add_argument(
        "--translator-delay", type=float, default=0.0, help="seconds before the first token"
    )
    parser.add_argument("--drain", type=float, default=30, help="seconds to wait for stragglers")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an app setting for Daphne, e.g. SENDS_IN_FLIGHT_MAX=48 (repeatable)",
    )
    parser.add_argument("--idle-sockets", type=int, default=0)
    parser.add_argument(
        "--moto-gc-off",
        action="store_true",
        help="run moto with its garbage collector off: what is left is the app's own latency",
    )
    parser.add_argument("--channel-layer", choices=("pubsub", "core"), default="pubsub")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=20,
        help="how long to watch idle sockets for Redis commands",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Stalled reader benchmark: what a socket that stops reading costs the server. Prints figures.

    .venv/bin/python bench/stalled_reader.py --messages 2000
    .venv/bin/python bench/stalled_reader.py --messages 2000 --backlog-max-bytes 0   # no bound

Real Daphne + Redis + moto's DynamoDB server, all on loopback. Ana has two sockets: one
reads everything, the other is a raw socket with a 4 KiB receive buffer that never reads (a
phone that lost coverage). Bob sends `--messages` messages of 2,000 characters, 50 at a time,
as fast as he gets acks. Sampled every 20 ms: Daphne's RSS and the kernel's
send queue towards the stalled socket (`ss`). `--backlog-max-bytes 0` sets the bound out of
reach, which is how the server behaved before it existed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from bench.chat_load import process_rss_mb  # noqa: E402
from bench.stack import stack_running  # noqa: E402
from tests.support.http import http_post, signup  # noqa: E402
from tests.support.raw_websocket import TCP_ESTABLISHED, RawWebSocket  # noqa: E402

TEXT = "x" * 2000
OUT_OF_REACH = 1 << 50


def send_queue_bytes(server_port: int, client_port: int) -> int | None:
    """The kernel's send queue from Daphne to one client; None once the connection is gone."""
    output = subprocess.run(
        [
            "ss",
            "-tnH",
            "state",
            "established",
            f"( sport = :{server_port} and dport = :{client_port} )",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(output[1]) if output else None


async def run(options: argparse.Namespace) -> None:
    bound = options.backlog_max_bytes or OUT_OF_REACH
    with stack_running() as stack:
        stack.daphne_start(
            dynamo_url=stack.dynamo.url,
            settings={"SOCKET_OUTBOUND_BACKLOG_MAX_BYTES": str(bound)},
            stderr=subprocess.DEVNULL,
        )
        pid = stack.daphne.pid
        ana = signup(stack.http, "ana", "en")
        bob = signup(stack.http, "bob", "en")
        chat_id = http_post(stack.http, "/api/chats", {"username": "bob"}, token=ana)["chat_id"]
        path = f"/api/ws/chat?token={ana}"

        async with (
            websockets.connect(f"{stack.ws}/api/ws/chat?token={bob}") as sender,
            websockets.connect(f"{stack.ws}{path}", max_size=None) as reader,
        ):
            sent = 0

            async def send_batch(count: int) -> None:
                nonlocal sent
                for _ in range(count):
                    await sender.send(
                        json.dumps({"chat_id": chat_id, "text": TEXT, "client_msg_id": f"m{sent}"})
                    )
                    sent += 1
                acks = 0
                while acks < count:
                    frame = json.loads(await asyncio.wait_for(sender.recv(), 60))
                    acks += frame.get("type") == "ack"

            async def read_all(count: int) -> int:
                received = 0
                while received < count:
                    frame = json.loads(await asyncio.wait_for(reader.recv(), 60))
                    received += frame.get("type") == "message"
                return received

            # Warm the instance up (DynamoDB clients, chat copy) before measuring.
            warm_up = asyncio.ensure_future(read_all(20))
            await send_batch(20)
            await warm_up

            stalled = RawWebSocket.open(stack.port, path, receive_buffer=4096)
            stalled_port = stalled.sock.getsockname()[1]
            rss_before = process_rss_mb(pid)
            peaks = {"rss": rss_before, "queue": 0}
            dropped_at: list[float] = []
            stop = asyncio.Event()

            async def sample() -> None:
                while not stop.is_set():
                    peaks["rss"] = max(peaks["rss"], process_rss_mb(pid))
                    queue = send_queue_bytes(stack.port, stalled_port)
                    if queue is not None:
                        peaks["queue"] = max(peaks["queue"], queue)
                    if not dropped_at and stalled.tcp_state() != TCP_ESTABLISHED:
                        dropped_at.append(time.monotonic())
                    await asyncio.sleep(0.02)

            sampler = asyncio.ensure_future(sample())
            started = time.monotonic()
            reading = asyncio.ensure_future(read_all(options.messages))
            while sent < 20 + options.messages:
                await send_batch(min(50, 20 + options.messages - sent))
            delivered = await reading
            elapsed = time.monotonic() - started
            await asyncio.sleep(options.linger)
            stop.set()
            await sampler
            rss_after = process_rss_mb(pid)
            stalled.close()

    traffic_mb = options.messages * (2 * len(TEXT) + 300) / 1e6
    print(
        f"bound: {'none' if bound == OUT_OF_REACH else f'{bound} bytes'}; "
        f"{options.messages} messages of 2,000 characters in {elapsed:.1f} s "
        f"(about {traffic_mb:.1f} MB to each of Ana's sockets)"
    )
    print(f"  reader that keeps up: {delivered} of {options.messages} messages, socket open")
    if dropped_at:
        print(f"  stalled socket: dropped {dropped_at[0] - started:.1f} s after the traffic began")
    else:
        print(
            f"  stalled socket: still open {elapsed + options.linger:.1f} s after the traffic began"
        )
    print(f"  kernel send queue towards it: peak {peaks['queue'] / 1e6:.2f} MB")
    print(
        f"  Daphne RSS: {rss_before:.1f} MB before, peak {peaks['rss']:.1f} MB, "
        f"{rss_after:.1f} MB after; growth {peaks['rss'] - rss_before:.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument(
        "--backlog-max-bytes",
        type=int,
        default=1024 * 1024,
        help="SOCKET_OUTBOUND_BACKLOG_MAX_BYTES; 0: no bound",
    )
    parser.add_argument(
        "--linger",
        type=float,
        default=6.0,
        help="seconds to keep watching after the traffic (the close grace is 5 s)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

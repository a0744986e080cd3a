"""Daphne in a child process, serving the real ASGI application on a loopback port."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.servers import (
    RunningServer,
    child_environment,
    daphne_command,
    free_port,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def daphne_running(environment: dict[str, str]) -> Iterator[RunningServer]:
    port = free_port()
    process = subprocess.Popen(
        daphne_command(port),
        cwd=ROOT,
        # A loaded test machine runs the loop and deliveries late; refusing sends for that is
        # tested on its own (tests/chats/test_overload.py), and a test may still set it.
        env=child_environment(
            {
                "SENDS_LOOP_LAG_MAX_SECONDS": "0",
                "SENDS_DELIVERY_LAG_MAX_SECONDS": "0",
                **environment,
            }
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = RunningServer(url=f"http://127.0.0.1:{port}", process=process)
    try:
        wait_for_port(port, timeout=30, process=process)
        yield server
    finally:
        server.stop()

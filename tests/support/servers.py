"""Real servers for the tests, each on a free loopback port: moto's DynamoDB-compatible
server over HTTP, and redis-server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(
    port: int, *, timeout: float = 20.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen
    workdir: str | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def daphne_command(port: int) -> list[str]:
    """Daphne serving the app on a loopback port, as tests and benchmarks start it."""
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "commonality.asgi:application",
    ]


def dynamo_server_start(*, gc_off: bool = False) -> RunningServer:
    """moto's server, safe for concurrent transactions (apps/core/embedded_dynamo.py).
    `gc_off` runs it with Python's garbage collector off: benchmarks use it to tell the
    stand-in's collection pauses (100-160 ms at 75 writes/s) from the app's own latency."""
    port = free_port()
    arguments = ["-H", "127.0.0.1", "-p", str(port)]
    launcher = (
        [
            "-c",
            f"import gc, runpy, sys; gc.disable(); sys.argv = ['embedded_dynamo', *{arguments!r}]; "
            "runpy.run_module('apps.core.embedded_dynamo', run_name='__main__')",
        ]
        if gc_off
        else ["-m", "apps.core.embedded_dynamo", *arguments]
    )
    process = subprocess.Popen(
        [sys.executable, *launcher],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process=process)
    url = f"http://127.0.0.1:{port}"
    # moto answers once its app is loaded; the port can open a moment before that.
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).read()
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return RunningServer(url=url, process=process)


def redis_server_start(*, port: int | None = None) -> RunningServer:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed; run the README's test command (scripts/test.py), "
            "which installs it, or set REDIS_URL to a running Redis"
        )
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="commonality-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process=process)
    return RunningServer(url=f"redis://127.0.0.1:{port}/0", process=process, workdir=workdir)


def redis_server_restart(server: RunningServer) -> RunningServer:
    """A new, empty redis-server on `server`'s port (so clients holding its URL reach the new
    one), after killing `server` if it still runs: no keys and no subscriptions survive, as
    after a crash or a managed Redis's restart."""
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()
    server.stop()
    return redis_server_start(port=urlsplit(server.url).port)


def child_environment(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process (Daphne, manage.py) under test."""
    environment = dict(os.environ)
    environment.update(overrides or {})
    return environment

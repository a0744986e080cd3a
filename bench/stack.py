"""What every benchmark starts: moto's DynamoDB server, redis-server, the loopback fake
providers, and Daphne serving the app against them (one instance, or several sharing the same
Redis and DynamoDB), each on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.servers import (  # noqa: E402
    daphne_command,
    dynamo_server_start,
    free_port,
    redis_server_start,
    wait_for_port,
)


def fake_provider_start(module: str, *arguments: str) -> tuple[subprocess.Popen, str]:
    """Start a loopback fake provider (`python -m <module> --port 0 ...`); returns the
    process and the base URL it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"{module} did not start: {line!r}")
    return process, line.removeprefix("listening on ")


@dataclass
class Stack:
    """The servers a benchmark runs against. `dynamo_url` is what the app is pointed at
    (moto itself unless a proxy is put in front of it)."""

    dynamo: object
    redis: object
    providers: list[subprocess.Popen] = field(default_factory=list)
    # Loopback fakes served from a thread of the benchmark's own process (LoopbackServer),
    # so the benchmark can read what they received.
    servers: list = field(default_factory=list)
    # The first Daphne instance and its port; `daphnes` and `ports` hold every instance.
    daphne: subprocess.Popen | None = None
    port: int = 0
    daphnes: list[subprocess.Popen] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def provider(self, module: str, *arguments: str) -> str:
        process, url = fake_provider_start(module, *arguments)
        self.providers.append(process)
        return url

    def provider_in_process(self, server):
        """Serve a loopback fake (tests.support's FakeOpenAI, FakeElevenLabs) from a thread of
        this process; returns its base URL. Stopped with the stack."""
        url = server.start()
        self.servers.append(server)
        return url

    def http_of(self, instance: int) -> str:
        return f"http://127.0.0.1:{self.ports[instance]}"

    def ws_of(self, instance: int) -> str:
        return f"ws://127.0.0.1:{self.ports[instance]}"

    def daphne_start(
        self,
        *,
        dynamo_url: str,
        settings: dict[str, str],
        stderr: IO | int,
        instances: int = 1,
        cpus: str | None = None,
    ) -> None:
        """Create the tables, then start `instances` Daphne processes, each on its own port,
        with the app's settings in development mode plus `settings`, and wait until they all
        listen. `cpus` (a taskset list, e.g. "0") pins them to those cores."""
        environment = dict(
            os.environ,
            ENVIRONMENT="development",
            DEBUG="false",
            DYNAMODB_ENDPOINT=dynamo_url,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            REDIS_URL=self.redis.url,
            MESSAGE_RATE_LIMIT_COUNT="1000",
            # Every benchmark user signs up from 127.0.0.1.
            SIGNUP_RATE_LIMIT_PER_ADDRESS_COUNT="100000",
        )
        # A benchmark's own settings win over the defaults above.
        environment.update(settings)
        subprocess.run(
            [sys.executable, "manage.py", "create_dynamo_tables"],
            cwd=ROOT,
            env=environment,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        pinning = ["taskset", "-c", cpus] if cpus else []
        self.daphnes, self.ports = [], []
        for _ in range(instances):
            port = free_port()
            self.daphnes.append(
                subprocess.Popen(
                    [*pinning, *daphne_command(port)],
                    cwd=ROOT,
                    env=environment,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            )
            self.ports.append(port)
        for port, process in zip(self.ports, self.daphnes, strict=True):
            wait_for_port(port, timeout=30, process=process)
        self.daphne, self.port = self.daphnes[0], self.ports[0]

    def stop(self) -> None:
        # A benchmark that stopped its Daphne itself may have set `daphne` to None.
        for process in [self.daphne, *self.daphnes, *self.providers]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    # Far past capacity Daphne can take longer than that to stop; what
                    # follows (moto, redis-server, the fakes) must not be left running.
                    process.kill()
                    process.wait(10)
        for server in self.servers:
            server.stop()
        self.redis.stop()
        self.dynamo.stop()


@contextmanager
def stack_running(*, moto_gc_off: bool = False) -> Iterator[Stack]:
    stack = Stack(dynamo=dynamo_server_start(gc_off=moto_gc_off), redis=redis_server_start())
    try:
        yield stack
    finally:
        stack.stop()

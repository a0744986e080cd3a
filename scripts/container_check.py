#!/usr/bin/env python3
"""Build the production image (the root Dockerfile) and check it the way a deploy uses it.

    python3 scripts/container_check.py                  # build, run, check, print figures
    python3 scripts/container_check.py --no-build       # check the image already tagged

Any Python 3.11+ runs it (standard library only). It starts the embedded DynamoDB server
(moto, `python -m apps.core.embedded_dynamo`, with the project's .venv, created as
scripts/dev.py does) and a redis-server (installed from Debian's packages when missing, as
scripts/test.py does), each on a free loopback port; builds the image with
`docker build --network host`; runs railway.json's pre-deploy command in the image, then the
image itself with `docker run --network host` and production settings
(`ENVIRONMENT=production`, a fresh `JWT_SECRET`, `ALLOWED_HOSTS`, `REDIS_URL` and
`DYNAMODB_ENDPOINT` on loopback); requests carry `X-Forwarded-Proto: https` and
`X-Forwarded-For` as Railway's edge adds them. It checks, in order: the pre-deploy command
creates the five tables (and a second run finds them); `/api/health` and `/api/ready` answer
200; the serving process (PID 1) is Daphne and not root, the code is read-only for it, /app
holds nothing but the application, and the image's HEALTHCHECK passes; plain HTTP is
redirected to HTTPS; two users sign up; a chat message sent on one user's socket is
acknowledged and reaches the other's; the logs are JSON lines; and the container stops within
10 s of SIGTERM with both sockets open. It prints the build time, the image size and the time
to ready (from the container's start, and from `docker run`, which includes creating it).

Exit status: 0 when every check passed, or when Docker is not available here (it says so;
this check is not part of CI); 1 when a check failed (the container's last log lines follow).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IMAGE = "commonality-backend:check"
# What the image's /app may hold: the code that runs, and the requirements it was built from.
APP_ENTRIES = frozenset({"manage.py", "apps", "commonality", "requirements.txt"})
TABLES = ("users", "chats", "user_chats", "messages", "owed_translations", "search_tokens")
SIGTERM_LIMIT_SECONDS = 10.0
# railway.json's healthcheckTimeout: how long a deploy may take to answer /api/ready.
READY_LIMIT_SECONDS = 120.0
# What Railway's edge adds to every request it forwards (TRUSTED_PROXY_HOPS=1).
EDGE_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


# --- Pure parts (tests/core/test_container_check.py) -----------------------------------------


def container_environment(
    *, port: int, dynamodb_endpoint: str, redis_url: str, jwt_secret: str
) -> dict[str, str]:
    """Production settings with every service on loopback: what the image gets here."""
    return {
        "ENVIRONMENT": "production",
        "JWT_SECRET": jwt_secret,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PORT": str(port),
        "DYNAMODB_ENDPOINT": dynamodb_endpoint,
        "AWS_REGION": "us-east-1",
        # moto accepts any credentials; none are real here.
        "AWS_ACCESS_KEY_ID": "container-check",
        "AWS_SECRET_ACCESS_KEY": "container-check",
        "REDIS_URL": redis_url,
    }


def docker_env_arguments(environment: dict[str, str]) -> list[str]:
    """`-e NAME` for each variable: docker reads the values from its own environment, so
    the secret never appears on a command line."""
    arguments = []
    for name in sorted(environment):
        arguments += ["-e", name]
    return arguments


def predeploy_command(railway_json: str) -> list[str]:
    """railway.json's pre-deploy command as argv (Railway runs each string through a shell)."""
    commands = json.loads(railway_json)["deploy"]["preDeployCommand"]
    if isinstance(commands, str):
        commands = [commands]
    if len(commands) != 1:
        raise ValueError(f"expected one pre-deploy command, got {commands!r}")
    return shlex.split(commands[0])


def process_uids(proc_status: str) -> tuple[int, int]:
    """(real, effective) uid from the text of /proc/<pid>/status."""
    for line in proc_status.splitlines():
        if line.startswith("Uid:"):
            real, effective = line.split()[1:3]
            return int(real), int(effective)
    raise ValueError("no Uid line in /proc/<pid>/status")


def non_json_lines(log: str) -> list[str]:
    """The lines of a log that are not one JSON object each (blank lines aside)."""
    bad = []
    for line in log.splitlines():
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        if not isinstance(parsed, dict):
            bad.append(line)
    return bad


def docker_timestamp(text: str) -> float:
    """Seconds since the epoch of a Docker timestamp (RFC 3339, nanoseconds, UTC)."""
    text = text.strip()
    whole, _, fraction = text.rstrip("Z").partition(".")
    moment = datetime.fromisoformat(whole).replace(tzinfo=UTC)
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.0f} MB"


OPCODE_CONTINUATION = 0x0
OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9


def websocket_frame(opcode: int, payload: bytes, *, mask: bytes | None = None) -> bytes:
    """One final frame as a client sends it (masked, RFC 6455 section 5.2)."""
    mask = os.urandom(4) if mask is None else mask
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return header + mask + masked


def websocket_frame_parse(buffer: bytes) -> tuple[bool, int, bytes, int] | None:
    """(final, opcode, payload, bytes used) of the first whole frame in `buffer`, or None
    while it is incomplete. Server frames are unmasked, but a mask is honoured."""
    if len(buffer) < 2:
        return None
    first, second = buffer[0], buffer[1]
    length, offset = second & 0x7F, 2
    if length == 126:
        if len(buffer) < 4:
            return None
        (length,) = struct.unpack("!H", buffer[2:4])
        offset = 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        (length,) = struct.unpack("!Q", buffer[2:10])
        offset = 10
    mask = b""
    if second & 0x80:
        mask, offset = buffer[offset : offset + 4], offset + 4
    if len(buffer) < offset + length:
        return None
    payload = buffer[offset : offset + length]
    if mask:
        payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return bool(first & 0x80), first & 0x0F, payload, offset + length


# --- Talking to the container ----------------------------------------------------------------


class CheckFailed(Exception):
    pass


class WebSocket:
    """A minimal client: text frames in and out, close codes, nothing else."""

    def __init__(self, sock: socket.socket, leftover: bytes) -> None:
        self.sock = sock
        self.buffer = leftover
        self.close_code: int | None = None

    @classmethod
    def open(cls, port: int, path: str) -> WebSocket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                raise CheckFailed(f"socket handshake refused: {answer[:200]!r}")
            answer += chunk
        head, _, leftover = answer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise CheckFailed(f"socket handshake refused: {head.splitlines()[0]!r}")
        return cls(sock, leftover)

    def send_json(self, payload: dict) -> None:
        self.sock.sendall(websocket_frame(OPCODE_TEXT, json.dumps(payload).encode()))

    def receive(self, deadline: float) -> dict | None:
        """The next JSON text frame; None once the server has closed the socket."""
        message = b""
        while True:
            parsed = websocket_frame_parse(self.buffer)
            if parsed is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no frame in time")
                self.sock.settimeout(remaining)
                try:
                    chunk = self.sock.recv(65536)
                except TimeoutError:
                    raise TimeoutError("no frame in time") from None
                except OSError:
                    chunk = b""
                if not chunk:
                    return None
                self.buffer += chunk
                continue
            final, opcode, payload, used = parsed
            self.buffer = self.buffer[used:]
            if opcode == OPCODE_CLOSE:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return None
            if opcode in (OPCODE_TEXT, OPCODE_CONTINUATION, OPCODE_BINARY):
                message += payload
                if final:
                    return json.loads(message)
            # Pings and pongs: nothing to do in a check this short.

    def wait_for(self, wanted: Callable[[dict], bool], timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            frame = self.receive(deadline)
            if frame is None:
                raise CheckFailed(f"the socket closed (code {self.close_code})")
            if wanted(frame):
                return frame

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def http(
    method: str,
    url: str,
    *,
    body: dict | None = None,
    token: str | None = None,
    edge: bool = True,
    timeout: float = 10,
) -> tuple[int, dict[str, str], bytes]:
    headers = dict(EDGE_HEADERS) if edge else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def http_json(method: str, url: str, expected: int, **kwargs) -> dict:
    status, _, body = http(method, url, **kwargs)
    if status != expected:
        raise CheckFailed(f"{method} {url} answered {status}, not {expected}: {body[:300]!r}")
    return json.loads(body)


def dynamo_table_names(endpoint: str) -> list[str]:
    """ListTables on the DynamoDB server (moto reads the region from the credential scope
    and checks no signature)."""
    request = urllib.request.Request(
        endpoint,
        data=b"{}",
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=container-check/20260101/us-east-1/dynamodb/"
                "aws4_request, SignedHeaders=host, Signature=0"
            ),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return sorted(json.loads(response.read())["TableNames"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CheckFailed(f"the server for port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise CheckFailed(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def docker(*arguments: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
    """Runs `docker ...`; its stdout, or CheckFailed with its stderr."""
    result = subprocess.run(
        ["docker", *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise CheckFailed(
            f"docker {' '.join(arguments[:2])} exited {result.returncode}: "
            f"{(result.stderr or result.stdout).strip()[-800:]}"
        )
    return result.stdout


def docker_unavailable() -> str | None:
    """Why Docker cannot be used here, or None when it can."""
    if shutil.which("docker") is None:
        return "there is no docker command"
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`docker info` failed ({error})"
    if result.returncode != 0 or not result.stdout.strip():
        last = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        return f"the Docker daemon does not answer ({last})"
    return None


# --- The check -------------------------------------------------------------------------------


@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        line = f"{name}" + (f" ({detail})" if detail else "")
        (self.passed if ok else self.failed).append(line)
        print(f"{'ok  ' if ok else 'FAIL'}  {line}", flush=True)
        return ok

    def figure(self, name: str, value: str) -> None:
        self.figures.append(f"{name}: {value}")
        print(f"      {name}: {value}", flush=True)


@contextmanager
def services() -> Iterator[tuple[str, str]]:
    """(DynamoDB endpoint, Redis URL): the embedded DynamoDB server and a redis-server on
    free loopback ports, stopped on the way out."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from bootstrap import python_environment_ensure, system_package_ensure

    python = python_environment_ensure()
    redis_server = system_package_ensure("redis-server", "redis-server")
    dynamo_port, redis_port = free_port(), free_port()
    workdir = tempfile.mkdtemp(prefix="container-check-redis-")
    processes = []
    try:
        processes.append(
            subprocess.Popen(
                [
                    str(python),
                    *("-m", "apps.core.embedded_dynamo"),
                    *("-H", "127.0.0.1", "-p", str(dynamo_port)),
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    redis_server,
                    *("--bind", "127.0.0.1", "--port", str(redis_port)),
                    *("--save", "", "--appendonly", "no", "--dir", workdir),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for_port(dynamo_port, processes[0])
        wait_for_port(redis_port, processes[1])
        endpoint = f"http://127.0.0.1:{dynamo_port}"
        deadline = time.monotonic() + 30
        while True:  # moto's port opens a moment before its app answers
            try:
                dynamo_table_names(endpoint)
                break
            except (urllib.error.URLError, ConnectionError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield endpoint, f"redis://127.0.0.1:{redis_port}/0"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def build(image: str, report: Report) -> None:
    started = time.monotonic()
    result = subprocess.run(
        ["docker", "build", "--network", "host", "-t", image, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-4000:], sep="\n", file=sys.stderr)
        raise CheckFailed(f"docker build exited {result.returncode}")
    report.figure("build", f"{time.monotonic() - started:.0f} s")


def image_figures(image: str, report: Report) -> None:
    size = int(docker("image", "inspect", "--format", "{{.Size}}", image).strip())
    base = docker("image", "inspect", "--format", "{{.Size}}", "python:3.12-slim", timeout=20)
    base_size = int(base.strip())
    report.figure(
        "image size",
        f"{megabytes(size)} ({megabytes(base_size)} base python:3.12-slim "
        f"+ {megabytes(size - base_size)} of dependencies and code)",
    )


def predeploy(image: str, environment: dict[str, str], report: Report) -> None:
    command = predeploy_command((ROOT / "railway.json").read_text())
    docker_env = dict(os.environ, **environment)
    run = ["run", "--rm", "--network", "host", *docker_env_arguments(environment), image]
    started = time.monotonic()
    first = docker(*run, *command, env=docker_env, timeout=300)
    seconds = time.monotonic() - started
    endpoint = environment["DYNAMODB_ENDPOINT"]
    names = dynamo_table_names(endpoint)
    summary = first.strip().splitlines()[-1] if first.strip() else "no output"
    report.check(
        f"pre-deploy `{' '.join(command)}` creates the tables",
        names == sorted(TABLES) and first.count("created ") == len(TABLES),
        f"{summary!r}, {seconds:.1f} s; tables: {', '.join(names)}",
    )
    again = docker(*run, *command, env=docker_env, timeout=300)
    report.check(
        "pre-deploy command again finds them (idempotent)",
        again.count("exists ") == len(TABLES) and "created " not in again,
    )


def container_logs(name: str) -> str:
    result = subprocess.run(
        ["docker", "logs", name], capture_output=True, text=True, timeout=30, check=False
    )
    return result.stdout + result.stderr


def logs_print(name: str) -> None:
    print("--- the container's last log lines ---", file=sys.stderr)
    print("\n".join(container_logs(name).splitlines()[-40:]), file=sys.stderr)


def wait_until_ready(name: str, base: str, started: float, report: Report) -> None:
    health_at = ready_at = None
    deadline = started + READY_LIMIT_SECONDS
    while time.monotonic() < deadline and ready_at is None:
        state = docker("inspect", "--format", "{{.State.Running}}", name).strip()
        if state != "true":
            raise CheckFailed("the container exited before it was ready")
        try:
            if health_at is None and http("GET", f"{base}/api/health", edge=False)[0] == 200:
                health_at = time.monotonic()
            if health_at is not None:
                status, _, body = http("GET", f"{base}/api/ready", edge=False)
                if status == 200:
                    ready_at, ready_wall = time.monotonic(), time.time()
                    ready_body = json.loads(body)
        except (OSError, urllib.error.URLError):
            pass
        if ready_at is None:
            time.sleep(0.1)
    report.check(
        "/api/health answers 200",
        health_at is not None,
        f"{health_at - started:.1f} s after docker run" if health_at else "",
    )
    if ready_at is None:
        raise CheckFailed(f"/api/ready did not answer 200 within {READY_LIMIT_SECONDS:.0f} s")
    report.check("/api/ready answers 200", ready_body.get("ready") is True, json.dumps(ready_body))
    process_started = docker_timestamp(docker("inspect", "--format", "{{.State.StartedAt}}", name))
    report.figure(
        "time to ready",
        f"{ready_wall - process_started:.1f} s from the container's start "
        f"({ready_at - started:.1f} s from `docker run`, which includes creating it)",
    )


def check_process(name: str, report: Report) -> None:
    status = docker("exec", name, "cat", "/proc/1/status")
    command = docker("exec", name, "cat", "/proc/1/cmdline").split("\0")
    real, effective = process_uids(status)
    user = docker("exec", name, "id", "-un").strip()
    report.check(
        "runs as non-root",
        real != 0 and effective != 0,
        f"PID 1 uid {real}/{effective} ({user}): {' '.join(command).strip()[:90]}",
    )
    report.check(
        "PID 1 is Daphne (gets SIGTERM itself)",
        any(Path(part).name == "daphne" for part in command[:3]),
    )
    writable = docker(
        "exec",
        name,
        "python",
        "-c",
        "import os; print(os.access('/app/apps', os.W_OK) or os.access('/app', os.W_OK))",
    ).strip()
    report.check("the code is read-only for that user", writable == "False")
    entries = sorted(docker("exec", name, "ls", "-A", "/app").split())
    size = docker("exec", name, "du", "-sh", "/app").split()[0]
    report.check(
        "/app holds the application only",
        set(entries) <= APP_ENTRIES,
        f"{size}: {' '.join(entries)}",
    )
    healthcheck = json.loads(docker("inspect", "--format", "{{json .Config.Healthcheck}}", name))
    test = (healthcheck or {}).get("Test") or []
    ok = bool(test) and test[0] == "CMD"
    if ok:
        result = subprocess.run(
            ["docker", "exec", name, *test[1:]], capture_output=True, text=True, timeout=30
        )
        ok = result.returncode == 0
    report.check("the image's HEALTHCHECK command passes", ok)


def check_production_http(base: str, report: Report) -> None:
    status, headers, _ = http("GET", f"{base}/api/languages", edge=False)
    location = headers.get("Location", "")
    report.check(
        "plain HTTP to the API is redirected to HTTPS (production settings)",
        status == 301 and location.startswith("https://"),
        f"{status} {location}",
    )


def signup(base: str, username: str, language: str) -> str:
    reply = http_json(
        "POST",
        f"{base}/api/auth/signup",
        201,
        body={
            "username": username,
            "password": f"container check {secrets.token_urlsafe(12)}",
            "first_name": username.split("-")[0].title(),
            "last_name": "Check",
            "native_language": language,
        },
    )
    return reply["access_token"]


def socket_open(base: str, port: int, token: str) -> WebSocket:
    ticket = http_json("POST", f"{base}/api/ws/ticket", 201, token=token)["ticket"]
    return WebSocket.open(port, f"/api/ws/chat?ticket={ticket}")


def check_chat(base: str, port: int, report: Report) -> list[WebSocket]:
    suffix = uuid.uuid4().hex[:8]
    ana, ben = f"ana-{suffix}", f"ben-{suffix}"
    started = time.monotonic()
    ana_token = signup(base, ana, "es")
    ben_token = signup(base, ben, "en")
    me = http_json("GET", f"{base}/api/auth/me", 200, token=ana_token)
    report.check(
        "signup (two users), then /api/auth/me",
        me.get("username") == ana,
        f"{time.monotonic() - started:.1f} s for both, Argon2id in the container",
    )
    chat = http_json("POST", f"{base}/api/chats", 201, body={"username": ben}, token=ana_token)
    sockets = [socket_open(base, port, ben_token), socket_open(base, port, ana_token)]
    ben_socket, ana_socket = sockets
    for sock in sockets:  # both are subscribed once a ping is answered
        sock.send_json({"type": "ping"})
        sock.wait_for(lambda frame: frame.get("type") == "pong", 10)
    client_msg_id = str(uuid.uuid4())
    sent_at = time.monotonic()
    ana_socket.send_json(
        {"chat_id": chat["chat_id"], "text": "hola, ¿me lees?", "client_msg_id": client_msg_id}
    )
    ack = ana_socket.wait_for(lambda frame: frame.get("type") == "ack", 10)
    received = ben_socket.wait_for(
        lambda frame: (
            frame.get("type") == "message"
            and frame["message"].get("client_msg_id") == client_msg_id
        ),
        10,
    )
    delivered_ms = (time.monotonic() - sent_at) * 1000
    message = received["message"]
    report.check(
        "a chat message over a socket: acknowledged, delivered to the other member",
        ack.get("client_msg_id") == client_msg_id
        and message.get("original_text") == "hola, ¿me lees?"
        and message.get("seq") == ack.get("seq"),
        f"seq {ack.get('seq')}, {delivered_ms:.0f} ms; no translator configured, "
        f"translated={message.get('translated')}",
    )
    return sockets


def check_sigterm(name: str, sockets: list[WebSocket], report: Report) -> None:
    started = time.monotonic()
    docker("kill", "--signal", "TERM", name)
    try:
        exit_code = docker("wait", name, timeout=SIGTERM_LIMIT_SECONDS + 20).strip()
    except subprocess.TimeoutExpired:
        exit_code = "still running"
    seconds = time.monotonic() - started
    closes = []
    for sock in sockets:
        try:
            while sock.receive(time.monotonic() + 2) is not None:
                pass
            closes.append(
                f"close frame {sock.close_code}" if sock.close_code else "dropped, no close frame"
            )
        except TimeoutError:
            closes.append("still open")
    report.check(
        f"stops within {SIGTERM_LIMIT_SECONDS:.0f} s of SIGTERM with 2 sockets open",
        seconds <= SIGTERM_LIMIT_SECONDS and exit_code != "still running",
        f"{seconds:.1f} s, exit status {exit_code}, sockets: {', '.join(closes)}",
    )


def run_checks(image: str, build_image: bool, report: Report) -> None:
    if build_image:
        build(image, report)
    image_figures(image, report)
    with services() as (dynamodb_endpoint, redis_url):
        port = free_port()
        environment = container_environment(
            port=port,
            dynamodb_endpoint=dynamodb_endpoint,
            redis_url=redis_url,
            jwt_secret=secrets.token_urlsafe(32),
        )
        predeploy(image, environment, report)
        name = f"commonality-check-{uuid.uuid4().hex[:8]}"
        base = f"http://127.0.0.1:{port}"
        sockets: list[WebSocket] = []
        try:
            started = time.monotonic()
            docker(
                "run",
                "-d",
                "--name",
                name,
                "--network",
                "host",
                *docker_env_arguments(environment),
                image,
                env=dict(os.environ, **environment),
            )
            report.figure("container created", f"{time.monotonic() - started:.1f} s")
            wait_until_ready(name, base, started, report)
            check_process(name, report)
            check_production_http(base, report)
            sockets = check_chat(base, port, report)
            bad = non_json_lines(container_logs(name))
            report.check(
                "the logs are JSON lines (LOG_FORMAT=json outside development)",
                not bad,
                f"{len(bad)} other lines, first: {bad[0][:120]!r}" if bad else "",
            )
            check_sigterm(name, sockets, report)
            if report.failed:
                logs_print(name)
        except CheckFailed:
            logs_print(name)
            raise
        finally:
            for sock in sockets:
                sock.close()
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=DEFAULT_IMAGE, help=f"tag (default {DEFAULT_IMAGE})")
    parser.add_argument(
        "--no-build", action="store_true", help="check the image already tagged --image"
    )
    options = parser.parse_args(argv)
    why_not = docker_unavailable()
    if why_not:
        print(f"Docker is not available here: {why_not}. Container check skipped.")
        return 0
    report = Report()
    try:
        run_checks(options.image, not options.no_build, report)
    except CheckFailed as error:
        report.check("container check", False, str(error))
    passed, failed = len(report.passed), len(report.failed)
    print(f"{passed} checks passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

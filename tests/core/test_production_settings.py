"""Production settings and operations: `check --deploy` is clean, logs are JSON lines with
a request id and no credentials, and every response carries X-Request-ID.

Settings are read once per process, so production runs in child processes (manage.py, and
Daphne serving the app); the middleware and formatters are also exercised in-process."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets

from apps.core.logging import (
    JsonFormatter,
    PlainFormatter,
    RequestIdFilter,
    daphne_access_log_install,
    log_redact,
    request_id_from_header,
    request_id_var,
)
from tests.support.commands import manage_py
from tests.support.daphne import daphne_running
from tests.support.servers import child_environment, free_port

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "q9Xv2mB7rT4kL1pZ8wN3sC6yH0dF5gJaE2uR7iO4tYw="  # 44 characters, like openssl's
assert len(GOOD_SECRET) == 44
PASSWORD = "a long enough password"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")

# Variables a realistic production deploy sets (the plan's Railway table, minus keys).
CLEARED = (
    "ENVIRONMENT",
    "DEBUG",
    "JWT_SECRET",
    "DJANGO_SECRET_KEY",
    "ALLOWED_HOSTS",
    "CORS_ORIGINS",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "DJANGO_SETTINGS_MODULE",
)


def production_environment(**overrides: str) -> dict[str, str]:
    environment = child_environment()
    for name in CLEARED:
        environment.pop(name, None)
    environment.update(
        ENVIRONMENT="production",
        JWT_SECRET=GOOD_SECRET,
        REDIS_URL="rediss://default:upstash-password@example-12345.upstash.io:6379",
        ALLOWED_HOSTS="commonality-production.up.railway.app",
        CORS_ORIGINS="https://x.vercel.app",
        OPENAI_API_KEY="sk-test-not-a-real-key",
        OPENAI_TRANSLATION_MODEL="gpt-4o-mini",
        BACKEND_PORT="8080",
        PORT="8080",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        # Never AWS: a loopback port nobody listens on (check --deploy needs no DynamoDB).
        DYNAMODB_ENDPOINT=f"http://127.0.0.1:{free_port()}",
    )
    environment.update(overrides)
    return environment


def manage(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return manage_py(*arguments, environment=environment, timeout=60)


# --- check --deploy ------------------------------------------------------------------------------


@pytest.mark.parametrize("environment_name", ["production", "staging"])
def test_check_deploy_is_clean_at_warning_level(environment_name):
    result = manage(
        production_environment(ENVIRONMENT=environment_name),
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "Traceback" not in result.stderr


def test_production_security_settings():
    script = (
        "from django.conf import settings as s; import json; print(json.dumps({"
        "'debug': s.DEBUG, 'proxy': list(s.SECURE_PROXY_SSL_HEADER), "
        "'redirect': s.SECURE_SSL_REDIRECT, 'hsts': s.SECURE_HSTS_SECONDS, "
        "'session_secure': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE, "
        "'hosts': s.ALLOWED_HOSTS, 'csrf_origins': s.CSRF_TRUSTED_ORIGINS, "
        "'log_format': s.LOG_FORMAT, 'middleware': s.MIDDLEWARE}))"
    )
    result = manage(production_environment(), "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["debug"] is False
    assert report["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert report["redirect"] is True
    assert report["hsts"] >= 31536000
    assert report["session_secure"] and report["csrf_secure"]
    assert report["hosts"] == ["commonality-production.up.railway.app"]
    assert report["csrf_origins"] == ["https://x.vercel.app"]
    assert report["log_format"] == "json"
    assert report["middleware"][:2] == [
        "apps.core.middleware.request_id_middleware",
        "apps.core.middleware.health_middleware",
    ]


def test_an_unknown_log_format_is_refused_in_one_line():
    result = manage(production_environment(LOG_FORMAT="xml"), "check")
    assert result.returncode == 2
    assert result.stderr.strip() == "Configuration error: LOG_FORMAT must be json or plain"


# --- Daphne in production: JSON logs, request ids, nothing secret ------------------------------


def http(base: str, method: str, path: str, *, body=None, headers=None):
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


def test_daphne_in_production_logs_json_lines_with_request_ids_and_no_credentials(
    dynamo_tables, monkeypatch
):
    import os

    environment = {
        "ENVIRONMENT": "production",
        "JWT_SECRET": GOOD_SECRET,
        # The session's real Redis (plain redis:// on loopback) and DynamoDB.
        "REDIS_URL": os.environ["REDIS_URL"],
        "ALLOWED_HOSTS": "127.0.0.1",
        "CORS_ORIGINS": "https://x.vercel.app",
        "DYNAMODB_TABLE_PREFIX": dynamo_tables,
        "LOG_LEVEL": "INFO",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name in ("LOG_FORMAT", "DEBUG"):
        monkeypatch.delenv(name, raising=False)  # the child gets production's defaults
    # Behind Railway's proxy every request arrives as HTTPS.
    https = {"X-Forwarded-Proto": "https"}
    with daphne_running(environment) as server:
        base = server.url
        status, headers, body = http(
            base, "GET", "/api/health", headers={"X-Request-ID": "probe-1"}
        )
        assert (status, body) == (200, {"status": "ok"})
        assert headers["X-Request-ID"] == "probe-1"

        signup = {
            "username": "ana",
            "password": PASSWORD,
            "first_name": "Ana",
            "last_name": "Ruiz",
            "native_language": "es",
        }
        status, headers, body = http(
            base,
            "POST",
            "/api/auth/signup",
            body=signup,
            headers={**https, "X-Request-ID": "signup-req-1"},
        )
        assert status == 201, body
        assert headers["X-Request-ID"] == "signup-req-1"
        token = body["access_token"]

        # A token in the query string and in the header: neither may reach the log.
        status, headers, body = http(
            base,
            "GET",
            f"/api/auth/me?token={token}&ticket=SECRET-TICKET",
            headers={**https, "Authorization": f"Bearer {token}"},
        )
        assert status == 200 and body["username"] == "ana"
        # One person's answer: no browser, proxy or CDN may keep it.
        assert headers["Cache-Control"] == "no-store"
        assert "Authorization" in headers["Vary"]
        generated = headers["X-Request-ID"]
        assert GENERATED_ID.fullmatch(generated), generated

        # An X-Request-ID that is not sane is replaced, not echoed.
        status, headers, _ = http(
            base, "GET", "/api/languages", headers={**https, "X-Request-ID": "has spaces;and<more>"}
        )
        assert status == 200
        assert GENERATED_ID.fullmatch(headers["X-Request-ID"])

        async def socket_round_trip():
            ws_base = base.replace("http://", "ws://")
            async with websockets.connect(f"{ws_base}/api/ws/chat?token={token}") as socket:
                await socket.send(json.dumps({"type": "ping"}))
                reply = json.loads(await asyncio.wait_for(socket.recv(), 5))
                assert reply["type"] == "pong"

        asyncio.run(socket_round_trip())
    log = server.process.stderr.read().decode()

    lines = [line for line in log.splitlines() if line.strip()]
    assert lines, "Daphne logged nothing"
    entries = []
    for line in lines:
        entry = json.loads(line)  # every line is one JSON object
        assert {"timestamp", "level", "logger", "message", "request_id"} <= set(entry), entry
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["timestamp"])
        entries.append(entry)

    access = [entry for entry in entries if entry["logger"] == "commonality.access"]
    by_id = {entry["request_id"]: entry for entry in access}
    assert by_id["signup-req-1"]["message"].startswith("POST /api/auth/signup 201")
    assert by_id["signup-req-1"]["status"] == 201
    me = by_id[generated]
    assert me["path"] == "/api/auth/me" and "?" not in me["message"]
    # The health probe is quiet at INFO.
    assert "probe-1" not in by_id
    # Daphne's own access log came through logging, without the query string.
    sockets = [entry for entry in entries if entry["logger"] == "daphne.access"]
    assert any(entry["message"] == "websocket connected /api/ws/chat" for entry in sockets)
    assert "Starting server" in " ".join(entry["message"] for entry in entries)

    for secret in (token, *token.split("."), "SECRET-TICKET", PASSWORD, GOOD_SECRET):
        assert secret not in log
    assert "token=" not in log and "Bearer" not in log


# --- Middleware, in-process ----------------------------------------------------------------------


async def test_a_request_id_is_generated_and_echoed(async_client):
    response = await async_client.get("/api/languages")
    assert response.status_code == 200
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])
    other = await async_client.get("/api/languages")
    assert other["X-Request-ID"] != response["X-Request-ID"]


async def test_a_sane_client_request_id_is_kept(async_client):
    for request_id in ("abc-123", "0d3f9a7e-4c1b-4b0e-9b2e-8f1f2b3c4d5e", "railway:req/42+x=1"):
        response = await async_client.get("/api/languages", headers={"X-Request-ID": request_id})
        assert response["X-Request-ID"] == request_id


async def test_an_insane_client_request_id_is_replaced(async_client):
    for bad in ("", " ", "x" * 129, "a b", 'quote"d', "<script>", "-leading-dash", "é"):
        response = await async_client.get("/api/languages", headers={"X-Request-ID": bad})
        assert GENERATED_ID.fullmatch(response["X-Request-ID"]), bad


async def test_errors_and_unknown_paths_carry_the_request_id_too(async_client):
    response = await async_client.get("/api/nothing-here", headers={"X-Request-ID": "e-1"})
    assert response.status_code == 404
    assert response["X-Request-ID"] == "e-1"
    response = await async_client.get("/api/auth/me", headers={"X-Request-ID": "e-2"})
    assert response.status_code == 401
    assert response["X-Request-ID"] == "e-2"


async def test_access_lines_carry_the_request_id_and_never_the_query(async_client, caplog):
    with caplog.at_level(logging.INFO, logger="commonality.access"):
        response = await async_client.get(
            "/api/languages?token=SECRET&ticket=ALSO", headers={"X-Request-ID": "line-1"}
        )
    assert response.status_code == 200
    (record,) = [r for r in caplog.records if r.name == "commonality.access"]
    assert record.request_id == "line-1"
    assert record.getMessage().startswith("GET /api/languages 200 ")
    assert (record.method, record.path, record.status) == ("GET", "/api/languages", 200)
    assert "SECRET" not in record.getMessage() and "ALSO" not in record.getMessage()


async def test_the_request_id_follows_the_request_onto_the_blocking_pool(async_client, monkeypatch):
    from apps.core import warmup
    from apps.core.concurrency import run_blocking

    seen = []

    def blocking() -> None:
        # PynamoDB calls and password hashing run on this pool; their logs get the id.
        entry = record("inside")
        RequestIdFilter().filter(entry)
        seen.append(entry.request_id)

    async def dynamo_readiness():
        await run_blocking(blocking)()
        return None

    monkeypatch.setattr(warmup, "dynamo_readiness", dynamo_readiness)
    response = await async_client.get("/api/ready", headers={"X-Request-ID": "inside-1"})
    assert response["X-Request-ID"] == "inside-1"
    assert seen == ["inside-1"]
    # ...and does not leak into what runs after the request.
    assert request_id_var.get() == "-"


async def test_health_answers_whatever_the_host(async_client):
    # Docker's HEALTHCHECK and Railway's probe use hosts that are not in ALLOWED_HOSTS.
    for host in ("127.0.0.1:8080", "healthcheck.railway.app", "unexpected.example"):
        response = await async_client.get("/api/health", headers={"Host": host})
        assert response.status_code == 200, host
        assert response.json() == {"status": "ok"}
    # Other paths still validate the host.
    response = await async_client.get("/api/languages", headers={"Host": "unexpected.example"})
    assert response.status_code == 400
    # Other methods on /api/health still reach the view (405, as before).
    response = await async_client.post("/api/health")
    assert response.status_code == 405


async def test_ready_answers_whatever_the_host(async_client):
    # Railway's deploy probe reaches the container by its own host name.
    for host in ("127.0.0.1:8080", "healthcheck.railway.app"):
        response = await async_client.get("/api/ready", headers={"Host": host})
        assert response.status_code == 200, host
        assert response.json()["ready"] is True
        assert response["Cache-Control"] == "no-store"
    # Other methods still reach the view (405) and validate the host.
    response = await async_client.post("/api/ready", headers={"Host": "unexpected.example"})
    assert response.status_code == 400


# --- Formatters and redaction --------------------------------------------------------------------


def record(message: str, *args, **extra) -> logging.LogRecord:
    entry = logging.LogRecord("tests.logger", logging.INFO, __file__, 1, message, args, None)
    entry.__dict__.update(extra)
    return entry


def test_json_formatter_writes_one_object_per_line_with_the_request_id():
    token = request_id_var.set("json-1")
    try:
        entry = record("hello %s", "world", duration_ms=1.5)
        RequestIdFilter().filter(entry)
        line = JsonFormatter().format(entry)
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "hello world"
    assert parsed["level"] == "INFO" and parsed["logger"] == "tests.logger"
    assert parsed["request_id"] == "json-1"
    assert parsed["duration_ms"] == 1.5


def test_json_formatter_outside_a_request_and_with_an_exception():
    try:
        raise ValueError("bad value with password=hunter22")
    except ValueError:
        entry = logging.LogRecord(
            "tests.logger", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    RequestIdFilter().filter(entry)
    parsed = json.loads(JsonFormatter().format(entry))
    assert parsed["request_id"] == "-"
    assert "ValueError" in parsed["exception"]
    assert "hunter22" not in parsed["exception"]


def test_plain_formatter_shows_the_request_id_and_redacts():
    token = request_id_var.set("plain-1")
    try:
        text = PlainFormatter().format(record("GET /api/ws/chat?token=abc.def.ghi"))
    finally:
        request_id_var.reset(token)
    assert "[plain-1]" in text
    assert "abc.def.ghi" not in text and "token=[redacted]" in text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET /api/ws/chat?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln 101", "c2ln"),
        ("/api/ws/chat?ticket=T1cket-Value&x=1", "T1cket-Value"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("{'authorization': 'Bearer zzz-top'}", "zzz-top"),
        ('{"username": "ana", "password": "two words"}', "two words"),
        ("password=hunter22 and more", "hunter22"),
        ("token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig", "eyJzdWIiOiJ4In0"),
        ("connecting to rediss://default:upstash-pass@host.upstash.io:6379", "upstash-pass"),
        ("api_key=sk-live-123", "sk-live-123"),
    ],
)
def test_redaction_masks_credentials(text, secret):
    redacted = log_redact(text)
    assert secret not in redacted
    assert "[redacted]" in redacted


def test_redaction_leaves_ordinary_text_alone():
    for text in ("Invalid token", "token expired", "GET /api/chats 200 3.1ms", "4 tables ACTIVE"):
        assert log_redact(text) == text


def test_request_id_from_header():
    assert request_id_from_header("abc") == "abc"
    assert GENERATED_ID.fullmatch(request_id_from_header(None))
    assert GENERATED_ID.fullmatch(request_id_from_header("bad id"))


def test_daphne_access_log_goes_through_logging_without_the_query(caplog):
    from daphne.access import AccessLogGenerator

    daphne_access_log_install()
    daphne_access_log_install()  # idempotent
    stream = io.StringIO()
    generator = AccessLogGenerator(stream)
    with caplog.at_level(logging.DEBUG, logger="daphne.access"):
        generator(
            "http",
            "complete",
            {
                "path": "/api/auth/me?token=SECRET",
                "status": 200,
                "method": "GET",
                "client": "10.0.0.1:1234",
                "time_taken": 0.01,
                "size": 10,
            },
        )
        generator("websocket", "connecting", {"path": "/api/ws/chat?token=SECRET", "client": "x"})
    assert stream.getvalue() == "", "nothing is written to stdout directly"
    messages = [r.getMessage() for r in caplog.records if r.name == "daphne.access"]
    assert messages == ["GET /api/auth/me 200", "websocket connecting /api/ws/chat"]
    assert [r.levelno for r in caplog.records if r.name == "daphne.access"] == [
        logging.DEBUG,
        logging.INFO,
    ]

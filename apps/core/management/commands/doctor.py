"""`manage.py doctor`: is this deployment configured, and can it reach what it needs?"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

OK = "ok"
DOWN = "down"
CONFIGURED = "configured"
MISSING = "missing"
WARNING = "warning"
SKIPPED = "skipped"
# Statuses that fail the command when the check is required (and, with --strict, always).
FAILING = frozenset({DOWN, MISSING})


@dataclass
class Check:
    name: str
    status: str
    detail: str
    required: bool = False

    @property
    def failed(self) -> bool:
        return self.required and self.status in FAILING


class Command(BaseCommand):
    help = (
        "Check this deployment's configuration and dependencies and print them as a table: "
        "DynamoDB (every table ACTIVE), Redis (PING), and whether the OpenAI, ElevenLabs and "
        "LiveKit credentials are configured and well-formed. Providers are never contacted "
        "(a base URL on a loopback address is probed with a TCP connect). Exits 1 when a "
        "required dependency is down or missing; --strict also fails on warnings and missing "
        "providers."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout",
            type=float,
            default=5.0,
            help="seconds to wait for each dependency (default 5)",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="also exit 1 on warnings and on providers that are not configured",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print JSON instead of a table"
        )

    def handle(self, *args, timeout: float, strict: bool, as_json: bool, **options):
        if timeout <= 0:
            raise CommandError("--timeout must be a positive number of seconds")
        checks = [
            environment_check(),
            jwt_secret_check(),
            hosts_check(),
            cors_check(),
            aws_credentials_check(),
            dynamodb_check(timeout=timeout),
            redis_check(timeout=timeout),
            openai_check(timeout=timeout),
            elevenlabs_check(timeout=timeout),
            livekit_check(timeout=timeout),
        ]
        if as_json:
            self.stdout.write(_json_dumps([asdict(check) for check in checks]))
        else:
            self.stdout.write(checks_table(checks))
        failed = [check.name for check in checks if check.failed]
        if strict:
            failed += [
                check.name
                for check in checks
                if not check.failed and check.status in (WARNING, MISSING, DOWN)
            ]
        if failed:
            raise CommandError(f"{len(failed)} check(s) failed: {', '.join(failed)}")
        if not as_json:
            self.stdout.write(self.style.SUCCESS("every required dependency is reachable"))


def _json_dumps(value) -> str:
    return json.dumps(value, indent=2)


def checks_table(checks: list[Check]) -> str:
    rows = [("CHECK", "STATUS", "DETAIL")] + [
        (check.name + (" *" if check.required else ""), check.status, check.detail)
        for check in checks
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    lines = [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows]
    lines.append("* required")
    return "\n".join(lines)


# --- Helpers -------------------------------------------------------------------------------


def run_with_timeout(function: Callable[[], str], timeout: float) -> tuple[bool, str]:
    """(succeeded, detail or reason) of `function()`, given at most `timeout` seconds.

    A daemon thread, so a dependency that hangs cannot keep the command from exiting.
    """
    outcome: list[tuple[bool, str]] = []

    def target() -> None:
        try:
            outcome.append((True, function()))
        except Exception as error:  # reported, whatever it is
            outcome.append((False, error_reason(error)))

    thread = threading.Thread(target=target, name="doctor-check", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        return False, f"no answer within {timeout:g}s"
    return outcome[0]


def error_reason(error: BaseException) -> str:
    """One line: the innermost cause's code and message (botocore's when there is one)."""
    from apps.core.commands import dynamo_error_reason
    from apps.core.logging import log_redact

    return log_redact(dynamo_error_reason(error))


def url_is_loopback(url: str) -> bool:
    """True only for a literal loopback address or `localhost`; names are never resolved."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_display(url: str) -> str:
    """scheme://host:port, without credentials, path or query."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def loopback_probe(url: str, timeout: float) -> tuple[bool, str]:
    parts = urlsplit(url)
    default_port = 443 if parts.scheme in ("https", "wss") else 80
    port = parts.port or default_port

    def connect() -> str:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return f"{url_display(url)} accepts connections"

    return run_with_timeout(connect, timeout)


# --- Checks --------------------------------------------------------------------------------


def environment_check() -> Check:
    debug = "on" if settings.DEBUG else "off"
    return Check("environment", OK, f"{settings.ENVIRONMENT} (DEBUG {debug})")


def jwt_secret_check() -> Check:
    if settings.JWT_SECRET == settings.DEVELOPMENT_JWT_SECRET:
        status = OK if settings.IS_DEVELOPMENT else WARNING
        return Check("jwt_secret", status, "development default (never deploy it)", True)
    return Check("jwt_secret", OK, f"set, {len(settings.JWT_SECRET)} characters", True)


def hosts_check() -> Check:
    hosts = ", ".join(settings.ALLOWED_HOSTS) or "(none)"
    return Check("allowed_hosts", OK if settings.ALLOWED_HOSTS else MISSING, hosts, True)


def cors_check() -> Check:
    origins = settings.CORS_ORIGINS
    if not origins:
        return Check("cors_origins", WARNING, "none: browsers cannot call the API")
    insecure = [origin for origin in origins if origin.startswith("http://")]
    if insecure and not settings.IS_DEVELOPMENT:
        return Check("cors_origins", WARNING, f"not HTTPS: {', '.join(insecure)}")
    return Check("cors_origins", OK, ", ".join(origins))


def aws_credentials_check() -> Check:
    endpoint = settings.DYNAMODB_ENDPOINT
    if endpoint == settings.DYNAMODB_EMBEDDED:
        return Check("aws_credentials", SKIPPED, "embedded DynamoDB needs none")
    if settings.AWS_ACCESS_KEY_ID and settings.AWS_SECRET_ACCESS_KEY:
        kind = "temporary" if settings.AWS_SESSION_TOKEN else "static"
        return Check("aws_credentials", CONFIGURED, f"{kind} keys from AWS_ACCESS_KEY_ID")
    if settings.AWS_ACCESS_KEY_ID or settings.AWS_SECRET_ACCESS_KEY:
        return Check(
            "aws_credentials",
            WARNING,
            "only one of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is set",
        )
    return Check("aws_credentials", CONFIGURED, "default AWS chain (an IAM role, say)")


def dynamodb_target() -> str:
    endpoint = settings.DYNAMODB_ENDPOINT
    if endpoint is None:
        return f"AWS DynamoDB ({settings.AWS_REGION})"
    if endpoint == settings.DYNAMODB_EMBEDDED:
        return "embedded DynamoDB"
    return url_display(endpoint)


def dynamodb_check(*, timeout: float) -> Check:
    from apps.core.dynamo import dynamo_table_models, dynamo_tables_status

    def tables() -> str:
        status = dynamo_tables_status()
        if status.missing:
            raise LookupError(
                f"missing tables: {', '.join(status.missing)} (run manage.py create_dynamo_tables)"
            )
        if status.inactive:
            raise LookupError(f"not ACTIVE yet: {', '.join(status.inactive)}")
        return f"{len(dynamo_table_models())} tables ACTIVE"

    target = dynamodb_target()
    prefix = settings.DYNAMODB_TABLE_PREFIX
    where = f"{target}, prefix {prefix!r}" if prefix else target
    succeeded, detail = run_with_timeout(tables, timeout)
    if succeeded and settings.DYNAMODB_ENDPOINT and not settings.IS_DEVELOPMENT:
        return Check(
            "dynamodb",
            WARNING,
            f"{where}: {detail}; DYNAMODB_ENDPOINT is set (omit it in production)",
            True,
        )
    return Check("dynamodb", OK if succeeded else DOWN, f"{where}: {detail}", True)


def redis_check(*, timeout: float) -> Check:
    url = settings.REDIS_URL
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    if not url:
        if settings.IS_DEVELOPMENT:
            return Check("redis", SKIPPED, f"REDIS_URL unset: {layer} (one process)")
        return Check("redis", MISSING, "REDIS_URL is required outside development", True)

    def ping() -> str:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            if not client.ping():
                raise ConnectionError("PING was not answered")
        finally:
            client.close()
        return "PING answered"

    tls = "TLS" if url.startswith("rediss://") else "no TLS"
    succeeded, detail = run_with_timeout(ping, timeout)
    return Check(
        "redis",
        OK if succeeded else DOWN,
        f"{url_display(url)} ({tls}, {layer}): {detail}",
        True,
    )


def _provider_base_url(base_url: str | None, timeout: float) -> tuple[str, bool]:
    """(text about the base URL, whether it is fine)."""
    if not base_url:
        return "", True
    if not url_is_loopback(base_url):
        return f", base URL {url_display(base_url)} (not contacted)", True
    reachable, detail = loopback_probe(base_url, timeout)
    if reachable:
        return f", {detail}", True
    return f", loopback base URL unreachable: {detail}", False


def openai_check(*, timeout: float) -> Check:
    key = settings.OPENAI_API_KEY
    model = settings.OPENAI_TRANSLATION_MODEL
    if not key:
        return Check("openai", MISSING, "OPENAI_API_KEY unset: messages go untranslated")
    status, notes = CONFIGURED, f"key set ({len(key)} characters), model {model}"
    if any(character.isspace() for character in key):
        status, notes = WARNING, "OPENAI_API_KEY contains whitespace"
    elif not key.startswith("sk-") and not settings.OPENAI_BASE_URL:
        status = WARNING
        notes = f"OPENAI_API_KEY does not look like an OpenAI key (sk-...), model {model}"
    base, fine = _provider_base_url(settings.OPENAI_BASE_URL, timeout)
    return Check("openai", status if fine else WARNING, notes + base)


def elevenlabs_check(*, timeout: float) -> Check:
    key = settings.ELEVENLABS_API_KEY
    if not key:
        return Check("elevenlabs", MISSING, "ELEVENLABS_API_KEY unset: no speech")
    status = CONFIGURED
    notes = (
        f"key set ({len(key)} characters), voice {settings.ELEVENLABS_TTS_VOICE_ID}, "
        f"model {settings.ELEVENLABS_TTS_MODEL}"
    )
    if any(character.isspace() for character in key) or len(key) < 20:
        status, notes = WARNING, "ELEVENLABS_API_KEY is malformed (whitespace, or too short)"
    base, fine = _provider_base_url(settings.ELEVENLABS_BASE_URL, timeout)
    return Check("elevenlabs", status if fine else WARNING, notes + base)


def livekit_check(*, timeout: float) -> Check:
    values = {
        "LIVEKIT_API_KEY": settings.LIVEKIT_API_KEY,
        "LIVEKIT_API_SECRET": settings.LIVEKIT_API_SECRET,
        "LIVEKIT_URL": settings.LIVEKIT_URL,
    }
    unset = [name for name, value in values.items() if not value]
    if len(unset) == len(values):
        return Check("livekit", MISSING, "LIVEKIT_* unset: no calls")
    if unset:
        return Check("livekit", WARNING, f"incomplete: {', '.join(unset)} unset")
    url = settings.LIVEKIT_URL
    scheme = urlsplit(url).scheme
    if scheme not in ("ws", "wss", "http", "https"):
        detail = f"LIVEKIT_URL must be wss://... (got {scheme or 'no'} scheme)"
        return Check("livekit", WARNING, detail)
    if scheme in ("ws", "http") and not settings.IS_DEVELOPMENT and not url_is_loopback(url):
        return Check("livekit", WARNING, f"LIVEKIT_URL is not TLS ({url_display(url)}); use wss://")
    notes = f"key and secret set, {url_display(url)}"
    if len(settings.LIVEKIT_API_SECRET) < 32 and not settings.IS_DEVELOPMENT:
        return Check("livekit", WARNING, f"{notes}; LIVEKIT_API_SECRET is shorter than 32")
    if url_is_loopback(url):
        reachable, detail = loopback_probe(url, timeout)
        if not reachable:
            return Check("livekit", WARNING, f"{notes}; loopback server unreachable: {detail}")
        return Check("livekit", CONFIGURED, f"{notes}; {detail}")
    return Check("livekit", CONFIGURED, f"{notes} (not contacted)")

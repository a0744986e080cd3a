"""`manage.py doctor`: a table of what is configured and reachable; exit 1 when something
required is down. In-process with pytest-django's `settings` for most cases; a child
process for exit codes and the one-line error."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.commands import manage_py
from tests.support.servers import child_environment, free_port

ROOT = Path(__file__).resolve().parents[2]


def doctor(*arguments: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("doctor", *arguments, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def rows(output: str) -> dict[str, tuple[str, str]]:
    """CHECK -> (STATUS, DETAIL), read from the table by its header's column positions."""
    lines = output.splitlines()
    header = lines[0]
    status_at, detail_at = header.index("STATUS"), header.index("DETAIL")
    table = {}
    for line in lines[1:]:
        if line.startswith("* required"):
            break
        name = line[:status_at].strip().removesuffix(" *")
        table[name] = (line[status_at:detail_at].strip(), line[detail_at:].strip())
    return table


@pytest.fixture
def no_providers(settings):
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ELEVENLABS_API_KEY",
        "ELEVENLABS_BASE_URL",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
        "LIVEKIT_URL",
    ):
        setattr(settings, name, None)
    return settings


def test_everything_reachable_prints_a_table_and_succeeds(no_providers):
    output, error = doctor()
    assert error is None, output
    table = rows(output)
    assert output.splitlines()[0].split() == ["CHECK", "STATUS", "DETAIL"]
    assert set(table) == {
        "environment",
        "jwt_secret",
        "allowed_hosts",
        "cors_origins",
        "aws_credentials",
        "dynamodb",
        "redis",
        "openai",
        "elevenlabs",
        "livekit",
    }
    assert table["dynamodb"][0] == "ok"
    assert "6 tables ACTIVE" in table["dynamodb"][1]
    assert table["redis"][0] == "ok"
    assert "PING answered" in table["redis"][1]
    for provider in ("openai", "elevenlabs", "livekit"):
        assert table[provider][0] == "missing", table[provider]
    assert "every required dependency is reachable" in output
    # Required checks are marked.
    assert any(line.startswith("dynamodb *") for line in output.splitlines())
    assert any(line.startswith("redis *") for line in output.splitlines())


def test_unreachable_dynamodb_fails_naming_it(no_providers, settings):
    from apps.core.dynamo import dynamo_configure, dynamo_target_from_settings

    settings.DYNAMODB_ENDPOINT = f"http://127.0.0.1:{free_port()}"
    dynamo_configure(dynamo_target_from_settings())  # the fixture points them back after
    started = time.monotonic()
    output, error = doctor("--timeout", "3")
    assert time.monotonic() - started < 10
    assert error is not None
    assert str(error) == "1 check(s) failed: dynamodb"
    status, detail = rows(output)["dynamodb"]
    assert status == "down"
    assert settings.DYNAMODB_ENDPOINT in detail


def test_missing_tables_are_named(no_providers, settings):
    from apps.core.dynamo import dynamo_configure, dynamo_target_from_settings

    settings.DYNAMODB_TABLE_PREFIX = "doctor_nothing_here_"
    dynamo_configure(dynamo_target_from_settings())
    output, error = doctor()
    assert str(error) == "1 check(s) failed: dynamodb"
    status, detail = rows(output)["dynamodb"]
    assert status == "down"
    assert "missing tables: doctor_nothing_here_users" in detail
    assert "create_dynamo_tables" in detail


def test_unreachable_redis_fails_naming_it(no_providers, settings):
    settings.REDIS_URL = f"redis://default:redis-secret@127.0.0.1:{free_port()}/0"
    output, error = doctor("--timeout", "2")
    assert str(error) == "1 check(s) failed: redis"
    status, detail = rows(output)["redis"]
    assert status == "down"
    assert "redis-secret" not in output, "the URL's password is never printed"


def test_redis_unset_in_development_is_skipped_not_failed(no_providers, settings):
    settings.REDIS_URL = None
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    output, error = doctor()
    assert error is None, output
    assert rows(output)["redis"][0] == "skipped"


def test_providers_are_reported_never_contacted_and_never_printed(settings):
    settings.OPENAI_API_KEY = "sk-proj-supersecretvalue1234567890"
    settings.OPENAI_BASE_URL = None
    settings.ELEVENLABS_API_KEY = "sk_elevenlabssecretvalue1234567890abcd"
    settings.ELEVENLABS_BASE_URL = None
    settings.LIVEKIT_API_KEY = "APIabcdef123456"
    settings.LIVEKIT_API_SECRET = "livekitsecretlivekitsecretlivekitsecret"
    # A host that must not be contacted (and cannot be, from the tests).
    settings.LIVEKIT_URL = "wss://example-project.livekit.cloud"
    output, error = doctor("--timeout", "2")
    assert error is None, output
    table = rows(output)
    assert table["openai"][0] == "configured"
    assert settings.OPENAI_TRANSLATION_MODEL in table["openai"][1]
    assert table["elevenlabs"][0] == "configured"
    assert table["livekit"][0] == "configured"
    assert "not contacted" in table["livekit"][1]
    for secret in (
        settings.OPENAI_API_KEY,
        settings.ELEVENLABS_API_KEY,
        settings.LIVEKIT_API_SECRET,
        "supersecret",
    ):
        assert secret not in output


def test_malformed_and_incomplete_provider_settings_are_warnings(settings):
    settings.OPENAI_API_KEY = "not an openai key"
    settings.OPENAI_BASE_URL = None
    settings.ELEVENLABS_API_KEY = "short"
    settings.LIVEKIT_API_KEY = "devkey"
    settings.LIVEKIT_API_SECRET = None
    settings.LIVEKIT_URL = "wss://example-project.livekit.cloud"
    output, error = doctor()
    assert error is None, "providers are optional: warnings only"
    table = rows(output)
    assert table["openai"][0] == "warning"
    assert table["elevenlabs"][0] == "warning"
    assert table["livekit"] == ("warning", "incomplete: LIVEKIT_API_SECRET unset")
    output, error = doctor("--strict")
    assert error is not None
    assert "openai" in str(error) and "elevenlabs" in str(error) and "livekit" in str(error)


def test_a_loopback_base_url_is_probed(settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        port = listener.getsockname()[1]
        settings.OPENAI_API_KEY = "test-key"
        settings.OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"
        settings.ELEVENLABS_API_KEY = "elevenlabs-test-key-123456"
        settings.ELEVENLABS_BASE_URL = f"http://127.0.0.1:{free_port()}"
        output, error = doctor("--timeout", "2")
    finally:
        listener.close()
    assert error is None, output
    table = rows(output)
    assert table["openai"][0] == "configured"
    assert f"http://127.0.0.1:{port} accepts connections" in table["openai"][1]
    assert table["elevenlabs"][0] == "warning"
    assert "loopback base URL unreachable" in table["elevenlabs"][1]


def test_json_output(no_providers):
    output, error = doctor("--json")
    assert error is None
    checks = json.loads(output)
    by_name = {check["name"]: check for check in checks}
    assert by_name["dynamodb"]["status"] == "ok" and by_name["dynamodb"]["required"] is True
    assert by_name["openai"]["status"] == "missing" and by_name["openai"]["required"] is False


def test_a_bad_timeout_is_refused():
    with pytest.raises(CommandError, match="--timeout must be a positive number"):
        call_command("doctor", "--timeout", "0", stdout=StringIO())


def test_help_describes_the_command():
    result = manage_py("doctor", "--help", environment=child_environment(), timeout=60)
    assert result.returncode == 0
    for word in ("DynamoDB", "Redis", "OpenAI", "ElevenLabs", "LiveKit", "--strict", "--timeout"):
        assert word in result.stdout


@pytest.mark.parametrize("broken", ["DYNAMODB_ENDPOINT", "REDIS_URL"])
def test_in_production_a_dependency_down_exits_1_with_one_line(broken):
    environment = child_environment()
    environment.update(
        ENVIRONMENT="production",
        JWT_SECRET="q9Xv2mB7rT4kL1pZ8wN3sC6yH0dF5gJaE2uR7iO4tYw=",
        ALLOWED_HOSTS="example.com",
        CORS_ORIGINS="https://x.vercel.app",
        DYNAMODB_TABLE_PREFIX="doctor_prod_",
        AWS_EC2_METADATA_DISABLED="true",
    )
    environment[broken] = (
        f"http://127.0.0.1:{free_port()}"
        if broken == "DYNAMODB_ENDPOINT"
        else f"redis://127.0.0.1:{free_port()}/0"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "doctor", "--timeout", "3"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: "), result.stderr
    assert ("dynamodb" if broken == "DYNAMODB_ENDPOINT" else "redis") in lines[0]
    assert "CHECK" in result.stdout  # the table is printed before the verdict
    table = rows(result.stdout)
    assert table["environment"][1] == "production (DEBUG off)"
    assert table["dynamodb" if broken == "DYNAMODB_ENDPOINT" else "redis"][0] == "down"

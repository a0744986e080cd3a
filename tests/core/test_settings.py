"""Settings refuse undeployable environments: each case runs `manage.py` in a child process
with a controlled environment, because settings are read once, at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.commands import manage_py
from tests.support.servers import child_environment, free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
COMMAND_TIMEOUT = 60

# Every variable settings.py reads (plus Django's own), removed so each case starts clean.
SETTINGS_VARIABLES = (
    "ENVIRONMENT",
    "DEBUG",
    "JWT_SECRET",
    "JWT_EXPIRATION_MINUTES",
    "DJANGO_SECRET_KEY",
    "PASSWORD_MIN_LENGTH",
    "BACKEND_PORT",
    "PORT",
    "ALLOWED_HOSTS",
    "CORS_ORIGINS",
    "CSRF_TRUSTED_ORIGINS",
    "DYNAMODB_ENDPOINT",
    "DYNAMODB_TABLE_PREFIX",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "REDIS_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "LOG_LEVEL",
    "DJANGO_SETTINGS_MODULE",
)

GOOD_SECRET = "q9Xv2mB7rT4kL1pZ8wN3sC6yH0dF5gJaE2uR7iO4tYw="  # 44 characters, like openssl's
assert len(GOOD_SECRET) == 44


@pytest.fixture(autouse=True)
def dynamo_tables():
    """These tests run everything in child processes; they need no in-process tables."""
    yield None


def closed_loopback_url() -> str:
    """A loopback URL on which nothing listens, so nothing can reach AWS by default."""
    return f"http://127.0.0.1:{free_port()}"


def base_environment(**overrides: str) -> dict[str, str]:
    environment = child_environment()
    for name in SETTINGS_VARIABLES:
        environment.pop(name, None)
    # Never let a child fall back to AWS's real endpoint.
    environment["DYNAMODB_ENDPOINT"] = closed_loopback_url()
    environment.update(overrides)
    return environment


def production_environment(**overrides: str) -> dict[str, str]:
    environment = base_environment(
        ENVIRONMENT="production",
        JWT_SECRET=GOOD_SECRET,
        REDIS_URL="redis://127.0.0.1:1/0",
        ALLOWED_HOSTS="example.com",
    )
    environment.update(overrides)
    return environment


def without(environment: dict[str, str], *names: str) -> dict[str, str]:
    return {name: value for name, value in environment.items() if name not in names}


def manage(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return manage_py(*arguments, environment=environment, timeout=COMMAND_TIMEOUT)


def assert_refused(result: subprocess.CompletedProcess, variable: str) -> str:
    """Exit 2 with one line on stderr that names `variable`, and no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Configuration error: "), line
    assert variable in line, line
    # The check never ran, so nothing claims the configuration is fine.
    assert "no issues" not in result.stdout
    return line


# --- Refused ---------------------------------------------------------------------------------


def test_production_without_jwt_secret_is_refused():
    result = manage(without(production_environment(), "JWT_SECRET"), "check")
    line = assert_refused(result, "JWT_SECRET")
    assert "required" in line
    assert "ENVIRONMENT=production" in line


def test_production_with_blank_jwt_secret_is_refused():
    result = manage(production_environment(JWT_SECRET="   "), "check")
    assert "required" in assert_refused(result, "JWT_SECRET")


@pytest.mark.parametrize("secret", ["change-me", "  CHANGE-ME  "])
def test_production_with_a_known_default_jwt_secret_is_refused(secret):
    line = assert_refused(manage(production_environment(JWT_SECRET=secret), "check"), "JWT_SECRET")
    assert "known default" in line


def test_production_with_the_development_jwt_secret_is_refused():
    from django.conf import settings

    secret = settings.DEVELOPMENT_JWT_SECRET
    # Long enough to pass the length rule: only the known-default rule can refuse it.
    assert len(secret) >= settings.JWT_SECRET_MIN_LENGTH
    result = manage(production_environment(JWT_SECRET=secret), "check")
    line = assert_refused(result, "JWT_SECRET")
    assert "known default" in line
    assert secret not in line  # the message names the variable, not the value


def test_production_with_a_short_jwt_secret_is_refused():
    short = GOOD_SECRET[:31]
    line = assert_refused(manage(production_environment(JWT_SECRET=short), "check"), "JWT_SECRET")
    assert "32" in line
    assert short not in line


def test_production_with_a_jwt_secret_of_exactly_32_characters_starts():
    result = manage(production_environment(JWT_SECRET=GOOD_SECRET[:32]), "check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_without_redis_url_is_refused():
    result = manage(without(production_environment(), "REDIS_URL"), "check")
    assert_refused(result, "REDIS_URL")


def test_production_without_allowed_hosts_is_refused():
    result = manage(without(production_environment(), "ALLOWED_HOSTS"), "check")
    assert_refused(result, "ALLOWED_HOSTS")


def test_unknown_environment_is_refused():
    result = manage(base_environment(ENVIRONMENT="bogus"), "check")
    line = assert_refused(result, "ENVIRONMENT")
    assert "bogus" in line
    for name in ("development", "staging", "production"):
        assert name in line


def test_embedded_dynamodb_in_production_is_refused():
    result = manage(production_environment(DYNAMODB_ENDPOINT="embedded"), "check")
    line = assert_refused(result, "DYNAMODB_ENDPOINT")
    assert "embedded" in line


# --- Staging is held to production's rules -----------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "variable"),
    [("JWT_SECRET", "JWT_SECRET"), ("REDIS_URL", "REDIS_URL"), ("ALLOWED_HOSTS", "ALLOWED_HOSTS")],
)
def test_staging_without_a_required_variable_is_refused(missing, variable):
    environment = without(production_environment(ENVIRONMENT="staging"), missing)
    assert_refused(manage(environment, "check"), variable)


def test_staging_with_a_known_default_jwt_secret_is_refused():
    result = manage(production_environment(ENVIRONMENT="staging", JWT_SECRET="change-me"), "check")
    assert_refused(result, "JWT_SECRET")


def test_staging_with_embedded_dynamodb_is_refused():
    result = manage(
        production_environment(ENVIRONMENT="staging", DYNAMODB_ENDPOINT="embedded"), "check"
    )
    assert_refused(result, "DYNAMODB_ENDPOINT")


# --- Accepted ----------------------------------------------------------------------------------

SETTINGS_REPORT = (
    "from django.conf import settings; "
    "print(settings.ENVIRONMENT, settings.DEBUG, settings.IS_DEVELOPMENT, "
    "settings.ALLOWED_HOSTS, settings.JWT_SECRET == {secret!r}, "
    "settings.CHANNEL_LAYERS['default']['BACKEND'], "
    "getattr(settings, 'SECURE_SSL_REDIRECT', None))"
)


@pytest.mark.parametrize("environment_name", ["production", "staging"])
def test_a_good_deployed_environment_passes_check(environment_name):
    environment = production_environment(ENVIRONMENT=environment_name)
    result = manage(environment, "check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_good_production_environment_runs_without_debug():
    result = manage(
        production_environment(), "shell", "-c", SETTINGS_REPORT.format(secret=GOOD_SECRET)
    )
    assert result.returncode == 0, result.stderr
    report = result.stdout.strip().splitlines()[-1]
    assert report == (
        "production False False ['example.com'] True "
        "apps.core.channel_layer.ReconnectingPubSubChannelLayer True"
    )


def test_production_ignores_debug_true():
    result = manage(
        production_environment(DEBUG="true"),
        "shell",
        "-c",
        "from django.conf import settings; print('DEBUG', settings.DEBUG)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "DEBUG False"


def test_development_without_jwt_secret_starts_with_the_development_secret():
    environment = base_environment(ENVIRONMENT="development")
    assert "JWT_SECRET" not in environment
    result = manage(environment, "check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert result.stderr == ""
    report = manage(
        environment,
        "shell",
        "-c",
        "from django.conf import settings; "
        "print(settings.ENVIRONMENT, settings.DEBUG, "
        "settings.JWT_SECRET == settings.DEVELOPMENT_JWT_SECRET, "
        "settings.CHANNEL_LAYERS['default']['BACKEND'])",
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.strip().splitlines()[-1] == (
        "development True True channels.layers.InMemoryChannelLayer"
    )


# --- Fail closed: ENVIRONMENT unset means production ------------------------------------------


def test_unset_environment_without_secrets_is_refused_and_says_how_to_run_locally():
    environment = base_environment()
    assert "ENVIRONMENT" not in environment and "JWT_SECRET" not in environment
    line = assert_refused(manage(environment, "check"), "JWT_SECRET")
    assert "ENVIRONMENT=production" in line
    assert "ENVIRONMENT is unset" in line
    assert "set ENVIRONMENT=development" in line


def test_unset_environment_applies_production_settings_and_ignores_debug():
    result = manage(
        without(production_environment(DEBUG="true"), "ENVIRONMENT"),
        "shell",
        "-c",
        SETTINGS_REPORT.format(secret=GOOD_SECRET),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "production False False ['example.com'] True "
        "apps.core.channel_layer.ReconnectingPubSubChannelLayer True"
    )


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_environment_counts_as_unset(blank):
    line = assert_refused(manage(base_environment(ENVIRONMENT=blank), "check"), "JWT_SECRET")
    assert "set ENVIRONMENT=development" in line


def test_an_explicit_production_refusal_has_no_local_run_hint():
    line = assert_refused(
        manage(without(production_environment(), "REDIS_URL"), "check"), "REDIS_URL"
    )
    assert "ENVIRONMENT is unset" not in line


# --- Weak secrets and open hosts are refused outside development -------------------------------

WEAK_SECRETS = {
    "one character": "a" * 32,
    "three characters": "abc" * 11,
    "a word repeated": "password" * 4,
    "a word repeated, then padded": "commonality" * 3 + "!",
    "sixteen characters twice": "abcdefghijklmnop" * 2,
}


@pytest.mark.parametrize("secret", WEAK_SECRETS.values(), ids=WEAK_SECRETS.keys())
@pytest.mark.parametrize("environment_name", ["production", "staging"])
def test_a_low_entropy_jwt_secret_is_refused(environment_name, secret):
    assert len(secret) >= 32  # the length rule alone would accept it
    result = manage(
        production_environment(ENVIRONMENT=environment_name, JWT_SECRET=secret), "check"
    )
    line = assert_refused(result, "JWT_SECRET")
    assert secret not in line
    assert "openssl rand -base64 32" in line


def test_a_low_entropy_jwt_secret_is_accepted_in_development():
    environment = base_environment(ENVIRONMENT="development", JWT_SECRET="a" * 32)
    assert manage(environment, "check").returncode == 0


@pytest.mark.parametrize("secret", ["a" * 50, "short", "change-me"])
def test_a_weak_django_secret_key_is_refused(secret):
    result = manage(production_environment(DJANGO_SECRET_KEY=secret), "check")
    line = assert_refused(result, "DJANGO_SECRET_KEY")
    assert secret not in line


def test_a_strong_django_secret_key_is_accepted():
    key = "Zt7#pQ2@vL9!xR4$kM8%wN3^jB6&hF1*dG5(sC0)yU-e_a+o=iKlPmXcVbTnQrWz"
    result = manage(production_environment(DJANGO_SECRET_KEY=key), "check")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("hosts", ["*", "example.com,*", " * "])
def test_allowed_hosts_wildcard_is_refused_outside_development(hosts):
    line = assert_refused(
        manage(production_environment(ALLOWED_HOSTS=hosts), "check"), "ALLOWED_HOSTS"
    )
    assert "*" in line


# --- Accounts: password hashing and credential throttles -------------------------------------


def _setting(environment: dict[str, str], name: str) -> str:
    result = manage(
        environment, "shell", "-c", f"from django.conf import settings; print(settings.{name})"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_one_trusted_proxy_hop_outside_development_and_none_in_development():
    assert _setting(production_environment(), "TRUSTED_PROXY_HOPS") == "1"
    assert _setting(base_environment(ENVIRONMENT="development"), "TRUSTED_PROXY_HOPS") == "0"
    assert _setting(production_environment(TRUSTED_PROXY_HOPS="2"), "TRUSTED_PROXY_HOPS") == "2"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOGIN_RATE_LIMIT_PER_ACCOUNT_COUNT", "0"),
        ("WS_TICKET_RATE_LIMIT_WINDOW_SECONDS", "-5"),
        ("PASSWORD_HASH_WORKERS", "0"),
        ("TRUSTED_PROXY_HOPS", "-1"),
    ],
)
def test_a_throttle_or_hashing_setting_out_of_range_is_refused(variable, value):
    assert_refused(
        manage(base_environment(ENVIRONMENT="development", **{variable: value}), "check"), variable
    )

"""Django's technical 500 page (the DEBUG page) rendered with the project's filter: the
credentials in settings, request and frame variables are never on it."""

from __future__ import annotations

import sys

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.views.debug import get_default_exception_reporter_filter, technical_500_response

from apps.core.exception_reporter import CredentialHidingExceptionReporterFilter

REDIS_PASSWORD = "upstash-pw-4f9c2e71"
DYNAMO_PASSWORD = "dynamo-pw-8a1b3c5d"
UPSTREAM_PASSWORD = "nested-pw-77aa99"
OPENAI_KEY = "sk-proj-not-real-0a1b2c3d4e5f"
LIVEKIT_SECRET = "livekit-secret-value-123456"
ELEVENLABS_KEY = "el-key-value-abcdef"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJlLXZhbHVl"
QUERY_TICKET = "ticket-value-5566"
BODY_PASSWORD = "a long enough password"

SECRETS = (
    REDIS_PASSWORD,
    DYNAMO_PASSWORD,
    UPSTREAM_PASSWORD,
    OPENAI_KEY,
    LIVEKIT_SECRET,
    ELEVENLABS_KEY,
    BEARER,
    QUERY_TICKET,
    BODY_PASSWORD,
)


@pytest.fixture(autouse=True)
def dynamo_tables():
    """Renders a page in-process: no tables needed."""
    yield None


def failing_view(request):
    connection_url = f"rediss://default:{REDIS_PASSWORD}@example-12345.upstash.io:6379"
    body = {"username": "ana", "password": BODY_PASSWORD}
    raise ConnectionError(f"could not reach {connection_url} for {body['username']}")


def debug_page() -> str:
    request = RequestFactory().get(
        f"/api/chats?ticket={QUERY_TICKET}", HTTP_AUTHORIZATION=f"Bearer {BEARER}"
    )
    try:
        failing_view(request)
    except ConnectionError:
        response = technical_500_response(request, *sys.exc_info())
    assert response.status_code == 500
    return response.content.decode()


@override_settings(
    REDIS_URL=f"rediss://default:{REDIS_PASSWORD}@example-12345.upstash.io:6379",
    DYNAMODB_ENDPOINT=f"https://admin:{DYNAMO_PASSWORD}@dynamo.example.internal:8000",
    UPSTREAM_HOSTS={
        "CONFIG": {"hosts": [f"redis://user:{UPSTREAM_PASSWORD}@cache.internal:6379/0"]}
    },
    OPENAI_API_KEY=OPENAI_KEY,
    LIVEKIT_API_SECRET=LIVEKIT_SECRET,
    ELEVENLABS_API_KEY=ELEVENLABS_KEY,
)
def test_the_debug_page_shows_no_credential():
    assert settings.DEFAULT_EXCEPTION_REPORTER_FILTER == (
        "apps.core.exception_reporter.CredentialHidingExceptionReporterFilter"
    )
    assert settings.DEFAULT_EXCEPTION_REPORTER == (
        "apps.core.exception_reporter.CredentialHidingExceptionReporter"
    )
    page = debug_page()
    # The page did render the settings, the request and the frame variables...
    assert "dynamo.example.internal:8000" in page
    assert "cache.internal:6379" in page
    assert "connection_url" in page and "failing_view" in page
    assert "could not reach rediss://" in page and "upstash.io:6379 for ana" in page
    assert "/api/chats?ticket=" in page
    # ...without any secret in them.
    for secret in SECRETS:
        assert secret not in page, secret


def test_the_filter_masks_url_userinfo_in_any_setting_and_hides_provider_settings():
    reporter_filter = get_default_exception_reporter_filter()
    assert isinstance(reporter_filter, CredentialHidingExceptionReporterFilter)
    hidden = reporter_filter.cleansed_substitute
    assert (
        reporter_filter.cleanse_setting("DYNAMODB_ENDPOINT", "http://key:secret@127.0.0.1:8000")
        == f"http://{hidden}@127.0.0.1:8000"
    )
    assert reporter_filter.cleanse_setting(
        "CHANNEL_LAYERS", {"default": {"CONFIG": {"hosts": ["rediss://default:pw@h:6379"]}}}
    ) == {"default": {"CONFIG": {"hosts": [f"rediss://{hidden}@h:6379"]}}}
    for name in ("REDIS_URL", "LIVEKIT_URL", "ELEVENLABS_BASE_URL", "OPENAI_BASE_URL"):
        assert reporter_filter.cleanse_setting(name, "http://127.0.0.1:1") == hidden
    # Settings without credentials stay readable.
    assert reporter_filter.cleanse_setting("AWS_REGION", "us-east-1") == "us-east-1"
    assert reporter_filter.cleanse_setting("CORS_ORIGINS", ["http://localhost:3000"]) == [
        "http://localhost:3000"
    ]

"""Fixtures of the end-to-end tests, whose Daphne processes reach a provider over loopback."""

import pytest

from tests.support.fake_openai import FakeOpenAI


@pytest.fixture
def translator():
    """A loopback OpenAI-compatible server for Daphne processes (its `base_url` goes in their
    environment); unlike the root conftest's, it sets nothing in this process's settings."""
    server = FakeOpenAI()
    server.start()
    yield server
    server.stop()

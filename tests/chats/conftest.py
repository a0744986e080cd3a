import pytest

from tests.support.fake_openai import FakeOpenAI


@pytest.fixture
def translator(settings):
    """A loopback OpenAI-compatible server; the real SDK client is pointed at it."""
    server = FakeOpenAI()
    settings.OPENAI_BASE_URL = server.start()
    settings.OPENAI_API_KEY = "test-key"
    settings.TRANSLATION_RETRY_SCALE = 0.05
    yield server
    server.stop()

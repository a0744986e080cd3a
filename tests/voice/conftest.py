"""Fixtures for voice tests: loopback providers the real SDK clients are pointed at
(ElevenLabs: `speech`; OpenAI: `translator`), LiveKit keys, quick timeouts, and sockets that
are closed, with everything they started settled, when a test ends."""

from __future__ import annotations

import pytest

from apps.chats.translation import translation_clients_close
from apps.core.background import background_tasks_cancel, background_tasks_settle
from apps.voice.speech import speech_clients_close
from tests.support.fake_elevenlabs import FakeElevenLabs
from tests.support.loops import owed_translation_retries_cancel

ELEVENLABS_TEST_KEY = "test-elevenlabs-key"
LIVEKIT_TEST_KEY = "APItestkey"
LIVEKIT_TEST_SECRET = "livekit-test-secret-that-is-long-enough-for-hs256"


@pytest.fixture
def speech(settings):
    """A loopback ElevenLabs-compatible server; it refuses requests without the test key."""
    server = FakeElevenLabs(api_key=ELEVENLABS_TEST_KEY)
    settings.ELEVENLABS_BASE_URL = server.start()
    settings.ELEVENLABS_API_KEY = ELEVENLABS_TEST_KEY
    yield server
    server.stop()


@pytest.fixture
def livekit(settings):
    settings.LIVEKIT_API_KEY = LIVEKIT_TEST_KEY
    settings.LIVEKIT_API_SECRET = LIVEKIT_TEST_SECRET
    settings.LIVEKIT_URL = "ws://127.0.0.1:7880"
    return settings


@pytest.fixture(autouse=True)
def quick_voice(settings):
    """Timeouts short enough for tests; a test that measures one sets its own."""
    settings.VOICE_RING_TIMEOUT_SECONDS = 5.0
    settings.VOICE_TURN_TIMEOUT_SECONDS = 10.0
    settings.VOICE_PROVIDER_TIMEOUT_SECONDS = 5.0
    return settings


@pytest.fixture(autouse=True)
async def tidy_event_loop():
    """After each test: what sockets and requests started (ring timers, turn pipelines, the
    clean-up of closed sockets, owed translations) finishes or is cancelled, and this loop's
    provider clients are closed."""
    yield
    await owed_translation_retries_cancel()
    await background_tasks_settle(timeout=5)
    await background_tasks_cancel()
    await speech_clients_close()
    await translation_clients_close()

"""The consumer answers the channel-layer events the lower layers send, under the names
apps.core.delivery gives them, and every client frame type has one handler."""

from channels.consumer import get_handler_name

from apps.core.delivery import FRAME_HANDLER
from apps.realtime.consumers import ChatConsumer


def test_the_consumer_has_the_handler_delivery_sends_frames_to():
    assert callable(getattr(ChatConsumer, get_handler_name({"type": FRAME_HANDLER}), None))


def test_the_consumer_answers_voice_signals_and_revocations():
    for event_type in ("voice.signal", "session.revoked"):
        assert callable(getattr(ChatConsumer, get_handler_name({"type": event_type}), None))

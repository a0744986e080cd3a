"""The consumer answers the channel-layer events the lower layers send, under the names they
give them (apps.core.delivery, apps.voice.events, apps.accounts.events), and closes with
codes Daphne can send."""

from channels.consumer import get_handler_name

from apps.accounts.events import SESSION_REVOKED_HANDLER
from apps.core.delivery import FRAME_HANDLER
from apps.realtime.consumers import ChatConsumer
from apps.realtime.protocol import CloseCode
from apps.voice.events import SIGNAL_HANDLER


def test_the_consumer_has_the_handler_delivery_sends_frames_to():
    assert callable(getattr(ChatConsumer, get_handler_name({"type": FRAME_HANDLER}), None))


def test_the_consumer_answers_voice_signals_and_revocations():
    for event_type in (SIGNAL_HANDLER, SESSION_REVOKED_HANDLER):
        assert callable(getattr(ChatConsumer, get_handler_name({"type": event_type}), None))


async def test_a_close_code_goes_out_as_a_plain_int():
    # Under Daphne, autobahn refuses a close code whose type is not exactly int.
    sent = []
    consumer = ChatConsumer()

    async def base_send(message):
        sent.append(message)

    consumer.base_send = base_send
    await consumer.close(code=CloseCode.TOO_FAR_BEHIND)
    assert sent == [{"type": "websocket.close", "code": 4008}]
    assert type(sent[0]["code"]) is int

"""Web Push for people who are away (apps/chats/push_notifications.py, the subscription
actions, `/api/push`): through the real pywebpush client to a loopback push service
(tests/support/fake_push_service.py), which checks the VAPID signature and decrypts each push
with the browser's own keys, as a push service and a browser would."""

from __future__ import annotations

import asyncio

import pytest

from apps.accounts.push_subscriptions import (
    PushSubscriptions,
    push_settings_changed,
    push_targets_of,
)
from apps.chats import actions, push_notifications, services
from apps.chats.personal_data import user_delete
from apps.core.concurrency import run_blocking
from apps.core.errors import InvalidInput, NotFound
from apps.core.web_push import vapid_keys_generate
from tests.support.accounts import user_create, user_token
from tests.support.fake_push_service import FakePushService


@pytest.fixture
def push_service(settings):
    private, public = vapid_keys_generate()
    settings.WEB_PUSH_VAPID_PRIVATE_KEY = private
    settings.WEB_PUSH_ALLOW_HTTP = True
    settings.WEB_PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    service = FakePushService()
    service.start()
    service.public_key = public  # type: ignore[attr-defined]
    yield service
    service.stop()


async def _pair(ana_language="es", ben_language="en"):
    ana = await run_blocking(user_create)(language=ana_language)
    ben = await run_blocking(user_create)(language=ben_language)
    created = await run_blocking(services.chat_direct_create)(user=ana, other_username=ben.username)
    return ana, ben, created.membership.chat_id


async def _subscribed(service: FakePushService, user):
    subscription = service.subscribe(application_server_key=service.public_key)
    await actions.do_push_subscribe(user=user, subscription=subscription.as_json())
    return subscription


async def _send(user, chat_id, text):
    outcome = await actions.do_send_message(user=user, chat_id=chat_id, text=text)
    await push_notifications.pushes_settle()
    return outcome


async def test_an_away_member_is_pushed_the_message_in_their_language(push_service, translator):
    ana, ben, chat_id = await _pair()
    bens_browser = await _subscribed(push_service, ben)
    anas_browser = await _subscribed(push_service, ana)

    outcome = await _send(ana, chat_id, "Hola, ¿vienes a la fiesta esta noche?")

    [push] = push_service.pushes_to(bens_browser)
    assert push.payload == {
        "type": "message",
        "chat_id": chat_id,
        "seq": outcome.message["seq"],
        "message_id": outcome.message["message_id"],
        "title": "Test Person",
        "body": "[en] Hola, ¿vienes a la fiesta esta noche?",
        "language": "en",
        "url": f"/chats/{chat_id}",
        "tag": f"chat:{chat_id}",
    }
    assert push.ttl == 6 * 3600 and push.urgency == "high"
    assert push.vapid_claims["sub"].startswith("mailto:")
    # Its author is never pushed their own message.
    assert push_service.pushes_to(anas_browser) == []
    assert push_service.refused == []


async def test_a_member_with_a_socket_open_is_not_pushed(push_service, translator, sockets):
    ana, ben, chat_id = await _pair()
    bens_browser = await _subscribed(push_service, ben)
    bens_socket = await sockets.open(ben)

    await _send(ana, chat_id, "Hola")
    assert push_service.pushes_to(bens_browser) == []
    await bens_socket.wait_for(lambda frame: frame.get("type") == "message")

    await bens_socket.close()
    await _send(ana, chat_id, "¿Dónde estás?")
    assert [push.payload["body"] for push in push_service.pushes_to(bens_browser)] == [
        "[en] ¿Dónde estás?"
    ]


async def test_a_subscription_the_push_service_says_is_gone_is_forgotten(push_service, translator):
    ana, ben, chat_id = await _pair()
    await _subscribed(push_service, ben)
    push_service.answer_status = 410

    await _send(ana, chat_id, "Hola")

    assert await run_blocking(push_targets_of)(user_id=ben.user_id) == []


async def test_a_push_service_that_is_down_loses_no_message(push_service, translator, sockets):
    ana, ben, chat_id = await _pair()
    await _subscribed(push_service, ben)
    push_service.stop()

    outcome = await _send(ana, chat_id, "Hola")

    bens_socket = await sockets.open(ben)
    await bens_socket.send({"type": "resume", "chats": {chat_id: 0}})
    frame = await bens_socket.wait_for(lambda frame: frame.get("type") == "message")
    assert frame["message"]["message_id"] == outcome.message["message_id"]
    # The subscription stays: the service may be back for the next message.
    assert len(await run_blocking(push_targets_of)(user_id=ben.user_id)) == 1


async def test_a_slow_push_service_never_holds_up_a_send(push_service, translator, settings):
    ana, ben, chat_id = await _pair()
    await _subscribed(push_service, ben)
    push_service.stop()
    # An address that takes the connection and never answers would do the same; a refused
    # one is enough to show the send does not wait for the queue.
    started = asyncio.get_running_loop().time()
    await actions.do_send_message(user=ana, chat_id=chat_id, text="Hola")
    assert asyncio.get_running_loop().time() - started < 2.0
    await push_notifications.pushes_settle()


async def test_subscribing_checks_the_endpoint_and_keys_and_stores_nothing_bad(push_service):
    ben = await run_blocking(user_create)(language="en")
    browser = push_service.subscribe(application_server_key=push_service.public_key)
    good = browser.as_json()
    for bad in (
        {**good, "endpoint": "http://169.254.169.254/latest/meta-data"},
        {**good, "endpoint": "https://evil.example/push"},
        {**good, "endpoint": 5},
        {**good, "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}},
        {**good, "keys": {"p256dh": good["keys"]["p256dh"]}},
        {"endpoint": good["endpoint"]},
        ["not", "an", "object"],
    ):
        with pytest.raises(InvalidInput):
            await actions.do_push_subscribe(user=ben, subscription=bad)
    assert await run_blocking(push_targets_of)(user_id=ben.user_id) == []


async def test_plain_http_endpoints_are_refused_unless_allowed(push_service, settings):
    ben = await run_blocking(user_create)(language="en")
    browser = push_service.subscribe(application_server_key=push_service.public_key)
    settings.WEB_PUSH_ALLOW_HTTP = False
    with pytest.raises(InvalidInput):
        await actions.do_push_subscribe(user=ben, subscription=browser.as_json())


async def test_subscriptions_are_capped_the_oldest_dropped(push_service, settings):
    settings.WEB_PUSH_SUBSCRIPTIONS_MAX = 3
    ben = await run_blocking(user_create)(language="en")
    browsers = [await _subscribed(push_service, ben) for _ in range(5)]
    kept = {target.endpoint for target in await run_blocking(push_targets_of)(user_id=ben.user_id)}
    assert kept == {browser.endpoint for browser in browsers[2:]}


async def test_unsubscribing_stops_the_pushes(push_service, translator):
    ana, ben, chat_id = await _pair()
    browser = await _subscribed(push_service, ben)
    await actions.do_push_unsubscribe(user=ben, endpoint=browser.endpoint)
    await _send(ana, chat_id, "Hola")
    assert push_service.pushes_to(browser) == []


async def test_without_a_vapid_key_there_is_no_web_push(settings):
    settings.WEB_PUSH_VAPID_PRIVATE_KEY = ""
    ben = await run_blocking(user_create)(language="en")
    with pytest.raises(NotFound):
        await actions.do_push_subscribe(
            user=ben, subscription={"endpoint": "https://fcm.googleapis.com/x", "keys": {}}
        )


async def test_deleting_the_account_deletes_its_subscriptions(push_service):
    ben = await run_blocking(user_create)(language="en")
    await _subscribed(push_service, ben)
    await run_blocking(user_delete)(user=ben)
    with pytest.raises(PushSubscriptions.DoesNotExist):
        await run_blocking(PushSubscriptions.get)(f"PUSH#{ben.user_id}", consistent_read=True)


def test_the_push_endpoints_over_http(client, push_service, settings):
    ben = user_create(language="en")
    auth = {"headers": {"Authorization": f"Bearer {user_token(ben)}"}}
    assert client.get("/api/push").json() == {
        "enabled": True,
        "public_key": push_service.public_key,
    }
    browser = push_service.subscribe(application_server_key=push_service.public_key)

    refused = client.post(
        "/api/push/subscriptions", browser.as_json(), content_type="application/json"
    )
    assert refused.status_code == 401
    bad = client.post(
        "/api/push/subscriptions",
        {**browser.as_json(), "endpoint": "https://evil.example/p"},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 422 and "push service" in bad.json()["detail"]

    made = client.post(
        "/api/push/subscriptions", browser.as_json(), content_type="application/json", **auth
    )
    assert made.status_code == 201 and made.json() == {"subscribed": True}
    assert len(push_targets_of(user_id=ben.user_id)) == 1

    gone = client.delete(
        "/api/push/subscriptions",
        {"endpoint": browser.endpoint},
        content_type="application/json",
        **auth,
    )
    assert gone.status_code == 200 and gone.json() == {"subscribed": False}
    assert push_targets_of(user_id=ben.user_id) == []

    settings.WEB_PUSH_VAPID_PRIVATE_KEY = ""
    assert client.get("/api/push").json() == {"enabled": False, "public_key": None}


async def test_an_away_member_is_pushed_a_ringing_call_that_expires_with_the_ring(
    push_service, settings
):
    from apps.voice import actions as voice_actions

    settings.VOICE_RING_TIMEOUT_SECONDS = 30
    ana, ben, chat_id = await _pair(ana_language="en", ben_language="es")
    bens_browser = await _subscribed(push_service, ben)

    call = await voice_actions.do_start_call(user=ana, chat_id=chat_id)
    await push_notifications.pushes_settle()

    [push] = push_service.pushes_to(bens_browser)
    assert push.payload == {
        "type": "call",
        "chat_id": chat_id,
        "call_id": call.call_id,
        "title": "Test Person",
        "body": "Llamada entrante",
        "url": f"/chats/{chat_id}",
        "tag": f"call:{call.call_id}",
    }
    # Kept by the push service no longer than the ring lasts.
    assert push.ttl == 30
    await voice_actions.do_cancel_call(user=ana, chat_id=chat_id, call_id=call.call_id)


async def test_logging_out_everywhere_stops_the_pushes(push_service, translator):
    from apps.accounts import actions as account_actions

    ana, ben, chat_id = await _pair()
    browser = await _subscribed(push_service, ben)
    # This process now keeps what it read of Ben's subscriptions for a minute...
    await _send(ana, chat_id, "Hola")
    assert len(push_service.pushes_to(browser)) == 1
    await account_actions.do_logout_all(user=ben)
    # ...and the change stamp tells it that copy is stale, as it tells every instance.
    await _send(ana, chat_id, "¿Sigues ahí?")
    assert len(push_service.pushes_to(browser)) == 1
    assert await run_blocking(push_targets_of)(user_id=ben.user_id) == []


async def test_a_push_is_not_made_from_copies_read_before_a_change(push_service, translator):
    """The copies are checked against the change stamp, not forgotten by the action that
    changed them: this holds for every instance, not only the one that made the change."""
    ana, ben, chat_id = await _pair()
    browser = await _subscribed(push_service, ben)
    await _send(ana, chat_id, "Hola")
    assert len(push_service.pushes_to(browser)) == 1

    # Another instance mutes the chat for Ben: its write, then its stamp; nothing here.
    await run_blocking(services.chat_muted_set)(user_id=ben.user_id, chat_id=chat_id, muted=True)
    await push_settings_changed(user_id=ben.user_id)
    await _send(ana, chat_id, "¿Vienes?")
    assert len(push_service.pushes_to(browser)) == 1

    # Without a stamp for a change, the copies stand for their minute (what the stamp saves).
    await run_blocking(services.chat_muted_set)(user_id=ben.user_id, chat_id=chat_id, muted=False)
    await _send(ana, chat_id, "¿Hola?")
    assert len(push_service.pushes_to(browser)) == 1
    await push_settings_changed(user_id=ben.user_id)
    await _send(ana, chat_id, "¿Estás?")
    assert len(push_service.pushes_to(browser)) == 2


async def test_a_member_who_muted_the_chat_is_not_pushed_its_messages(push_service, translator):
    from apps.voice import actions as voice_actions

    ana, ben, chat_id = await _pair(ana_language="en", ben_language="es")
    bens_browser = await _subscribed(push_service, ben)
    anas_browser = await _subscribed(push_service, ana)
    await actions.do_set_chat_muted(user=ben, chat_id=chat_id, muted=True)

    await _send(ana, chat_id, "Are you coming?")
    assert push_service.pushes_to(bens_browser) == []
    # The mute is Ben's own: Ana is still pushed Ben's messages.
    await _send(ben, chat_id, "Sí")
    assert len(push_service.pushes_to(anas_browser)) == 1

    # A muted chat's calls still ring, as WhatsApp's do.
    call = await voice_actions.do_start_call(user=ana, chat_id=chat_id)
    await push_notifications.pushes_settle()
    assert [push.payload["type"] for push in push_service.pushes_to(bens_browser)] == ["call"]
    await voice_actions.do_cancel_call(user=ana, chat_id=chat_id, call_id=call.call_id)

    await actions.do_set_chat_muted(user=ben, chat_id=chat_id, muted=False)
    await _send(ana, chat_id, "Hello?")
    assert [push.payload["type"] for push in push_service.pushes_to(bens_browser)] == [
        "call",
        "message",
    ]

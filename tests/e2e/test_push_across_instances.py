"""What decides a person's pushes, changed through one instance, holds on the other from its
next push on: each process keeps its reads of subscriptions and mutes for a minute, and the
change stamp in Redis (apps/accounts/push_subscriptions.py) tells it they are stale."""

import time

import pytest

from apps.core.web_push import vapid_keys_generate
from tests.support.daphne import daphne_running
from tests.support.fake_push_service import BrowserSubscription, FakePushService
from tests.support.http import http_json, http_post, signup

# After the push that must come, how long one that must not come is given to show up anyway.
STRAY_PUSH_WAIT_SECONDS = 1.0


@pytest.fixture
def push_service():
    service = FakePushService()
    service.start()
    yield service
    service.stop()


def _pushed_texts(service: FakePushService, browser: BrowserSubscription) -> list[str]:
    return [push.payload["body"] for push in service.pushes_to(browser)]


def _wait_for_pushes(service, browser, expected: list[str], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while _pushed_texts(service, browser) != expected:
        assert time.monotonic() < deadline, (_pushed_texts(service, browser), service.refused)
        time.sleep(0.05)
    time.sleep(STRAY_PUSH_WAIT_SECONDS)
    assert _pushed_texts(service, browser) == expected


def test_a_mute_and_a_log_out_everywhere_through_one_instance_stop_the_others_pushes(
    dynamo_tables, translator, push_service
):
    private_key, public_key = vapid_keys_generate()
    environment = {
        "DYNAMODB_TABLE_PREFIX": dynamo_tables,
        "OPENAI_BASE_URL": translator.base_url,
        "OPENAI_API_KEY": "test-key",
        "WEB_PUSH_VAPID_PRIVATE_KEY": private_key,
        "WEB_PUSH_ALLOW_HTTP": "true",
        "WEB_PUSH_ALLOWED_HOSTS": "127.0.0.1",
    }
    with daphne_running(environment) as first, daphne_running(environment) as second:
        ana = signup(second.url, "ana", "en")
        ben = signup(first.url, "ben", "en")
        cleo = signup(first.url, "cleo", "en")
        chat_id = http_post(
            second.url, "/api/chats", {"title": "Trip", "usernames": ["ben", "cleo"]}, token=ana
        )["chat_id"]
        # Ben and Cleo have no socket open: they are away, and pushed. Cleo changes nothing:
        # her pushes show when the second instance has handled each message.
        bens_browser = push_service.subscribe(application_server_key=public_key)
        cleos_browser = push_service.subscribe(application_server_key=public_key)
        http_post(first.url, "/api/push/subscriptions", bens_browser.as_json(), token=ben)
        http_post(first.url, "/api/push/subscriptions", cleos_browser.as_json(), token=cleo)

        def ana_sends(text: str) -> None:
            http_post(second.url, f"/api/chats/{chat_id}/messages", {"text": text}, token=ana)

        def ben_mutes(muted: bool) -> None:
            status, reply = http_json(
                first.url, "PUT", f"/api/chats/{chat_id}/mute", {"muted": muted}, token=ben
            )
            assert status == 200, reply

        # The second instance reads and keeps Ben's subscriptions and his mute of the chat.
        ana_sends("one")
        _wait_for_pushes(push_service, cleos_browser, ["one"])
        assert _pushed_texts(push_service, bens_browser) == ["one"]

        ben_mutes(True)
        ana_sends("two")
        _wait_for_pushes(push_service, cleos_browser, ["one", "two"])
        assert _pushed_texts(push_service, bens_browser) == ["one"]

        ben_mutes(False)
        ana_sends("three")
        _wait_for_pushes(push_service, cleos_browser, ["one", "two", "three"])
        assert _pushed_texts(push_service, bens_browser) == ["one", "three"]

        status, reply = http_json(first.url, "POST", "/api/auth/logout_all", {}, token=ben)
        assert status == 200, reply
        ana_sends("four")
        _wait_for_pushes(push_service, cleos_browser, ["one", "two", "three", "four"])
        assert _pushed_texts(push_service, bens_browser) == ["one", "three"]

"""apps/core/web_push.py: which endpoints the server posts to, the keys it accepts, and its
own VAPID key pair."""

from __future__ import annotations

import pytest

from apps.core import web_push


@pytest.fixture
def push_hosts(settings):
    settings.WEB_PUSH_ALLOWED_HOSTS = ["fcm.googleapis.com", "*.notify.windows.com"]
    settings.WEB_PUSH_ALLOW_HTTP = False


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", True),
        ("https://FCM.googleapis.com/fcm/send/abc", True),
        ("https://wns2-by3p.notify.windows.com/w/?token=x", True),
        # The wildcard covers subdomains only, and nothing that merely ends alike.
        ("https://notify.windows.com/w", False),
        ("https://evilnotify.windows.com.attacker.net/w", False),
        ("https://attacker.net/fcm.googleapis.com", False),
        ("http://fcm.googleapis.com/fcm/send/abc", False),
        ("https://user:pw@fcm.googleapis.com/x", False),
        ("https://fcm.googleapis.com:99999/x", False),
        ("ftp://fcm.googleapis.com/x", False),
        ("https://fcm.googleapis.com/" + "a" * 1100, False),
        ("not a url", False),
    ],
)
def test_only_push_services_endpoints_are_allowed(push_hosts, endpoint, allowed):
    assert web_push.endpoint_allowed(endpoint) is allowed


def test_subscription_keys_must_be_a_p256_point_and_a_16_byte_secret():
    private, public = web_push.vapid_keys_generate()
    auth = "AAAAAAAAAAAAAAAAAAAAAA"  # 16 zero bytes
    assert web_push.subscription_keys_valid(p256dh=public, auth=auth)
    assert not web_push.subscription_keys_valid(p256dh=public[:-4], auth=auth)
    assert not web_push.subscription_keys_valid(p256dh=public, auth=auth + "AA")
    assert not web_push.subscription_keys_valid(p256dh="@@@@", auth=auth)
    assert not web_push.subscription_keys_valid(p256dh="C" + public[1:], auth=auth)


def test_the_public_key_served_is_the_one_of_the_configured_private_key(settings):
    private, public = web_push.vapid_keys_generate()
    settings.WEB_PUSH_VAPID_PRIVATE_KEY = private
    assert web_push.web_push_enabled() and web_push.vapid_public_key() == public
    settings.WEB_PUSH_VAPID_PRIVATE_KEY = ""
    assert not web_push.web_push_enabled() and web_push.vapid_public_key() is None
    assert web_push.vapid_private_key_valid(private)
    assert not web_push.vapid_private_key_valid("not-a-key")

"""Web Push (RFC 8030, with VAPID, RFC 8292, and aes128gcm payloads, RFC 8291): one push to
one browser subscription, through pywebpush.

A subscription's endpoint is a URL of the browser's push service (Google's for Chrome,
Mozilla's for Firefox, Apple's for Safari). The server signs a short-lived VAPID token with
its private key (`WEB_PUSH_VAPID_PRIVATE_KEY`); the browser subscribed with the matching
public key, so the push service delivers only pushes this server signed. The payload is
encrypted for the subscription's own keys: the push service never reads it.

Endpoints come from browsers, that is from users, so they are checked before they are
stored (`endpoint_allowed`): https on one of `WEB_PUSH_ALLOWED_HOSTS` (the push services),
so a subscription cannot make the server post to an address of the attacker's choosing.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

# Bytes of a subscription's keys, decoded: an uncompressed P-256 point and a 16-byte secret.
P256DH_BYTES = 65
AUTH_SECRET_BYTES = 16
ENDPOINT_MAX_CHARS = 1024
# A push service answers in well under a second; a push is a hint, never worth a long wait.
PUSH_TIMEOUT_SECONDS = 5.0
# The push service's answers that mean the subscription is gone for good (unsubscribed,
# expired): the server forgets it.
GONE_STATUSES = frozenset({404, 410})


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def web_push_enabled() -> bool:
    return bool(settings.WEB_PUSH_VAPID_PRIVATE_KEY)


@lru_cache(maxsize=4)
def _vapid(private_key: str) -> Any:
    from py_vapid import Vapid

    return Vapid.from_string(private_key=private_key)


def vapid_public_key() -> str | None:
    """The application server key browsers subscribe with (base64url, uncompressed point),
    derived from the private key; None when Web Push is off."""
    if not web_push_enabled():
        return None
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = _vapid(settings.WEB_PUSH_VAPID_PRIVATE_KEY).public_key
    return _b64url_encode(public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def vapid_private_key_valid(private_key: str) -> bool:
    try:
        _vapid(private_key)
    except Exception:
        return False
    return True


def vapid_keys_generate() -> tuple[str, str]:
    """A new VAPID key pair: (private key for WEB_PUSH_VAPID_PRIVATE_KEY, public key)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ec.generate_private_key(ec.SECP256R1())
    private = _b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))
    public = _b64url_encode(
        key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    return private, public


def endpoint_allowed(endpoint: str) -> bool:
    """An endpoint the server may post to: https (or, where allowed for tests and
    development, http) on a host of `WEB_PUSH_ALLOWED_HOSTS` (`*.example.com` covers its
    subdomains), with no user info in the URL."""
    if len(endpoint) > ENDPOINT_MAX_CHARS:
        return False
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return False
    schemes = {"https", "http"} if settings.WEB_PUSH_ALLOW_HTTP else {"https"}
    if parts.scheme not in schemes or not parts.hostname or parts.username or parts.password:
        return False
    del port
    host = parts.hostname.lower()
    for allowed in settings.WEB_PUSH_ALLOWED_HOSTS:
        allowed = allowed.strip().lower()
        if not allowed:
            continue
        if allowed.startswith("*."):
            if host.endswith(allowed[1:]) and host != allowed[2:]:
                return True
        elif host == allowed:
            return True
    return False


def subscription_keys_valid(*, p256dh: str, auth: str) -> bool:
    try:
        point = _b64url_decode(p256dh)
        secret = _b64url_decode(auth)
    except (binascii.Error, ValueError):
        return False
    return len(point) == P256DH_BYTES and point[0] == 4 and len(secret) == AUTH_SECRET_BYTES


@dataclass(frozen=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class PushResult:
    # The push service's HTTP status, or None when it could not be reached.
    status: int | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status in GONE_STATUSES


async def web_push_send(*, target: PushTarget, payload: bytes, ttl_seconds: int) -> PushResult:
    """Encrypt `payload` for `target` and post it to its push service, signed with the
    server's VAPID key. Never raises for the push service's answers or its absence."""
    from pywebpush import WebPushException, webpush_async

    urgency = "high"
    try:
        response = await webpush_async(
            subscription_info={
                "endpoint": target.endpoint,
                "keys": {"p256dh": target.p256dh, "auth": target.auth},
            },
            data=payload,
            vapid_private_key=_vapid(settings.WEB_PUSH_VAPID_PRIVATE_KEY),
            vapid_claims={"sub": settings.WEB_PUSH_CONTACT},
            ttl=ttl_seconds,
            timeout=PUSH_TIMEOUT_SECONDS,
            headers={"Urgency": urgency},
        )
    except WebPushException as error:
        status = getattr(error.response, "status", None) or getattr(
            error.response, "status_code", None
        )
        return PushResult(status=int(status) if status is not None else None)
    except Exception as error:
        # The push service unreachable, slow or speaking nonsense: the push is lost, the
        # message is not (it is stored, and shown when the app opens).
        logger.info("a push was not delivered (%s)", type(error).__name__)
        return PushResult(status=None)
    return PushResult(status=int(getattr(response, "status", 201)))

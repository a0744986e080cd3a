"""A loopback stand-in for a browser push service (RFC 8030), and the browser's side of a
subscription: its own P-256 key pair and auth secret, as `PushManager.subscribe` makes them.

POST /push/<token> takes a push as a push service would: it checks the VAPID
`Authorization: vapid t=<JWT>, k=<public key>` header (ES256 signature by that key, `aud` the
service's origin, `exp` in the future, a `sub`), that the key is the one the subscription was
made with, then decrypts the aes128gcm body with the subscription's private key and auth
secret and keeps what it read in `received`. `answer_status` makes it answer like a service
whose subscription is gone (410) or that is failing (500).

    service = FakePushService()
    service.start()
    subscription = service.subscribe(application_server_key=public_key)
    subscription.as_json()   # what the browser would POST to /api/push/subscriptions
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import http_ece
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.loopback_server import LoopbackServer


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class BrowserSubscription:
    endpoint: str
    application_server_key: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        return _b64url(point)

    def as_json(self) -> dict[str, Any]:
        """`PushSubscription.toJSON()`."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": _b64url(self.auth_secret)},
        }


@dataclass
class ReceivedPush:
    token: str
    payload: dict[str, Any]
    ttl: int
    urgency: str | None
    vapid_claims: dict[str, Any]


class FakePushService(LoopbackServer):
    name = "fake push service"

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions: dict[str, BrowserSubscription] = {}
        self.received: list[ReceivedPush] = []
        # Why each push that was not taken was refused.
        self.refused: list[str] = []
        self.answer_status = 201

    def subscribe(self, *, application_server_key: str) -> BrowserSubscription:
        token = secrets.token_urlsafe(12)
        subscription = BrowserSubscription(
            endpoint=f"{self.base_url}/push/{token}",
            application_server_key=application_server_key,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=secrets.token_bytes(16),
        )
        self.subscriptions[token] = subscription
        return subscription

    def pushes_to(self, subscription: BrowserSubscription) -> list[ReceivedPush]:
        token = subscription.endpoint.rsplit("/", 1)[1]
        return [push for push in self.received if push.token == token]

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/push/{token}", self._push)
        return app

    def _vapid_claims(self, request: web.Request, subscription: BrowserSubscription) -> dict:
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError("no VAPID authorization")
        values = dict(part.strip().split("=", 1) for part in params.split(","))
        if values["k"] != subscription.application_server_key:
            raise ValueError("signed by another key than the subscription's")
        public = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), _b64url_decode(values["k"])
        )
        claims = jwt.decode(
            values["t"], public, algorithms=["ES256"], audience=self.base_url.rstrip("/")
        )
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError("no contact in the token")
        if claims["exp"] <= time.time():
            raise ValueError("expired token")
        return claims

    async def _push(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        subscription = self.subscriptions.get(token)
        if subscription is None:
            return web.Response(status=404)
        if self.answer_status >= 300:
            return web.Response(status=self.answer_status)
        try:
            claims = self._vapid_claims(request, subscription)
            if request.headers.get("Content-Encoding") != "aes128gcm":
                raise ValueError("not aes128gcm")
            body = await request.read()
            plain = http_ece.decrypt(
                body,
                private_key=subscription.private_key,
                auth_secret=subscription.auth_secret,
                version="aes128gcm",
            )
            payload = json.loads(plain)
        except Exception as error:
            self.refused.append(f"{type(error).__name__}: {error}")
            return web.Response(status=401)
        self.received.append(
            ReceivedPush(
                token=token,
                payload=payload,
                ttl=int(request.headers.get("TTL", "0")),
                urgency=request.headers.get("Urgency"),
                vapid_claims=claims,
            )
        )
        return web.Response(status=201)

"""Passwords: what signup and the reset command accept, the hash's cost, hashing on its own
bounded pool (never on the blocking pool DynamoDB calls use), and old hashes upgraded at the
next successful login."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, make_password

from apps.accounts import passwords, services
from apps.accounts.models import User, UsernameClaim
from apps.accounts.selectors import user_get
from apps.core.concurrency import run_blocking
from apps.core.errors import InvalidInput
from tests.accounts.test_views import LOGIN, SIGNUP, post_json, signup_body, users_table_items
from tests.support.accounts import user_create

PASSWORD = "correct horse battery staple"
CURRENT_PARAMETERS = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


def _stored_user(*, username: str, password_hash: str) -> User:
    user_id = uuid.uuid4().hex
    user = User(
        User.key_for(user_id),
        user_id=user_id,
        username=username,
        first_name="Old",
        last_name="Hash",
        native_language="en",
        password_hash=password_hash,
        created_at=datetime.now(UTC),
        is_active=True,
        token_version=0,
    )
    user.save()
    UsernameClaim(UsernameClaim.key_for(username), user_id=user_id).save()
    return user


# --- cost -------------------------------------------------------------------------------------


def test_new_hashes_are_argon2id_at_19_mib_two_passes_one_lane():
    encoded = make_password(PASSWORD)

    assert encoded.startswith(CURRENT_PARAMETERS)
    assert check_password(PASSWORD, encoded)
    assert user_create().password_hash.startswith(CURRENT_PARAMETERS)


# --- what is accepted -------------------------------------------------------------------------


WEAK_PASSWORDS = [
    ({"password": "12345678"}, "too common"),
    ({"password": "83729164"}, "entirely numeric"),
    ({"password": "password"}, "too common"),
    ({"password": "Password"}, "too common"),
    ({"password": " " * 8}, "only whitespace"),
    ({"password": "\t\n  \t\n  "}, "only whitespace"),
    ({"username": "marmaduke", "password": "marmaduke"}, "too similar to the username"),
    ({"username": "marmaduke", "password": "Marmaduke1"}, "too similar to the username"),
    ({"first_name": "Bartholomew", "password": "bartholomew!"}, "too similar to the first_name"),
    ({"last_name": "Featherstonehaugh", "password": "featherstonehaugh"}, "last_name"),
]


async def test_signup_refuses_weak_passwords_with_the_reasons_and_stores_nothing(async_client):
    for overrides, reason in WEAK_PASSWORDS:
        response = await post_json(async_client, SIGNUP, signup_body(**overrides))

        assert response.status_code == 422, (overrides, response.content)
        detail = response.json()["detail"]
        assert detail.startswith("password refused: "), detail
        assert reason in detail, (overrides, detail)
        assert await asyncio.to_thread(users_table_items) == [], overrides


async def test_a_weak_password_gives_every_reason_at_once(async_client):
    response = await post_json(async_client, SIGNUP, signup_body(password="12345678"))

    detail = response.json()["detail"]
    assert "too common" in detail and "entirely numeric" in detail


async def test_signup_still_refuses_too_short_and_too_long_passwords(async_client, settings):
    short = await post_json(async_client, SIGNUP, signup_body(password="x7#k"))
    long = await post_json(async_client, SIGNUP, signup_body(password="x7#k" * 65))

    assert short.status_code == 422
    assert (
        short.json()["detail"]
        == f"password must be at least {settings.PASSWORD_MIN_LENGTH} characters"
    )
    assert long.status_code == 422
    assert long.json()["detail"] == "password must be at most 256 characters"


def test_the_reset_command_refuses_weak_passwords_and_changes_nothing():
    user = user_create(username="quentin")
    for password in ("12345678", "password", " " * 12, "quentin#7", "Quentin!"):
        with pytest.raises(InvalidInput, match="password refused"):
            services.user_password_reset(user=user, password=password)

    stored = user_get(user_id=user.user_id)
    assert stored.password_hash == user.password_hash
    assert stored.token_version == 0


def test_the_validators_see_the_account_and_not_some_other_one():
    # "quentin#7" is fine for somebody who is not called quentin.
    assert (
        passwords.password_validate(
            password="quentin#7", username="zelda", first_name="Zelda", last_name="Ng"
        )
        == "quentin#7"
    )


# --- upgrading old hashes ---------------------------------------------------------------------


async def test_a_login_replaces_a_hash_with_djangos_default_cost_by_the_current_one(async_client):
    old_hash = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    assert "m=102400,t=2,p=8" in old_hash
    user = await asyncio.to_thread(_stored_user, username="olga", password_hash=old_hash)

    wrong = await post_json(async_client, LOGIN, {"username": "olga", "password": "not it at all"})
    assert wrong.status_code == 401
    assert (await asyncio.to_thread(user_get, user_id=user.user_id)).password_hash == old_hash

    response = await post_json(async_client, LOGIN, {"username": "olga", "password": PASSWORD})

    assert response.status_code == 200, response.content
    upgraded = (await asyncio.to_thread(user_get, user_id=user.user_id)).password_hash
    assert upgraded.startswith(CURRENT_PARAMETERS)
    assert check_password(PASSWORD, upgraded)
    again = await post_json(async_client, LOGIN, {"username": "olga", "password": PASSWORD})
    assert again.status_code == 200
    assert (await asyncio.to_thread(user_get, user_id=user.user_id)).password_hash == upgraded


def test_an_upgrade_never_overwrites_a_password_changed_meanwhile():
    old_hash = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    user = _stored_user(username="petra", password_hash=old_hash)
    # Someone resets the password between the login's read and its upgrade.
    services.user_password_reset(user=user_get(user_id=user.user_id), password="a new passphrase")

    services.user_password_hash_upgrade(user=user, password_hash=make_password(PASSWORD))

    stored = user_get(user_id=user.user_id)
    assert check_password("a new passphrase", stored.password_hash)
    assert not check_password(PASSWORD, stored.password_hash)


# --- the hashing pool -------------------------------------------------------------------------


class HashMeter:
    """Wraps the real verification, recording how many run at once."""

    def __init__(self, real) -> None:
        self.real = real
        self.running = 0
        self.most = 0
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        try:
            return self.real(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


async def test_concurrent_logins_hash_at_most_the_pool_size_at_once(
    async_client, settings, monkeypatch
):
    settings.PASSWORD_HASH_WORKERS = 2
    await asyncio.to_thread(_stored_user, username="rita", password_hash=make_password(PASSWORD))
    meter = HashMeter(passwords.verify_password)
    monkeypatch.setattr(passwords, "verify_password", meter)

    responses = await asyncio.gather(
        *(
            post_json(async_client, LOGIN, {"username": name, "password": PASSWORD})
            for name in ["rita"] * 6 + [f"nobody{index}" for index in range(6)]
        )
    )

    assert [response.status_code for response in responses] == [200] * 6 + [401] * 6
    assert meter.calls == 6  # the unknown usernames hash a throwaway password instead
    assert meter.most <= 2


async def test_dynamodb_calls_do_not_wait_behind_a_queue_of_hashes(
    async_client, settings, monkeypatch
):
    settings.PASSWORD_HASH_WORKERS = 2
    settings.PASSWORD_HASH_MAX_WAITING = 32
    settings.LOGIN_RATE_LIMIT_PER_ADDRESS_COUNT = 1000
    # Hashes that take as long as the test says: forty logins' worth of hashing is pending.
    release = threading.Event()
    started_hashes = []
    real = passwords.make_password

    def slow(password):
        started_hashes.append(password)
        release.wait(10)
        return real(password)

    monkeypatch.setattr(passwords, "make_password", slow)
    # The first request of a process imports every URLconf (seconds, holding the loop).
    assert (await async_client.get("/api/languages")).status_code == 200
    logins = [
        asyncio.ensure_future(
            post_json(async_client, LOGIN, {"username": f"nobody{index}", "password": PASSWORD})
        )
        for index in range(40)
    ]
    pool = passwords.password_hash_pool()
    try:
        # Until every login has looked its user up and got to the hashing: hashing,
        # queued for it, or turned away (or, were hashes on the blocking pool, filling it).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            turned_away = sum(login.done() for login in logins)
            if pool.admitted + turned_away == 40 or len(started_hashes) >= 32:
                break
            await asyncio.sleep(0.05)

        # Any call on the blocking pool, as a DynamoDB read would make.
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run_blocking(time.sleep)(0.01), timeout=3)
        waited = time.monotonic() - started
    finally:
        release.set()

    assert waited < 0.5, f"a blocking-pool call waited {waited:.2f}s behind password hashes"
    statuses = [response.status_code for response in await asyncio.gather(*logins)]
    # Two hashing, 32 waiting, and the rest told at once to come back.
    assert statuses.count(401) == 34, statuses
    assert statuses.count(503) == 6, statuses


async def test_a_full_hashing_queue_answers_503_with_retry_after(
    async_client, settings, monkeypatch
):
    settings.PASSWORD_HASH_WORKERS = 1
    settings.PASSWORD_HASH_MAX_WAITING = 0
    release = threading.Event()
    real = passwords.make_password

    def held(password):
        release.wait(5)
        return real(password)

    monkeypatch.setattr(passwords, "make_password", held)
    first = asyncio.ensure_future(
        post_json(async_client, LOGIN, {"username": "nobody", "password": PASSWORD})
    )
    await asyncio.sleep(0.2)

    refused = await post_json(async_client, LOGIN, {"username": "nobody2", "password": PASSWORD})
    signup = await post_json(async_client, SIGNUP, signup_body())

    for response in (refused, signup):
        assert response.status_code == 503, response.content
        assert response["Retry-After"] == "1"
        assert response.json()["detail"].startswith("too many logins and signups at once")
    release.set()
    assert (await first).status_code == 401
    assert await asyncio.to_thread(users_table_items) == []

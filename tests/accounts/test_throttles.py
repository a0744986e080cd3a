"""Credential throttles through the API: logins per account and per client address, signups
per address, socket tickets per user; each 429 with Retry-After, counted in Redis."""

from __future__ import annotations

import asyncio

from django.contrib.auth.hashers import make_password
from django.test import AsyncClient

from apps.accounts.models import User
from tests.accounts.test_views import LOGIN, SIGNUP, post_json, signup_body, stored_users
from tests.support.accounts import user_create, user_token

PASSWORD = "correct horse battery staple"
TICKET = "/api/ws/ticket"


class PeerClient(AsyncClient):
    """A test client whose requests come from `peer` rather than 127.0.0.1."""

    def __init__(self, peer: str) -> None:
        super().__init__()
        self.peer = peer

    def _base_scope(self, **request):
        return {**super()._base_scope(**request), "client": [self.peer, 40000]}


async def _login(client, username, password, *, forwarded=None, peer=None):
    if peer is not None:
        client = PeerClient(peer)
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return await client.post(
        LOGIN,
        data={"username": username, "password": password},
        content_type="application/json",
        headers=headers,
    )


def _account(username: str) -> User:
    user = user_create(username=username)
    user.update(actions=[User.password_hash.set(make_password(PASSWORD))])
    return user


def _assert_throttled(response, *, max_wait: int):
    assert response.status_code == 429, response.content
    wait = int(response["Retry-After"])
    assert 1 <= wait <= max_wait
    assert response.json()["detail"].endswith(f"try again in {wait} seconds")
    assert "access_token" not in response.json()
    return wait


async def test_the_eleventh_wrong_password_is_answered_429_with_retry_after(async_client):
    await asyncio.to_thread(_account, "victor")

    for attempt in range(10):
        response = await _login(async_client, "victor", f"wrong guess {attempt}")
        assert response.status_code == 401, (attempt, response.content)

    eleventh = await _login(async_client, "victor", "wrong guess 10")
    wait = _assert_throttled(eleventh, max_wait=15 * 60)
    assert wait > 14 * 60
    assert "too many login attempts for this account" in eleventh.json()["detail"]
    # The right password is no way around it either (else 429 would tell a wrong guess
    # from a right one), and another spelling of the name is the same account.
    _assert_throttled(await _login(async_client, "victor", PASSWORD), max_wait=15 * 60)
    _assert_throttled(await _login(async_client, "VICTOR", PASSWORD), max_wait=15 * 60)


async def test_unknown_usernames_are_throttled_the_same_way(async_client):
    for attempt in range(10):
        assert (await _login(async_client, "nobody-here", f"guess {attempt}")).status_code == 401
    _assert_throttled(await _login(async_client, "nobody-here", "guess"), max_wait=15 * 60)


async def test_guesses_from_one_address_do_not_lock_the_owner_out_elsewhere(async_client, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    await asyncio.to_thread(_account, "wanda")
    attacker = "198.51.100.66"
    for attempt in range(10):
        await _login(async_client, "wanda", f"guess {attempt}", forwarded=attacker)
    _assert_throttled(
        await _login(async_client, "wanda", "guess", forwarded=attacker), max_wait=15 * 60
    )

    owner = await _login(async_client, "wanda", PASSWORD, forwarded="203.0.113.20")

    assert owner.status_code == 200, owner.content


async def test_guesses_spread_over_addresses_meet_the_per_account_ceiling(async_client, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    settings.LOGIN_RATE_LIMIT_PER_ACCOUNT_ALL_ADDRESSES_COUNT = 6
    await asyncio.to_thread(_account, "xavier")

    for index in range(6):
        response = await _login(async_client, "xavier", "guess", forwarded=f"198.51.100.{index}")
        assert response.status_code == 401
    refused = await _login(async_client, "xavier", PASSWORD, forwarded="198.51.100.99")

    _assert_throttled(refused, max_wait=15 * 60)


async def test_one_address_is_limited_across_accounts_by_the_last_forwarded_hop(
    async_client, settings
):
    settings.TRUSTED_PROXY_HOPS = 1
    settings.LOGIN_RATE_LIMIT_PER_ADDRESS_COUNT = 5
    await asyncio.to_thread(_account, "yolanda")

    # Five usernames, and each time a different address of the client's own invention
    # before the one the edge appended: all of it counts against 203.0.113.5.
    for index in range(5):
        response = await _login(
            async_client,
            f"someone{index}",
            "guess",
            forwarded=f"10.9.8.{index}, 192.0.2.{index}, 203.0.113.5",
        )
        assert response.status_code == 401
    refused = await _login(
        async_client, "yolanda", PASSWORD, forwarded="203.0.113.200, 203.0.113.5"
    )

    wait = _assert_throttled(refused, max_wait=60)
    assert "too many login attempts from this address" in refused.json()["detail"]
    assert wait > 50
    # Another client, behind the same edge, is not held back.
    other = await _login(async_client, "yolanda", PASSWORD, forwarded="203.0.113.6")
    assert other.status_code == 200, other.content


async def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(async_client, settings):
    settings.TRUSTED_PROXY_HOPS = 0
    settings.LOGIN_RATE_LIMIT_PER_ADDRESS_COUNT = 3

    for index in range(3):
        response = await _login(
            async_client, f"someone{index}", "guess", forwarded=f"192.0.2.{index}", peer="10.0.0.7"
        )
        assert response.status_code == 401
    refused = await _login(
        async_client, "someone9", "guess", forwarded="192.0.2.99", peer="10.0.0.7"
    )
    _assert_throttled(refused, max_wait=60)
    # The socket peer is what counts.
    assert (await _login(async_client, "someone9", "guess", peer="10.0.0.8")).status_code == 401


async def test_signups_per_address_are_limited_and_refused_ones_do_not_count(
    async_client, settings
):
    settings.SIGNUP_RATE_LIMIT_PER_ADDRESS_COUNT = 2
    for index in range(3):
        weak = await post_json(
            async_client, SIGNUP, signup_body(username=f"weak{index}", password="12345678")
        )
        assert weak.status_code == 422

    for name in ("zara", "zoltan"):
        response = await post_json(async_client, SIGNUP, signup_body(username=name))
        assert response.status_code == 201, response.content
    third = await post_json(async_client, SIGNUP, signup_body(username="zeno"))

    wait = _assert_throttled(third, max_wait=3600)
    assert wait > 3500
    assert "too many signups from this address" in third.json()["detail"]
    users = await asyncio.to_thread(stored_users)
    assert sorted(user.username for user in users) == ["zara", "zoltan"]


async def test_socket_tickets_are_capped_per_user(async_client, settings):
    settings.WS_TICKET_RATE_LIMIT_COUNT = 3
    ana = await asyncio.to_thread(user_create, username="ana")
    ben = await asyncio.to_thread(user_create, username="ben")
    headers = {"Authorization": f"Bearer {user_token(ana)}"}

    for _ in range(3):
        assert (await async_client.post(TICKET, headers=headers)).status_code == 201
    refused = await async_client.post(TICKET, headers=headers)

    _assert_throttled(refused, max_wait=60)
    assert "too many socket tickets" in refused.json()["detail"]
    assert "ticket" not in refused.json()
    # Someone else's tickets are not affected.
    other = await async_client.post(TICKET, headers={"Authorization": f"Bearer {user_token(ben)}"})
    assert other.status_code == 201


async def test_the_default_ticket_cap_is_thirty_a_minute(async_client):
    user = await asyncio.to_thread(user_create, username="cleo")
    headers = {"Authorization": f"Bearer {user_token(user)}"}

    statuses = [(await async_client.post(TICKET, headers=headers)).status_code for _ in range(31)]

    assert statuses == [201] * 30 + [429]

"""An outage of Redis or DynamoDB is answered as a wait (503 with Retry-After, or close code
4503 at a socket handshake), never as a 500. The Redis here is a real server of the test's
own, killed or paused (SIGSTOP) while requests arrive."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import botocore.exceptions
import pytest
import redis.exceptions
from asgiref.sync import sync_to_async
from django.test import AsyncClient
from pynamodb.exceptions import GetError, TransactWriteError

from apps.core.outages import outage_caused
from tests.support.accounts import user_create, user_token

TICKET_PATH = "/api/ws/ticket"


async def _ticket_request(token: str):
    return await AsyncClient().post(
        TICKET_PATH,
        content_type="application/json",
        data={},
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_rest_answers_503_with_retry_after_while_redis_is_down(own_redis):
    token = user_token(await sync_to_async(user_create)())
    assert (await _ticket_request(token)).status_code == 201

    own_redis.stop()
    response = await _ticket_request(token)

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json() == {
        "detail": "The service is briefly unavailable; try again in a moment"
    }


async def test_a_paused_redis_gives_503_after_the_command_timeout_not_a_hang(own_redis):
    token = user_token(await sync_to_async(user_create)())
    assert (await _ticket_request(token)).status_code == 201

    os.kill(own_redis.process.pid, signal.SIGSTOP)
    started = time.monotonic()
    response = await _ticket_request(token)
    waited = time.monotonic() - started

    assert response.status_code == 503
    # The first command (the ticket limit) gives up after the store's 3 s, sooner than
    # redis-py's own default of 5 s.
    assert waited < 4.5
    os.kill(own_redis.process.pid, signal.SIGCONT)
    # The pooled connection that timed out is replaced; the next request goes through.
    assert (await _ticket_request(token)).status_code == 201


async def test_a_socket_handshake_during_a_redis_outage_closes_with_4503(own_redis, sockets):
    user = await sync_to_async(user_create)()
    token = user_token(user)
    ticket = (await _ticket_request(token)).json()["ticket"]

    own_redis.stop()
    by_ticket, _, _ = await sockets.attempt(f"?ticket={ticket}")
    by_token, _, _ = await sockets.attempt(f"?token={token}")

    assert await by_ticket.close_code() == 4503
    assert await by_token.close_code() == 4503


async def test_the_first_requests_after_redis_restarts_are_answered(settings, faulty_redis):
    settings.REDIS_URL = faulty_redis.url
    token = user_token(await sync_to_async(user_create)())
    # Enough at once that the store's pool holds several connections, all stale after this.
    replies = await asyncio.gather(*(_ticket_request(token) for _ in range(3)))
    assert [reply.status_code for reply in replies] == [201] * 3

    faulty_redis.restart()
    replies = await asyncio.gather(*(_ticket_request(token) for _ in range(3)))

    assert [reply.status_code for reply in replies] == [201] * 3


def _pynamodb_error(code: str) -> GetError:
    cause = botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "m"}}, "GetItem")
    return GetError("Failed to get item", cause)


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError("Connection refused"),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        botocore.exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
        GetError("Failed", botocore.exceptions.EndpointConnectionError(endpoint_url="http://x")),
        # A timeout's `response` is None, which PynamoDB's cause_response_code trips over.
        TransactWriteError("Failed", botocore.exceptions.ReadTimeoutError(endpoint_url="http://x")),
        _pynamodb_error("ProvisionedThroughputExceededException"),
        _pynamodb_error("ThrottlingException"),
        _pynamodb_error("InternalServerError"),
    ],
    ids=repr,
)
def test_dependency_failures_count_as_outages(error):
    assert outage_caused(error)


def test_an_outage_behind_another_exception_still_counts():
    try:
        try:
            raise redis.exceptions.ConnectionError("gone")
        except redis.exceptions.ConnectionError as inner:
            raise RuntimeError("while claiming") from inner
    except RuntimeError as outer:
        assert outage_caused(outer)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bug"),
        KeyError("bug"),
        _pynamodb_error("ValidationException"),
        _pynamodb_error("ConditionalCheckFailedException"),
        redis.exceptions.ResponseError("WRONGTYPE"),
    ],
    ids=repr,
)
def test_bugs_and_refusals_are_not_outages(error):
    assert not outage_caused(error)

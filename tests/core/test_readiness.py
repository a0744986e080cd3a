"""An instance is ready before it is routed to: a Daphne process connects to DynamoDB and
Redis as soon as it starts, before any request, and `GET /api/ready` answers 200 only while
they answer. The Redis and DynamoDB servers here are real processes of each test's own,
paused (SIGSTOP) and resumed."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from contextlib import contextmanager

import pytest
import redis
from django.test import AsyncClient

from apps.core.dynamo import dynamo_configure, dynamo_tables_create, dynamo_target_from_settings
from tests.support.daphne import daphne_running
from tests.support.http import http_json
from tests.support.redis_faults import channel_layer_on_own_redis
from tests.support.servers import dynamo_server_start, redis_server_start

REDIS_CHECKS = ("channel_layer", "keyvalue_store")


@contextmanager
def paused(server):
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


@pytest.fixture
def redis_for_store_and_layer(settings):
    """A Redis server for this test alone, used by the key-value store and the channel layer."""
    with channel_layer_on_own_redis(settings, keyvalue_too=True) as server:
        yield server


@pytest.fixture
def own_dynamo(dynamo_tables):
    """A DynamoDB-compatible server (moto) for this test alone, with the app's tables."""
    server = dynamo_server_start()
    suite = dynamo_target_from_settings()
    dynamo_configure(dataclasses.replace(suite, host=server.url))
    dynamo_tables_create(development=True, wait_seconds=30)
    yield server
    dynamo_configure(suite)
    server.stop()


async def ready_get() -> tuple[int, dict, str | None]:
    response = await AsyncClient().get("/api/ready")
    return response.status_code, response.json(), response.get("Retry-After")


async def test_ready_is_503_while_redis_is_paused_and_200_once_it_answers(
    redis_for_store_and_layer,
):
    status, body, _ = await ready_get()
    assert (status, body["ready"]) == (200, True)

    with paused(redis_for_store_and_layer):
        status, body, retry_after = await ready_get()
    assert status == 503
    assert retry_after == "2"
    assert body["ready"] is False
    assert body["checks"] == {"dynamodb": "ok", "channel_layer": "down", "keyvalue_store": "down"}
    assert "keyvalue_store is down (" in body["detail"]
    assert redis_for_store_and_layer.url not in body["detail"]

    status, body, retry_after = await ready_get()
    assert (status, body["ready"], retry_after) == (200, True, None)


async def test_ready_is_503_while_dynamodb_is_paused_and_200_once_it_answers(own_dynamo):
    status, body, _ = await ready_get()
    assert (status, body["ready"]) == (200, True)

    with paused(own_dynamo):
        status, body, retry_after = await ready_get()
    assert status == 503
    assert retry_after == "2"
    assert body["ready"] is False
    assert body["checks"] == {"dynamodb": "down", "channel_layer": "ok", "keyvalue_store": "ok"}
    assert body["detail"] == "dynamodb is down (timed out)"

    status, body, _ = await ready_get()
    assert (status, body["ready"]) == (200, True)


def daphne_redis_clients(server) -> list[dict]:
    """Connections to `server` other than the test's own."""
    client = redis.Redis.from_url(server.url)
    try:
        own_id = client.client_id()
        return [entry for entry in client.client_list() if int(entry["id"]) != own_id]
    finally:
        client.close()


@pytest.fixture
def daphne_redis():
    """A Redis server for the Daphne processes of one test."""
    server = redis_server_start()
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def test_a_starting_daphne_connects_before_any_request(dynamo_tables, daphne_redis):
    environment = {"DYNAMODB_TABLE_PREFIX": dynamo_tables, "REDIS_URL": daphne_redis.url}
    with daphne_running(environment) as daphne:
        # No request yet: the starting instance connects to Redis by itself (the key-value
        # store, and the channel layer's subscriber).
        deadline = time.monotonic() + 15
        while len(daphne_redis_clients(daphne_redis)) < 2:
            assert time.monotonic() < deadline, daphne_redis_clients(daphne_redis)
            time.sleep(0.1)
        status, body = http_json(daphne.url, "GET", "/api/ready")
    assert status == 200
    assert body == {
        "ready": True,
        "status": "ok",
        "checks": {"dynamodb": "ok", "channel_layer": "ok", "keyvalue_store": "ok"},
    }


def test_a_daphne_started_while_redis_is_paused_is_ready_once_redis_answers(
    dynamo_tables, daphne_redis
):
    environment = {"DYNAMODB_TABLE_PREFIX": dynamo_tables, "REDIS_URL": daphne_redis.url}
    with paused(daphne_redis), daphne_running(environment) as daphne:
        status, body = http_json(daphne.url, "GET", "/api/ready")
        assert status == 503
        assert body["ready"] is False
        assert {name: body["checks"][name] for name in ("dynamodb", *REDIS_CHECKS)} == {
            "dynamodb": "ok",
            "channel_layer": "down",
            "keyvalue_store": "down",
        }
        os.kill(daphne_redis.process.pid, signal.SIGCONT)
        deadline = time.monotonic() + 15
        while http_json(daphne.url, "GET", "/api/ready")[0] != 200:
            assert time.monotonic() < deadline, "not ready 15 s after Redis came back"
            time.sleep(0.2)
        # The start-up warm-up found Redis silent, tried again, and finished by itself.
        log = log_until(daphne.process, "instance warm and ready after", seconds=15)
    assert "instance not ready yet (channel_layer: timed out, keyvalue_store: " in log


def log_until(process, text: str, *, seconds: float) -> str:
    """What `process` has written to stderr until `text` appears in it."""
    stream = process.stderr
    os.set_blocking(stream.fileno(), False)
    log = ""
    deadline = time.monotonic() + seconds
    while text not in log:
        assert time.monotonic() < deadline, f"{text!r} not logged; got {log!r}"
        chunk = stream.read()
        if chunk:
            log += chunk.decode()
        else:
            time.sleep(0.05)
    return log

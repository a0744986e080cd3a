import asyncio
import dataclasses
import socket
import threading

import pytest
from channels.layers import channel_layers

from apps.core.dynamo import dynamo_configure, dynamo_target_from_settings
from apps.core.selectors import DEPENDENCY_TIMEOUT_SECONDS
from tests.support.servers import free_port


async def test_health_answers_ok(async_client):
    response = await async_client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# --- Liveness and readiness -------------------------------------------------------------------


# A reply must come well within the readiness probe's own timeout plus some slack.
READY_DEADLINE_SECONDS = DEPENDENCY_TIMEOUT_SECONDS + 5


@pytest.fixture
def unreachable_dynamo(dynamo_tables, settings):
    """Point every model at a loopback port on which nothing listens, for one test."""
    reachable = dynamo_target_from_settings()
    unreachable = dataclasses.replace(reachable, host=f"http://127.0.0.1:{free_port()}")
    dynamo_configure(unreachable)
    yield unreachable
    # Put the models back so that dynamo_tables can delete this test's tables.
    dynamo_configure(reachable)


@pytest.fixture
def fresh_channel_layers():
    channel_layers.backends.clear()
    yield channel_layers
    channel_layers.backends.clear()


@pytest.fixture
def redis_layer_on(settings, fresh_channel_layers):
    """Returns a function that points the default channel layer at a Redis URL."""

    def point_at(url: str) -> None:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": settings.REDIS_CHANNEL_LAYERS["pubsub"],
                "CONFIG": {"hosts": [url]},
            }
        }
        channel_layers.backends.clear()

    return point_at


@pytest.fixture
def silent_tcp_server():
    """A loopback port that accepts connections and never answers (a hung Redis)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    listener.close()


async def get_ready(async_client):
    return await asyncio.wait_for(async_client.get("/api/ready"), READY_DEADLINE_SECONDS)


class TestHealth:
    """Liveness touches no dependency, so these tests need none of the suite's tables."""

    @pytest.fixture(autouse=True)
    def dynamo_tables(self):
        # Overrides the conftest fixture for this class: no tables to create and delete.
        yield None

    async def test_health_answers_ok_while_dynamodb_is_unreachable(
        self, async_client, unreachable_dynamo
    ):
        from pynamodb.exceptions import PynamoDBException

        from apps.accounts.models import User
        from apps.core.concurrency import run_blocking

        # The models really cannot reach DynamoDB...
        assert User.Meta.host == unreachable_dynamo.host
        with pytest.raises(PynamoDBException):
            await run_blocking(User.describe_table)()
        # ...and liveness does not care.
        response = await async_client.get("/api/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_health_answers_ok_while_redis_is_unreachable(self, async_client, redis_layer_on):
        redis_layer_on(f"redis://127.0.0.1:{free_port()}/0")
        response = await async_client.get("/api/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_health_answers_head(self, async_client):
        response = await async_client.head("/api/health")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response.content == b""  # a HEAD reply carries headers only

    async def test_health_refuses_other_methods_in_json(self, async_client):
        response = await async_client.post("/api/health")
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"
        assert response.json() == {"detail": "Method POST not allowed"}


async def test_ready_answers_ok_when_every_dependency_answers(async_client, fresh_channel_layers):
    from django.conf import settings

    # The suite's default layer is the real redis-server the test plugin started.
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == (
        "apps.core.channel_layer.ReconnectingPubSubChannelLayer"
    )
    response = await get_ready(async_client)
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "status": "ok",
        "checks": {"dynamodb": "ok", "channel_layer": "ok", "keyvalue_store": "ok"},
    }
    assert "Retry-After" not in response


async def test_ready_answers_ok_with_the_in_memory_layer(
    async_client, settings, fresh_channel_layers
):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    response = await get_ready(async_client)
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "dynamodb": "ok",
        "channel_layer": "ok",
        "keyvalue_store": "ok",
    }


async def test_ready_is_503_naming_dynamodb_when_it_is_unreachable(
    async_client, unreachable_dynamo, fresh_channel_layers
):
    response = await get_ready(async_client)
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    body = response.json()
    assert body["ready"] is False
    assert body["status"] == "unavailable"
    assert body["checks"] == {"dynamodb": "down", "channel_layer": "ok", "keyvalue_store": "ok"}
    assert body["detail"].startswith("dynamodb is down (")
    assert "channel_layer" not in body["detail"]
    # The reply says which kind of failure, never the endpoint or a traceback.
    assert unreachable_dynamo.host not in body["detail"]
    assert "Traceback" not in body["detail"]


async def test_ready_is_503_naming_dynamodb_when_a_table_is_missing(
    async_client, dynamo_tables, fresh_channel_layers
):
    from apps.chats.models import Message

    Message.delete_table()
    try:
        response = await get_ready(async_client)
        assert response.status_code == 503
        body = response.json()
        assert body["checks"] == {"dynamodb": "down", "channel_layer": "ok", "keyvalue_store": "ok"}
        assert body["detail"].startswith("dynamodb is down (")
    finally:
        # dynamo_tables deletes every table afterwards, so put this one back.
        Message.create_table(
            billing_mode="PROVISIONED", read_capacity_units=5, write_capacity_units=5
        )


async def test_ready_is_503_naming_channel_layer_when_redis_is_unreachable(
    async_client, redis_layer_on
):
    redis_layer_on(f"redis://127.0.0.1:{free_port()}/0")
    response = await get_ready(async_client)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"dynamodb": "ok", "channel_layer": "down", "keyvalue_store": "ok"}
    assert body["detail"].startswith("channel_layer is down (")
    assert "dynamodb" not in body["detail"]


async def test_ready_is_503_naming_both_when_both_are_unreachable(
    async_client, unreachable_dynamo, redis_layer_on
):
    redis_layer_on(f"redis://127.0.0.1:{free_port()}/0")
    response = await get_ready(async_client)
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"dynamodb": "down", "channel_layer": "down", "keyvalue_store": "ok"}
    assert "dynamodb is down (" in body["detail"]
    assert "channel_layer is down (" in body["detail"]


async def test_ready_is_503_within_its_timeout_when_redis_hangs(
    async_client, redis_layer_on, silent_tcp_server
):
    # A Redis that accepts the connection and never replies (overloaded, half-open link).
    # The readiness probe promises an answer within DEPENDENCY_TIMEOUT_SECONDS per dependency.
    redis_layer_on(f"redis://127.0.0.1:{silent_tcp_server}/0")
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await get_ready(async_client)
    elapsed = loop.time() - started
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"dynamodb": "ok", "channel_layer": "down", "keyvalue_store": "ok"}
    assert body["detail"].startswith("channel_layer is down (")
    assert elapsed < DEPENDENCY_TIMEOUT_SECONDS + 1.5, (
        f"/api/ready took {elapsed:.1f}s with a hung Redis; "
        f"the probe's timeout is {DEPENDENCY_TIMEOUT_SECONDS}s"
    )

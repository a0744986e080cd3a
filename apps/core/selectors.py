"""Reads about the service itself: is each dependency reachable?"""

import asyncio
import logging

from channels.layers import get_channel_layer
from pynamodb.exceptions import TableDoesNotExist

from apps.core.concurrency import run_blocking
from apps.core.dynamo import dynamo_tables_status
from apps.core.keyvalue import keyvalue_store

logger = logging.getLogger(__name__)

DEPENDENCY_TIMEOUT_SECONDS = 3.0
# Read, never written: a GET is a full round trip on the store's connection.
KEYVALUE_PROBE_KEY = "readiness:probe"


def _dynamo_check() -> None:
    tables = dynamo_tables_status()
    if tables.missing:
        raise TableDoesNotExist(tables.missing[0])
    if tables.inactive:
        raise RuntimeError(f"not ACTIVE yet: {', '.join(tables.inactive)}")


async def dynamo_readiness() -> str | None:
    """None when every table answers and is ACTIVE, else why not."""
    try:
        await asyncio.wait_for(run_blocking(_dynamo_check)(), DEPENDENCY_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timed out"
    except Exception as error:  # any failure means not ready; say which kind
        logger.warning("dynamodb readiness check failed: %s", type(error).__name__)
        return type(error).__name__
    return None


async def _channel_release(layer, channel: str) -> None:
    # The layers let a channel go (channels-redis unsubscribes it) only when a receive on it
    # is cancelled, as Channels does when a consumer ends. Without this every probe, passed
    # or failed, left a subscription behind for the life of the process.
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    receiving.cancel()
    await asyncio.gather(receiving, return_exceptions=True)


async def channel_layer_readiness() -> str | None:
    """None when a message sent through the channel layer comes back, else why not."""
    layer = get_channel_layer()
    if layer is None:
        return "not configured"

    async def round_trip() -> dict:
        channel = await layer.new_channel()
        try:
            await layer.send(channel, {"type": "readiness.probe"})
            return await layer.receive(channel)
        finally:
            await _channel_release(layer, channel)

    try:
        # One deadline for the whole probe: connecting to a hung Redis counts too.
        message = await asyncio.wait_for(round_trip(), DEPENDENCY_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timed out"
    except Exception as error:
        logger.warning("channel layer readiness check failed: %s", type(error).__name__)
        return type(error).__name__
    if message.get("type") != "readiness.probe":
        return "unexpected reply"
    return None


async def keyvalue_readiness() -> str | None:
    """None when the key-value store (Redis: rate limits, tickets, socket places) answers,
    else why not."""
    try:
        await asyncio.wait_for(keyvalue_store().get(KEYVALUE_PROBE_KEY), DEPENDENCY_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timed out"
    except Exception as error:
        logger.warning("key-value store readiness check failed: %s", type(error).__name__)
        return type(error).__name__
    return None

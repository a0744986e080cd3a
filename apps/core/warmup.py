"""An instance is ready before it is routed to.

A fresh process pays once for what every request needs: the DynamoDB client's first
connection, the Redis connections of the key-value store and of the channel layer (both
belong to the event loop that serves requests), and what the apps register as warm-up steps
(`warm_up_step_register`, from their AppConfig.ready: the chats app's translation client).
Paid by the first
requests of a reconnect storm, that made most handshakes of a 200-socket storm time out
(bench/reconnect_storm.py). So the server
process pays it as soon as it starts serving (`instance_warm_up_when_serving`, called by
commonality/asgi.py), retrying until every dependency answers, and `GET /api/ready` says
whether they all do. Its checks are the warm-up itself: a probe that answers 200 has made
each connection on the serving loop.

Daphne sends no ASGI lifespan events, hence the hook on its Twisted reactor.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable

from apps.core.backoff import Backoff
from apps.core.garbage_collection import garbage_collection_freeze_start_up
from apps.core.selectors import channel_layer_readiness, dynamo_readiness, keyvalue_readiness

logger = logging.getLogger(__name__)

# Between two warm-up attempts while a dependency does not answer: doubling up to the cap.
WARM_UP_FIRST_RETRY_SECONDS = 0.5
WARM_UP_MAX_RETRY_SECONDS = 10.0

# Held so that the running warm-up is not garbage-collected (the loop keeps only a weak one).
_startup_task: asyncio.Task | None = None
# Registered by the apps above core: each builds something of theirs on the running loop.
_warm_up_steps: list[Callable[[], None]] = []


def warm_up_step_register(step: Callable[[], None]) -> None:
    """Have every warm-up and readiness probe call `step()` on the serving loop first (say,
    to build a per-loop client; it must send nothing anywhere). Registered once per step."""
    if step not in _warm_up_steps:
        _warm_up_steps.append(step)


async def instance_readiness() -> dict[str, str | None]:
    """Make (or check) every connection a request needs, on the running loop: dependency
    name -> None when it answers, else why not."""
    for step in _warm_up_steps:
        step()
    dynamo, channel_layer, keyvalue = await asyncio.gather(
        dynamo_readiness(), channel_layer_readiness(), keyvalue_readiness()
    )
    return {"dynamodb": dynamo, "channel_layer": channel_layer, "keyvalue_store": keyvalue}


async def instance_warm_up() -> None:
    """Until every dependency answers: warm, wait, warm again."""
    started = time.monotonic()
    backoff = Backoff(
        first_seconds=WARM_UP_FIRST_RETRY_SECONDS, max_seconds=WARM_UP_MAX_RETRY_SECONDS
    )
    while True:
        try:
            problems = await instance_readiness()
        except Exception as error:  # a bug here must not end the warm-up for good
            logger.exception("instance warm-up failed")
            problems = {"warm-up": type(error).__name__}
        down = {name: problem for name, problem in problems.items() if problem is not None}
        if not down:
            logger.info("instance warm and ready after %.2fs", time.monotonic() - started)
            garbage_collection_freeze_start_up()
            return
        delay = backoff.wait()
        logger.warning(
            "instance not ready yet (%s); warming again in %.1fs",
            ", ".join(f"{name}: {problem}" for name, problem in down.items()),
            delay,
        )
        await asyncio.sleep(delay)


def _warm_up_begin() -> None:
    global _startup_task
    _startup_task = asyncio.get_running_loop().create_task(instance_warm_up())


def instance_warm_up_when_serving() -> None:
    """Warm up on the serving event loop as soon as a Daphne server runs this application.

    Daphne's server module installs Twisted's asyncio reactor, whose loop serves every
    request; a call scheduled on that reactor runs only once it serves. Other processes that
    load the application (manage.py, tests) never run the reactor, so nothing happens there.
    """
    if "daphne.server" not in sys.modules:
        return
    from twisted.internet import reactor

    reactor.callLater(0, _warm_up_begin)  # type: ignore[arg-type]  # zope.interface methods have no self: mypy takes the delay for it

"""What an instance finishes before it exits.

Daphne sends no ASGI lifespan events. On SIGTERM its Twisted reactor fires its "before
shutdown" triggers and waits for what they return, while the event loop still runs: that is
where the apps finish the work they hold only in memory (the search index's queue). They
register a coroutine function (`shutdown_step_register`, from AppConfig.ready); together the
steps get at most `SHUTDOWN_STEPS_SECONDS`, so a deploy's stop stays short whatever DynamoDB
does (railway.json drains for 30 s, the container check wants 10).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

SHUTDOWN_STEPS_SECONDS = 5.0

_shutdown_steps: list[Callable[[], Awaitable[None]]] = []


def shutdown_step_register(step: Callable[[], Awaitable[None]]) -> None:
    """Have `await step()` run on the serving loop when the server is told to stop. Registered
    once per step."""
    if step not in _shutdown_steps:
        _shutdown_steps.append(step)


async def shutdown_steps_run(*, timeout: float = SHUTDOWN_STEPS_SECONDS) -> None:
    """Every registered step, side by side, for at most `timeout` seconds; a step that fails
    or overruns is logged, and the server stops anyway."""
    steps = [asyncio.ensure_future(step()) for step in _shutdown_steps]
    if not steps:
        return
    done, pending = await asyncio.wait(steps, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        logger.warning(
            "%d shutdown step(s) did not finish within %.0fs; stopping without them",
            len(pending),
            timeout,
        )
    for task in done:
        if task.exception() is not None:
            logger.error("a shutdown step failed", exc_info=task.exception())


def instance_shutdown_steps_when_stopping() -> None:
    """Run the shutdown steps when the Daphne server running this application is told to
    stop. Other processes that load the application (manage.py, tests) never run the reactor,
    so nothing happens there."""
    if "daphne.server" not in sys.modules:
        return
    from twisted.internet import defer, reactor

    def before_shutdown() -> defer.Deferred:
        return defer.Deferred.fromFuture(asyncio.ensure_future(shutdown_steps_run()))

    # zope.interface methods have no self: mypy takes the phase for it.
    reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)  # type: ignore[arg-type]

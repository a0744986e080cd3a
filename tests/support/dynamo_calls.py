"""The DynamoDB operations the app makes, observed on the real botocore client every model
uses (not a mock: the requests still go to moto's server)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

from apps.core.dynamo import dynamo_client

_ids = itertools.count()


@contextlib.contextmanager
def dynamo_calls() -> Iterator[list[tuple[str, dict]]]:
    """The operations made meanwhile, in order, by name, with their parameters."""
    calls: list[tuple[str, dict]] = []

    def seen(model, params, **_):
        calls.append((model.name, params))

    unique_id = f"test-dynamo-calls-{next(_ids)}"
    events = dynamo_client().meta.events
    events.register("before-parameter-build.dynamodb", seen, unique_id=unique_id)
    try:
        yield calls
    finally:
        events.unregister("before-parameter-build.dynamodb", unique_id=unique_id)

"""Running blocking calls (PynamoDB, password hashing) off the event loop."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async

T = TypeVar("T")

# PynamoDB blocks on HTTP. asgiref's default (thread_sensitive=True) would queue every call
# behind one thread; a dedicated pool lets independent requests wait on DynamoDB in parallel.
# Its size matches the botocore connection pool given to the models (apps.core.dynamo).
BLOCKING_POOL_SIZE = 32
_blocking_pool = ThreadPoolExecutor(max_workers=BLOCKING_POOL_SIZE, thread_name_prefix="blocking")


def run_blocking(function: Callable[..., T]) -> Callable[..., Any]:
    """Wrap a synchronous function so that awaiting it runs it on the blocking pool."""
    return sync_to_async(function, thread_sensitive=False, executor=_blocking_pool)

"""The serving process's garbage collector, once the instance is warm.

A serving process holds a large, long-lived heap from start-up (Django, botocore's service
models, the OpenAI SDK's types): about 230,000 objects, which every full collection walks
again, about 125 ms here, on the event loop, while every message in flight waits. Nothing in
that heap is garbage, so once warm it is moved out of the collector's sight (`gc.freeze()`);
the messages' own objects are collected as before. At 75 msgs/s this took the chat's p99 from
about 400 to about 230 ms (bench/chat_load.py, README "Benchmarks").
"""

from __future__ import annotations

import gc
import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def garbage_collection_freeze_start_up() -> None:
    """Collect once, then freeze what is left (GC_FREEZE_AFTER_WARM_UP). Called when the
    instance is warm, so that what warming built is frozen too."""
    if not settings.GC_FREEZE_AFTER_WARM_UP:
        return
    gc.collect()
    gc.freeze()
    logger.info("garbage collector: %d start-up objects frozen", gc.get_freeze_count())

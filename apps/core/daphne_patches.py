"""Changes to Daphne's classes, each made once per process and only where Daphne serves.

Every patch has the same shape: keep Daphne's own method, put a function in its place that
adds to it or calls it. `daphne_patch` makes a patch idempotent (commonality/asgi.py and the
tests install them more than once) and a no-op without Daphne (another ASGI server).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable

_applied: set[str] = set()
_lock = threading.Lock()


def daphne_patch(name: str, apply: Callable[[], None]) -> None:
    """Run `apply()` (which replaces Daphne methods) unless the patch called `name` already
    ran in this process or Daphne is not installed."""
    if importlib.util.find_spec("daphne") is None:
        return
    with _lock:
        if name in _applied:
            return
        apply()
        _applied.add(name)

"""One object per running event loop: a client or connection pool belongs to the loop that
made it (httpx and redis-py connections must not be shared across loops), and a process
runs several loops over its life (tests, `async_to_sync` in commands).

Each is also keyed on the settings it was built from, so changing them (tests do) builds a
new one. Objects of loops that have ended can never be used again and are forgotten.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class LoopLocal(Generic[T]):
    def __init__(self, *, build: Callable[[], T], settings_key: Callable[[], Hashable]) -> None:
        self._build = build
        self._settings_key = settings_key
        self._values: dict[tuple[asyncio.AbstractEventLoop, Hashable], T] = {}
        self._lock = threading.Lock()

    def get(self) -> T:
        """The running loop's object, built on first use."""
        # Keyed on the loop itself, not its id: a new loop may reuse the id of one that has
        # closed, and must not inherit its connections.
        key = (asyncio.get_running_loop(), self._settings_key())
        with self._lock:
            value = self._values.get(key)
            if value is None:
                for stale in [stale for stale in self._values if stale[0].is_closed()]:
                    del self._values[stale]
                value = self._values[key] = self._build()
        return value

    def take_running(self) -> list[T]:
        """Forget the running loop's objects and hand them over (to be closed)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            keys = [key for key in self._values if key[0] is loop]
            return [self._values.pop(key) for key in keys]

"""Recent copies of things read from DynamoDB, per process, each trusted for a while.

A copy is kept `seconds` from when it was put, and the least recently put go first past
`kept`. Copies are replaced, never changed in place: threads read them while others put.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class RecentCopies(Generic[V]):
    def __init__(self, *, seconds: float, kept: int) -> None:
        self._seconds = seconds
        self._kept = kept
        self._lock = threading.Lock()
        self._copies: OrderedDict[str, tuple[V, float]] = OrderedDict()

    def get(self, key: str, *, still_good: Callable[[V], bool] | None = None) -> V | None:
        """The copy, unless it has expired or `still_good` says it no longer fits (then it
        is dropped)."""
        with self._lock:
            entry = self._copies.get(key)
            if entry is None:
                return None
            if entry[1] < time.monotonic() or (still_good is not None and not still_good(entry[0])):
                del self._copies[key]
                return None
            return entry[0]

    def put(self, key: str, copy: V) -> None:
        with self._lock:
            self._copies[key] = (copy, time.monotonic() + self._seconds)
            self._copies.move_to_end(key)
            while len(self._copies) > self._kept:
                self._copies.popitem(last=False)

    def replace(self, key: str, change: Callable[[V], V | None]) -> None:
        """Put `change(copy)` in the copy's place, keeping its expiry; nothing when there is
        no copy or `change` returns None."""
        with self._lock:
            entry = self._copies.get(key)
            if entry is None:
                return
            changed = change(entry[0])
            if changed is not None:
                self._copies[key] = (changed, entry[1])

    def forget(self, key: str) -> None:
        with self._lock:
            self._copies.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._copies.clear()

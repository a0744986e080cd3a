"""Waiting longer after each failure: the next wait doubles, up to a cap."""

from __future__ import annotations


class Backoff:
    """`wait()` gives first_seconds, then twice that, and so on up to max_seconds;
    `reset()` (after a success) starts over."""

    def __init__(self, *, first_seconds: float, max_seconds: float) -> None:
        self.first_seconds = first_seconds
        self.max_seconds = max_seconds
        self._next = first_seconds

    def wait(self) -> float:
        current = self._next
        self._next = min(current * 2, self.max_seconds)
        return current

    def reset(self) -> None:
        self._next = self.first_seconds

"""Errors a service raises for a caller to show: each carries its HTTP status and a text.

REST views turn them into `{"detail": ...}` with the status; socket consumers send the same
text as `{"error": ...}`.
"""

import math


class ServiceError(Exception):
    status = 400
    # Seconds a client should wait before trying again (REST: the `Retry-After` header;
    # socket: the error frame's `retry_after`), when waiting is what helps.
    retry_after: int | None = None
    # A machine-readable name for the refusal, where a client acts on it (the socket's error
    # frame `code`), or None.
    code: str | None = None

    def __init_subclass__(cls, *, status: int | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if retry_after is not None:
            self.retry_after = max(1, math.ceil(retry_after))


class BadRequest(ServiceError, status=400):
    """A request that breaks a rule of the operation (not a malformed field)."""


class InvalidInput(ServiceError, status=422):
    """A field that is missing, of the wrong type, or out of bounds."""


class Unauthorized(ServiceError, status=401):
    """No valid credentials: log in (again)."""


class Forbidden(ServiceError, status=403):
    """Known, but not allowed to do this."""


class NotFound(ServiceError, status=404):
    """Nothing there, or nothing the caller may know is there."""


class Conflict(ServiceError, status=409):
    """The state changed or is taken: read it again, or pick another."""


class PayloadTooLarge(ServiceError, status=413):
    """A body or recording over its size limit."""


class Unavailable(ServiceError, status=503):
    """A dependency is down or full: try again later."""


class Busy(Unavailable):
    """This process has as much of this work in progress as it can finish promptly: nothing
    was done; try again in `retry_after` seconds (apps/core/admission.py)."""

    code = "busy"


class RateLimited(ServiceError, status=429):
    """Too many of these: wait `retry_after` seconds."""

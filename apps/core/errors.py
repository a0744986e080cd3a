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

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if retry_after is not None:
            self.retry_after = max(1, math.ceil(retry_after))


class BadRequest(ServiceError):
    status = 400


class InvalidInput(ServiceError):
    status = 422


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Unavailable(ServiceError):
    status = 503


class RateLimited(ServiceError):
    status = 429

"""Errors a service raises for a caller to show: each carries its HTTP status and a text.

REST views turn them into `{"detail": ...}` with the status; socket consumers send the same
text as `{"error": ...}`.
"""


class ServiceError(Exception):
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


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

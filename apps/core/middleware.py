"""HTTP middleware of the service itself: request ids and access lines, liveness, and
no caching of API answers.

All are sync- and async-capable; under Daphne every request takes the async path.
"""

from __future__ import annotations

import logging
import time

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.decorators import sync_and_async_middleware

from apps.core.logging import REQUEST_ID_HEADER, request_id_from_header, request_id_var
from apps.core.views import ready

access_logger = logging.getLogger("commonality.access")

HEALTH_PATH = "/api/health"
READY_PATH = "/api/ready"
API_PREFIX = "/api/"
API_CACHE_CONTROL = "no-store"
# Platform probes hit these every few seconds; their access lines go out at DEBUG.
QUIET_PATHS = frozenset({HEALTH_PATH, READY_PATH})


@sync_and_async_middleware
def request_id_middleware(get_response):
    """Give every request an id: the client's `X-Request-ID` when it is sane, else a new one.

    The id is in `request.request_id`, on every log record written while the request is
    served (a context variable, see apps.core.logging), and in the response's `X-Request-ID`.
    One access line per request: method, path (never the query string), status, duration.
    """

    def begin(request: HttpRequest):
        request_id = request_id_from_header(request.headers.get(REQUEST_ID_HEADER))
        # A request takes any attribute; the stubs know only Django's own.
        request.request_id = request_id  # type: ignore[attr-defined]
        return request_id, request_id_var.set(request_id), time.monotonic()

    def end(request: HttpRequest, response: HttpResponse, request_id: str, started: float):
        response[REQUEST_ID_HEADER] = request_id
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
        access_logger.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response

    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            request_id, token, started = begin(request)
            try:
                response = await get_response(request)
                return end(request, response, request_id, started)
            finally:
                request_id_var.reset(token)

        return async_middleware

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            request_id, token, started = begin(request)
            try:
                response = get_response(request)
                return end(request, response, request_id, started)
            finally:
                request_id_var.reset(token)

    return middleware


@sync_and_async_middleware
def health_middleware(get_response):
    """Answer `GET`/`HEAD /api/health` and `GET /api/ready` before host validation and the
    HTTPS redirect.

    Platform probes reach the container by an address that is not one of ALLOWED_HOSTS
    (Docker's HEALTHCHECK uses 127.0.0.1; Railway's probe its own host name), over plain
    HTTP. Liveness is the same constant the health view gives; readiness is the ready view's
    answer, which builds no URL from the Host. Other methods go on to the views.
    """

    def health(request: HttpRequest) -> HttpResponse | None:
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return JsonResponse({"status": "ok"})
        return None

    def is_ready_probe(request: HttpRequest) -> bool:
        return request.path == READY_PATH and request.method == "GET"

    def uncached(response: HttpResponse) -> HttpResponse:
        response["Cache-Control"] = API_CACHE_CONTROL
        return response

    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            if is_ready_probe(request):
                return uncached(await ready(request))
            return health(request) or await get_response(request)

        return async_middleware

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            if is_ready_probe(request):
                return uncached(async_to_sync(ready)(request))
            return health(request) or get_response(request)

    return middleware


@sync_and_async_middleware
def api_no_store_middleware(get_response):
    """Every API answer is `Cache-Control: no-store` and `Vary: Authorization`.

    Nearly every answer is one person's (chats, messages, tokens, errors that say who is
    authenticated); no browser, proxy or CDN may keep or share it. A view that chose its own
    policy (the voice audio's `private, max-age`) keeps it; `Vary: Authorization` then stops
    a cache answering one user's request with another's.
    """

    def protect(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            if not response.has_header("Cache-Control"):
                response["Cache-Control"] = API_CACHE_CONTROL
            patch_vary_headers(response, ("Authorization",))
        return response

    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            return protect(request, await get_response(request))

        return async_middleware

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            return protect(request, get_response(request))

    return middleware

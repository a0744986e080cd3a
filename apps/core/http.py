"""Thin plumbing shared by the REST views: routing by method, JSON in and out (the bearer
auth that names the caller is apps/accounts/http.py).

Every reply, success or failure, is JSON; every failure is `{"detail": "..."}`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, overload

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.core.errors import BadRequest, InvalidInput, ServiceError
from apps.core.outages import (
    UNAVAILABLE_DETAIL,
    UNAVAILABLE_RETRY_AFTER_SECONDS,
    outage_caused,
)
from apps.core.text import has_unpaired_surrogate, text_problem, text_validate

logger = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[JsonResponse]]

# Every id in a URL (a chat id is 32 hex digits) fits easily; DynamoDB refuses keys over
# 2048 bytes with an error, so longer ones are refused here.
PATH_PARAMETER_MAX_CHARS = 200


def error_response(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def json_response(payload: Any, status: int = 200) -> JsonResponse:
    return JsonResponse(payload, status=status, safe=False)


def endpoint(**handlers: Handler) -> Callable[..., Coroutine[Any, Any, JsonResponse]]:
    """One URL's view: `endpoint(get=..., patch=...)` dispatches on the HTTP method.

    Service errors become their status with `{"detail": ...}`; anything unexpected becomes a
    500 with a generic text (the traceback goes to the log, never to the client).
    """
    allowed = {method.upper(): handler for method, handler in handlers.items()}
    allow_header = ", ".join(sorted(allowed))

    @csrf_exempt
    async def view(request: HttpRequest, **kwargs: Any) -> JsonResponse:
        handler = allowed.get(request.method or "")
        if handler is None:
            response = error_response(405, f"Method {request.method} not allowed")
            response["Allow"] = allow_header
            return response
        try:
            path_parameters_validate(kwargs)
            return await handler(request, **kwargs)
        except RequestDataTooBig:
            # Only if a server without apps/core/request_limits.py lets such a body through.
            return error_response(413, "Request body is too large")
        except ServiceError as error:
            response = error_response(error.status, error.detail)
            if error.retry_after is not None:
                response["Retry-After"] = str(error.retry_after)
            return response
        except Exception as error:
            if outage_caused(error):
                logger.warning(
                    "%s %s: a dependency is unavailable (%s)",
                    request.method,
                    request.path,
                    type(error).__name__,
                )
                response = error_response(503, UNAVAILABLE_DETAIL)
                response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
                return response
            logger.exception("unhandled error in %s %s", request.method, request.path)
            return error_response(500, "Internal server error")

    return view


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    if not request.body:
        raise BadRequest("Request body must be a JSON object")
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError) as error:
        # ValueError covers bad UTF-8, bad JSON and integers too long to convert.
        raise BadRequest("Request body is not valid JSON") from error
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    _unpaired_surrogates_refuse(body)
    return body


def _unpaired_surrogates_refuse(body: dict[str, Any]) -> None:
    """json.loads turns "\\ud800" into a string no encoder can write: refuse it wherever it
    is (a key, a value, a list item), so no later step meets one."""
    pending: list[Any] = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if has_unpaired_surrogate(key):
                    raise InvalidInput("Request body must not contain unpaired surrogates")
                pending.append(item)
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and has_unpaired_surrogate(value):
            raise InvalidInput("Request body must not contain unpaired surrogates")


def id_valid(value: str) -> bool:
    """Could this be an id (a chat id is 32 hex digits)? Empty, overlong or control-character
    strings cannot, and DynamoDB answers them with an error rather than "not found"."""
    return 1 <= len(value) <= PATH_PARAMETER_MAX_CHARS and text_problem(value) is None


def path_parameters_validate(parameters: dict[str, Any]) -> None:
    """Ids taken from the URL: 422 for one that cannot be an id."""
    for name, value in parameters.items():
        if isinstance(value, str) and not id_valid(value):
            raise InvalidInput(f"{name} is not valid")


def id_field(body: dict[str, Any], name: str) -> str:
    """A required id from a JSON body: 422 unless it is a string that could be an id."""
    value = string_field(body, name)
    if not id_valid(value):
        raise InvalidInput(f"{name} is not valid")
    return value


@overload
def string_field(body: dict[str, Any], name: str, *, required: Literal[True] = True) -> str: ...
@overload
def string_field(body: dict[str, Any], name: str, *, required: bool) -> str | None: ...
def string_field(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return text_validate(value=value, field=name)


def string_list_field(body: dict[str, Any], name: str, *, what: str) -> list[str]:
    value = body.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(f"{name} must be a list of {what}")
    for item in value:
        text_validate(value=item, field=name)
    return value


# A client with IPv6 usually holds a whole /64 and can pick any address in it; limits that
# count per address count per /64.
IPV6_CLIENT_PREFIX = 64


def client_address(request: HttpRequest) -> str:
    """The address of the client that sent `request`, for per-address limits.

    Behind TRUSTED_PROXY_HOPS proxies (Railway's edge: 1), each proxy appends the address it
    received the request from to X-Forwarded-For, so the entry that many places from the end
    was written by our own edge; anything before it came from the client and may be forged.
    (Daphne's --proxy-headers puts the FIRST entry in REMOTE_ADDR, which is why the header is
    read here.) Without trusted proxies (development) it is the socket peer. An IPv6 address
    stands for its /64.
    """
    return client_address_from(
        forwarded_for=request.headers.get("X-Forwarded-For", ""),
        peer=request.META.get("REMOTE_ADDR", ""),
    )


def client_address_from(*, forwarded_for: str, peer: str) -> str:
    """`client_address` from the X-Forwarded-For value and the socket peer (for callers that
    have an ASGI scope rather than a request)."""
    hops = settings.TRUSTED_PROXY_HOPS
    candidate = peer
    if hops > 0:
        forwarded = [entry.strip() for entry in forwarded_for.split(",") if entry.strip()]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
    return _address_normalize(candidate)


def _address_normalize(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)

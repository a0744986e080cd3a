import asyncio

from django.http import HttpRequest, JsonResponse

from apps.core.errors import NotFound
from apps.core.http import endpoint, json_response
from apps.core.selectors import channel_layer_readiness, dynamo_readiness


async def _health(request: HttpRequest) -> JsonResponse:
    # Liveness only: answers without touching any dependency, so a slow DynamoDB or Redis
    # never makes the platform restart a healthy process.
    return json_response({"status": "ok"})


async def _ready(request: HttpRequest) -> JsonResponse:
    dynamo, channel_layer = await asyncio.gather(dynamo_readiness(), channel_layer_readiness())
    problems = {"dynamodb": dynamo, "channel_layer": channel_layer}
    checks = {name: "ok" if problem is None else "down" for name, problem in problems.items()}
    down = [name for name, problem in problems.items() if problem is not None]
    if not down:
        return json_response({"status": "ok", "checks": checks})
    detail = "; ".join(f"{name} is down ({problems[name]})" for name in down)
    return json_response(
        {"status": "unavailable", "detail": detail, "checks": checks}, status=503
    )


async def _not_found(request: HttpRequest, **kwargs: object) -> JsonResponse:
    raise NotFound("Not found")


health = endpoint(get=_health, head=_health)
ready = endpoint(get=_ready)
not_found = endpoint(
    get=_not_found, post=_not_found, put=_not_found, patch=_not_found, delete=_not_found
)

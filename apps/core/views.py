from django.http import HttpRequest, JsonResponse

from apps.core.errors import NotFound
from apps.core.http import endpoint, json_response
from apps.core.outages import UNAVAILABLE_RETRY_AFTER_SECONDS
from apps.core.warmup import instance_readiness


async def _health(request: HttpRequest) -> JsonResponse:
    # Liveness only: answers without touching any dependency, so a slow DynamoDB or Redis
    # never makes the platform restart a healthy process.
    return json_response({"status": "ok"})


async def _ready(request: HttpRequest) -> JsonResponse:
    # Readiness: 200 only once this process holds a working connection to every dependency
    # (the probe makes them), so a platform routes clients to it only then. The reply names
    # dependencies and kinds of failure, never addresses or tracebacks.
    problems = await instance_readiness()
    checks = {name: "ok" if problem is None else "down" for name, problem in problems.items()}
    down = [name for name, problem in problems.items() if problem is not None]
    if not down:
        return json_response({"ready": True, "status": "ok", "checks": checks})
    detail = "; ".join(f"{name} is down ({problems[name]})" for name in down)
    response = json_response(
        {"ready": False, "status": "unavailable", "detail": detail, "checks": checks}, status=503
    )
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


async def _not_found(request: HttpRequest, **kwargs: object) -> JsonResponse:
    raise NotFound("Not found")


health = endpoint(get=_health, head=_health)
ready = endpoint(get=_ready)
not_found = endpoint(
    get=_not_found, post=_not_found, put=_not_found, patch=_not_found, delete=_not_found
)

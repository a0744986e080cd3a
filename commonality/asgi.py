"""ASGI entry point: `daphne commonality.asgi:application` serves HTTP and WebSocket."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commonality.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models.
django_http_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.accounts.socket_auth import AccessTokenAuthMiddleware  # noqa: E402
from apps.chats.owed_sweeper import OwedTranslationSweeping  # noqa: E402
from apps.core.daphne_close_codes import daphne_close_codes_install  # noqa: E402
from apps.core.logging import daphne_access_log_install  # noqa: E402
from apps.core.request_limits import RequestBodyLimit, daphne_body_limit_install  # noqa: E402
from apps.core.shutdown import instance_shutdown_steps_when_stopping  # noqa: E402
from apps.core.socket_backlog import daphne_outbound_backlog_install  # noqa: E402
from apps.core.warmup import instance_warm_up_when_serving  # noqa: E402
from apps.realtime.routing import websocket_urlpatterns  # noqa: E402

daphne_close_codes_install()
daphne_access_log_install()
daphne_body_limit_install()
daphne_outbound_backlog_install()
# Connections to DynamoDB, Redis and the translator are made before the first client needs them.
instance_warm_up_when_serving()
# What the apps hold only in memory is finished when a deploy stops the instance.
instance_shutdown_steps_when_stopping()

application = OwedTranslationSweeping(
    ProtocolTypeRouter(
        {
            # django-stubs types the ASGI callables' messages as Mapping, ours (the spec's
            # dicts) as MutableMapping: the same objects at run time.
            "http": RequestBodyLimit(django_http_application),  # type: ignore[arg-type]
            "websocket": AccessTokenAuthMiddleware(URLRouter(websocket_urlpatterns)),
        }
    )
)

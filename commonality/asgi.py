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
from apps.core.socket_backlog import daphne_outbound_backlog_install  # noqa: E402
from apps.core.warmup import instance_warm_up_when_serving  # noqa: E402
from apps.realtime.routing import websocket_urlpatterns  # noqa: E402

daphne_close_codes_install()
daphne_access_log_install()
daphne_body_limit_install()
daphne_outbound_backlog_install()
# Connections to DynamoDB, Redis and the translator are made before the first client needs them.
instance_warm_up_when_serving()

application = OwedTranslationSweeping(
    ProtocolTypeRouter(
        {
            "http": RequestBodyLimit(django_http_application),
            "websocket": AccessTokenAuthMiddleware(URLRouter(websocket_urlpatterns)),
        }
    )
)

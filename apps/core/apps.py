from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import signals
        from django.db import close_old_connections

        from apps.core.config_errors import ConfigurationError
        from apps.core.dynamo import dynamo_configure_from_settings
        from apps.core.web_push import vapid_private_key_valid

        # There is no relational database. Django still closes stale ones around every
        # request, and under ASGI that hop to its single sync thread queues all requests.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        dynamo_configure_from_settings()
        if settings.WEB_PUSH_VAPID_PRIVATE_KEY and not vapid_private_key_valid(
            settings.WEB_PUSH_VAPID_PRIVATE_KEY
        ):
            raise ConfigurationError(
                "WEB_PUSH_VAPID_PRIVATE_KEY is not a P-256 private key; make a pair with "
                "`python manage.py web_push_keys`"
            )

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from django.core import signals
        from django.db import close_old_connections

        from apps.core.dynamo import dynamo_configure_from_settings

        # There is no relational database. Django still closes stale ones around every
        # request, and under ASGI that hop to its single sync thread queues all requests.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        dynamo_configure_from_settings()

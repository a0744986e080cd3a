from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from apps.core.dynamo import dynamo_configure_from_settings

        dynamo_configure_from_settings()

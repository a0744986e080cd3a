from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "apps.chats"
    label = "chats"

    def ready(self) -> None:
        from apps.accounts.signals import user_language_changed
        from apps.chats.language_detection import language_detector_warm_in_background
        from apps.chats.receivers import user_language_changed_receive
        from apps.chats.search_index import search_index_flush
        from apps.chats.translation import translation_client_prepare
        from apps.core.shutdown import shutdown_step_register
        from apps.core.warmup import warm_up_step_register

        user_language_changed.connect(
            user_language_changed_receive, dispatch_uid="chats.user_language_changed"
        )
        # The per-loop translation client, built (nothing is sent to the provider) so the
        # first message after a deploy does not pay for it.
        warm_up_step_register(translation_client_prepare)
        # The language detector's model (half a second to load), in a thread of its own.
        warm_up_step_register(language_detector_warm_in_background)
        # The search index's queue is written before the instance exits, not lost at a deploy.
        shutdown_step_register(search_index_flush)

from django.urls import include, path, re_path

from apps.core.views import not_found

urlpatterns = [
    path("api/", include("apps.core.urls")),
    path("api/", include("apps.accounts.urls")),
    path("api/", include("apps.chats.urls")),
    path("api/", include("apps.voice.urls")),
    # Unknown API paths answer in JSON like every other API reply.
    re_path(r"^api/", not_found),
]

from django.urls import path

from apps.chats.consumers import ChatConsumer

websocket_urlpatterns = [
    path("api/ws/chat", ChatConsumer.as_asgi()),
]

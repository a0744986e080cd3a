from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path, re_path

from apps.realtime.consumers import ChatConsumer


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Any other WebSocket path: the handshake is refused (HTTP 403), where an unmatched
    route would have raised inside Daphne and answered 500."""

    async def connect(self) -> None:
        await self.close()


websocket_urlpatterns = [
    path("api/ws/chat", ChatConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),
]

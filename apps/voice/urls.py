from django.urls import path

from apps.voice import views

urlpatterns = [
    path("voice/token", views.token),
    path("chats/<str:chat_id>/voice_notes", views.voice_notes),
    path("chats/<str:chat_id>/messages/<int:seq>/audio", views.message_audio),
]

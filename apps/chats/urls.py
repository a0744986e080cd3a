from django.urls import path

from apps.chats import search_views, views

urlpatterns = [
    path("chats", views.chats),
    path("chats/<str:chat_id>", views.chat_detail),
    path("chats/<str:chat_id>/messages", views.messages),
    path("chats/<str:chat_id>/messages/<int:seq>/reaction", views.reaction),
    path("chats/<str:chat_id>/messages/<int:seq>", views.message),
    path("chats/<str:chat_id>/members", views.members),
    path("chats/<str:chat_id>/members/me", views.member_me),
    path("chats/<str:chat_id>/read", views.read),
    path("chats/<str:chat_id>/glossary", views.glossary),
    path("chats/<str:chat_id>/preferences", views.preferences),
    path("chats/<str:chat_id>/mute", views.mute),
    path("search", search_views.search),
    path("auth/me/export", views.my_data_export),
    path("auth/me/delete", views.my_account_delete),
    path("push", views.push_config),
    path("push/subscriptions", views.push_subscriptions),
]

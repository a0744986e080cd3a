from django.urls import path

from apps.accounts import views

urlpatterns = [
    path("auth/signup", views.signup),
    path("auth/login", views.login),
    path("auth/me", views.me),
    path("languages", views.languages),
    path("ws/ticket", views.socket_ticket),
]

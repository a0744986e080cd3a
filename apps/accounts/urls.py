from django.urls import path

from apps.accounts import views

urlpatterns = [
    path("auth/signup", views.signup),
    path("auth/login", views.login),
    path("auth/me", views.me),
    path("auth/logout_all", views.logout_all),
    path("languages", views.languages),
    path("ws/ticket", views.socket_ticket),
]

"""apps/core/middleware.py's `api_no_store_middleware`: API answers are never cached."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import RequestFactory

from apps.core.concurrency import run_blocking
from apps.core.middleware import api_no_store_middleware
from tests.support.accounts import user_create, user_token


def _vary(response) -> set[str]:
    return {value.strip().lower() for value in response.get("Vary", "").split(",") if value.strip()}


def assert_not_cacheable(response) -> None:
    assert response["Cache-Control"] == "no-store", response.headers
    assert "authorization" in _vary(response), response.headers


async def test_an_authenticated_answer_is_no_store_and_varies_by_authorization(async_client):
    user = await run_blocking(user_create)(language="es")
    auth = {"headers": {"Authorization": f"Bearer {user_token(user)}"}}
    me = await async_client.get("/api/auth/me", **auth)
    assert me.status_code == 200
    assert_not_cacheable(me)
    chats = await async_client.get("/api/chats", **auth)
    assert chats.status_code == 200
    assert_not_cacheable(chats)
    ticket = await async_client.post("/api/ws/ticket", **auth)
    assert ticket.status_code in (200, 201), ticket.content
    assert_not_cacheable(ticket)


async def test_tokens_and_refusals_are_no_store(async_client):
    await run_blocking(user_create)(language="en", username="nostore_ana")
    login = await async_client.post(
        "/api/auth/login",
        {"username": "nostore_ana", "password": "correct horse battery"},
        content_type="application/json",
    )
    assert login.status_code == 200 and "access_token" in login.json()
    assert_not_cacheable(login)
    for response in (
        await async_client.get("/api/auth/me"),  # 401
        await async_client.get("/api/chats", headers={"Authorization": "Bearer nonsense"}),
        await async_client.get("/api/no-such-route"),  # 404
    ):
        assert response.status_code in (401, 404)
        assert_not_cacheable(response)


async def test_public_answers_are_no_store_as_well(async_client):
    response = await async_client.get("/api/languages")
    assert response.status_code == 200
    assert_not_cacheable(response)


def test_a_view_that_chose_its_own_policy_keeps_it_and_still_varies():
    def view(request):
        response = HttpResponse(b"audio")
        response["Cache-Control"] = "private, max-age=86400"
        return response

    response = api_no_store_middleware(view)(RequestFactory().get("/api/chats/c/messages/1/audio"))
    assert response["Cache-Control"] == "private, max-age=86400"
    assert "authorization" in _vary(response)


def test_sync_path_and_non_api_paths():
    middleware = api_no_store_middleware(lambda request: HttpResponse(b"ok"))
    assert_not_cacheable(middleware(RequestFactory().get("/api/anything")))
    outside = middleware(RequestFactory().get("/static/app.js"))
    assert not outside.has_header("Cache-Control") and not outside.has_header("Vary")

"""Self-service data rights: `GET /api/auth/me/export` and `POST /api/auth/me/delete`.

Through Django's test client (each request runs the async view on a loop of its own), with
the same people and the same checks as the `delete_user` and `export_user_data` commands'
tests (tests/support/personal_data.py), so both paths promise the same.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from pynamodb.connection.base import Connection

from apps.accounts.events import SESSION_REVOKED_HANDLER
from apps.accounts.selectors import user_get
from apps.chats import selectors, services
from tests.support.accounts import user_token
from tests.support.channel_layers import recording_channel_layer
from tests.support.personal_data import (
    PASSWORD,
    assert_ana_deleted_leaving_only_tombstones,
    people_create,
    send,
)

EXPORT = "/api/auth/me/export"
DELETE = "/api/auth/me/delete"
ME = "/api/auth/me"


@pytest.fixture
def people():
    return people_create()


@pytest.fixture(autouse=True)
def no_scan(dynamo_tables):
    """No request path may Scan: any Scan during these tests fails them (the tables' own
    clean-up after each test, which scans, comes after this is undone)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a Scan on a request path")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Connection, "scan", refuse)
        yield


def _auth(token: str | None) -> dict:
    return {"headers": {"Authorization": f"Bearer {token}"}} if token else {}


def export(client, token):
    return client.get(EXPORT, **_auth(token))


def delete(client, token, body):
    return client.post(DELETE, json.dumps(body), content_type="application/json", **_auth(token))


def command_export(username: str) -> dict:
    out = StringIO()
    call_command("export_user_data", username, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def without_time(export: dict) -> dict:
    return {key: value for key, value in export.items() if key != "exported_at"}


# --- Export ---------------------------------------------------------------------------------


def test_export_is_the_operators_export_as_a_file(client, people, monkeypatch):
    # A chat ana has left still holds what she wrote there: it is hers, and exported.
    send(people["ana"], people["group"], "me voy")
    services.chat_leave(user=people["ana"], chat_id=people["group"])
    # The latest message in her 1:1 is bea's: its preview is not ana's to take.
    send(people["bea"], people["direct"], "see you soon")
    response = export(client, user_token(people["ana"]))

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="commonality-data-'
    ) and response["Content-Disposition"].endswith('.json"')
    assert response["Cache-Control"] == "no-store"
    mine = response.json()
    # The ops command reads the same way (no Scan either: the fixture refuses one).
    assert without_time(mine) == without_time(command_export("ana"))
    assert sorted(message["original_text"] for message in mine["messages"]) == [
        "gracias bea",
        "hola bea, ¿qué tal?",
        "me alegro mucho",
        "me voy",
    ]
    assert {chat["chat_id"] for chat in mine["chats"]} == {people["direct"]}
    assert mine["account"]["username"] == "ana"
    text = json.dumps(mine)
    assert "argon2" not in text and "password" not in text
    # Nobody else's data: not their messages, not their accounts.
    for theirs in ("hi ana, all good", "welcome both", "merci", "see you soon"):
        assert theirs not in text
    assert people["cai"].user_id not in text


def test_each_person_exports_only_their_own(client, people):
    bea = export(client, user_token(people["bea"])).json()
    assert bea["account"]["user_id"] == people["bea"].user_id
    assert sorted(message["original_text"] for message in bea["messages"]) == [
        "hi ana, all good",
        "welcome both",
    ]
    assert all(m["chat_id"] in (people["direct"], people["group"]) for m in bea["messages"])


def test_export_needs_a_valid_token(client, people):
    assert export(client, None).status_code == 401
    assert export(client, "not-a-jwt").status_code == 401
    assert client.post(EXPORT, **_auth(user_token(people["ana"]))).status_code == 405


def test_exports_are_rate_limited(client, people, settings):
    settings.DATA_EXPORT_RATE_LIMIT_COUNT = 2
    token = user_token(people["ana"])
    assert [export(client, token).status_code for _ in range(3)] == [200, 200, 429]
    refused = export(client, token)
    assert refused.json()["detail"].startswith("too many data exports")
    assert int(refused["Retry-After"]) > 0
    # Someone else's count is their own.
    assert export(client, user_token(people["bea"])).status_code == 200


# --- Deletion -------------------------------------------------------------------------------


def test_deleting_ones_account_leaves_only_tombstones(client, people):
    token = user_token(people["ana"])
    with recording_channel_layer() as layer:
        response = delete(client, token, {"password": PASSWORD})

    assert response.status_code == 200, response.content
    assert response.json() == {"deleted": True}
    # The same guarantees as the delete_user command.
    assert_ana_deleted_leaving_only_tombstones(people, token=token)
    # The token stops working, and every open socket of hers is told to close.
    assert client.get(ME, **_auth(token)).status_code == 401
    assert export(client, token).status_code == 401
    (revoked,) = layer.events_to(people["ana"].user_id, SESSION_REVOKED_HANDLER)
    assert revoked["token_version"] > int(people["ana"].token_version)
    assert layer.events_to(people["bea"].user_id, SESSION_REVOKED_HANDLER) == []


def test_a_wrong_password_changes_nothing(client, people):
    ana = people["ana"]
    token = user_token(ana)
    with recording_channel_layer() as layer:
        response = delete(client, token, {"password": "not my password"})

    assert response.status_code == 403
    assert response.json() == {"detail": "Incorrect password"}
    after = user_get(user_id=ana.user_id)
    assert after.is_active is True
    assert int(after.token_version) == int(ana.token_version)
    assert client.get(ME, **_auth(token)).status_code == 200
    assert layer.events_to(ana.user_id, SESSION_REVOKED_HANDLER) == []
    assert sorted(m.original_text for m in selectors.messages_by_author(user_id=ana.user_id)) == [
        "gracias bea",
        "hola bea, ¿qué tal?",
        "me alegro mucho",
    ]
    assert len(list(selectors.chat_inbox(user_id=ana.user_id))) == 2


def test_deletion_refuses_bad_requests_without_deleting(client, people):
    token = user_token(people["ana"])
    assert delete(client, None, {"password": PASSWORD}).status_code == 401
    assert delete(client, "not-a-jwt", {"password": PASSWORD}).status_code == 401
    assert delete(client, token, {}).json() == {"detail": "password is required"}
    assert delete(client, token, {"password": 5}).status_code == 422
    assert delete(client, token, ["x"]).status_code == 400
    assert client.get(DELETE, **_auth(token)).status_code == 405
    assert user_get(user_id=people["ana"].user_id).is_active is True


def test_password_guesses_are_limited_like_logins(client, people, settings):
    settings.LOGIN_RATE_LIMIT_PER_ACCOUNT_COUNT = 2
    token = user_token(people["ana"])
    statuses = [delete(client, token, {"password": f"guess {n}"}).status_code for n in range(3)]
    assert statuses == [403, 403, 429]
    # Even the right password waits now: the guesses counted against the account.
    limited = delete(client, token, {"password": PASSWORD})
    assert limited.status_code == 429
    assert limited.json()["detail"].startswith("too many login attempts for this account")
    assert user_get(user_id=people["ana"].user_id).is_active is True

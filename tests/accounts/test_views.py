"""HTTP behaviour of the accounts API (signup, login, me, languages), driven through the ASGI app.

Two costs shape this file. Argon2 hashing takes about 0.1 s, so only the tests about signup and
login go through the real signup endpoint; the others create their user directly in DynamoDB
with a password hash computed once per process. And every test gets fresh tables (about 0.6 s),
so the cases of one kind (say, every malformed username) share a test that loops over them.
"""

import asyncio
import functools
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import make_password

from apps.accounts import tokens as tokens_module
from apps.accounts.models import User, UsernameClaim
from apps.accounts.tokens import access_token_decode, user_access_token

SIGNUP = "/api/auth/signup"
LOGIN = "/api/auth/login"
ME = "/api/auth/me"
LANGUAGES = "/api/languages"

PASSWORD = "correct horse battery staple"
INVALID_CREDENTIALS = {"detail": "Invalid username or password"}

CONTRACT_LANGUAGES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
    "hi": "Hindi",
}
PROFILE_KEYS = {"user_id", "username", "first_name", "last_name", "native_language"}


# --- helpers ---------------------------------------------------------------------------------


def signup_body(**overrides):
    body = {
        "username": "alice",
        "password": PASSWORD,
        "first_name": "Alice",
        "last_name": "Liddell",
        "native_language": "en",
    }
    body.update(overrides)
    return body


def _encode(payload):
    if isinstance(payload, (bytes, str)):
        return payload
    return json.dumps(payload)


def _auth(token):
    return {"Authorization": f"Bearer {token}"} if token is not None else {}


async def post_json(client, path, payload, *, token=None):
    return await client.post(
        path, data=_encode(payload), content_type="application/json", headers=_auth(token)
    )


async def patch_json(client, path, payload, *, token=None):
    return await client.patch(
        path, data=_encode(payload), content_type="application/json", headers=_auth(token)
    )


async def get_me(client, token=None, *, headers=None):
    return await client.get(ME, headers=headers if headers is not None else _auth(token))


def assert_detail(response, status):
    """A failure reply: the status, JSON, and a non-empty `detail` string."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("detail"), str)
    assert body["detail"].strip()
    return body["detail"]


def users_table_items():
    """Every raw item in the users table (User and UsernameClaim items alike)."""
    connection = User._get_connection()
    items = []
    kwargs = {"consistent_read": True}
    while True:
        page = connection.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["exclusive_start_key"] = page["LastEvaluatedKey"]


def stored_users():
    return list(User.scan(User.pk.startswith("USER#"), consistent_read=True))


def stored_user(user_id):
    return User.get(User.key_for(user_id), consistent_read=True)


@functools.cache
def _shared_password_hash():
    return make_password(PASSWORD)


@pytest.fixture
def make_user():
    """Create an account directly in DynamoDB (no hashing per user); returns (user, token)."""

    def make(username="bob", first_name="Bob", last_name="Builder", native_language="es"):
        user_id = uuid.uuid4().hex
        user = User(
            User.key_for(user_id),
            user_id=user_id,
            username=username,
            first_name=first_name,
            last_name=last_name,
            native_language=native_language,
            password_hash=_shared_password_hash(),
            created_at=datetime.now(UTC),
            is_active=True,
            token_version=0,
        )
        user.save()
        UsernameClaim(UsernameClaim.key_for(username), user_id=user_id).save()
        return user, user_access_token(user=user)

    return make


@pytest.fixture
def bob(make_user):
    return make_user()


def profile_snapshot(user_id):
    item = stored_user(user_id)
    return {
        "username": item.username,
        "first_name": item.first_name,
        "last_name": item.last_name,
        "native_language": item.native_language,
        "password_hash": item.password_hash,
        "is_active": item.is_active,
        "token_version": item.token_version,
        "created_at": item.created_at,
    }


# --- signup ----------------------------------------------------------------------------------


async def test_signup_answers_201_with_a_bearer_token_for_the_new_user(async_client):
    response = await post_json(async_client, SIGNUP, signup_body())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token_type"] == "bearer"
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert "password" not in json.dumps(body).lower()

    claims = access_token_decode(token=body["access_token"])
    users = await asyncio.to_thread(stored_users)
    assert len(users) == 1
    user = users[0]
    assert claims.user_id == user.user_id
    assert (user.username, user.first_name, user.last_name, user.native_language) == (
        "alice",
        "Alice",
        "Liddell",
        "en",
    )
    assert user.is_active is True
    claim = await asyncio.to_thread(UsernameClaim.get, UsernameClaim.key_for("alice"))
    assert claim.user_id == user.user_id

    # The token works right away, and the profile it shows says nothing about the password.
    me = await get_me(async_client, body["access_token"])
    assert me.status_code == 200
    assert me.json()["user_id"] == user.user_id
    assert me.json()["username"] == "alice"
    text = me.content.decode()
    assert not [key for key in me.json() if "password" in key.lower()]
    assert PASSWORD not in text
    assert user.password_hash not in text
    assert "argon2" not in text


async def test_signup_accepts_the_boundary_lengths(async_client):
    body = signup_body(
        username="a" * 50,
        # The shortest password accepted (one that is not among the common ones).
        password=("Tr0ub4dor&3-" * 30)[: django_settings.PASSWORD_MIN_LENGTH],
        first_name="F" * 100,
        last_name="L" * 100,
        native_language="hi",
    )
    response = await post_json(async_client, SIGNUP, body)
    assert response.status_code == 201, response.content

    response = await post_json(async_client, SIGNUP, signup_body(username="a.-"))
    assert response.status_code == 201, response.content

    users = sorted(await asyncio.to_thread(stored_users), key=lambda user: len(user.username))
    assert [user.username for user in users] == ["a.-", "a" * 50]
    assert users[1].first_name == "F" * 100
    assert users[1].last_name == "L" * 100
    assert users[1].native_language == "hi"


async def test_signup_with_a_taken_username_answers_409_regardless_of_case(async_client):
    # New usernames are stored lower-case; the first name keeps its capital.
    first = await post_json(async_client, SIGNUP, signup_body(username="Alice"))
    assert first.status_code == 201

    for duplicate in ("Alice", "alice", "ALICE"):
        second = await post_json(
            async_client, SIGNUP, signup_body(username=duplicate, first_name="Mallory")
        )
        assert second.status_code == 409, duplicate
        assert second.json() == {"detail": "Username already taken"}, duplicate

    users = await asyncio.to_thread(stored_users)
    assert [(user.username, user.first_name) for user in users] == [("alice", "Alice")]
    assert len(await asyncio.to_thread(users_table_items)) == 2  # one User, one claim
    assert access_token_decode(token=first.json()["access_token"]).user_id == users[0].user_id


async def _refused_signups(async_client, cases):
    """Send each invalid signup; every one must answer 422 naming the field, and store nothing."""
    for overrides, field in cases:
        response = await post_json(async_client, SIGNUP, signup_body(**overrides))
        assert response.status_code == 422, (overrides, response.content)
        detail = assert_detail(response, 422)
        assert field in detail, (overrides, detail)
        assert await asyncio.to_thread(users_table_items) == [], overrides


async def test_signup_refuses_usernames_of_the_wrong_length_or_characters(async_client):
    await _refused_signups(
        async_client,
        [
            ({"username": "ab"}, "username"),
            ({"username": "a" * 51}, "username"),
            ({"username": ""}, "username"),
            ({"username": "bad name"}, "username"),
            ({"username": "bad@name"}, "username"),
            ({"username": "bad/name"}, "username"),
            ({"username": "bad#name"}, "username"),
            ({"username": "bad\U0001f600"}, "username"),
            ({"username": "alice\n"}, "username"),
            ({"username": " alice"}, "username"),
            # Look-alikes of "alice": Cyrillic a, full-width letters, the Kelvin sign.
            ({"username": "\u0430lice"}, "username"),
            ({"username": "\uff41\uff4c\uff49\uff43\uff45"}, "username"),
            ({"username": "\u212aate"}, "username"),
            ({"username": "jos\u00e9"}, "username"),
            ({"username": "alice\u0000"}, "username"),
            ({"username": "ali\u202ece"}, "username"),
        ],
    )


async def test_a_look_alike_of_an_existing_username_cannot_sign_up(async_client, make_user):
    await asyncio.to_thread(make_user, username="alice")
    for look_alike, status in (
        ("\u0430lice", 422),
        ("\uff41\uff4c\uff49\uff43\uff45", 422),
        ("ALICE", 409),
    ):
        response = await post_json(async_client, SIGNUP, signup_body(username=look_alike))
        assert response.status_code == status, (look_alike, response.content)
    assert [user.username for user in await asyncio.to_thread(stored_users)] == ["alice"]


async def test_existing_usernames_outside_the_new_rule_still_log_in(async_client, make_user):
    # Accounts made before usernames were lower-case ASCII keep their spelling and log in by
    # their case-folded claim, whatever case the person types.
    await asyncio.to_thread(make_user, username="Alice")
    await asyncio.to_thread(make_user, username="Jos\u00e9")
    for typed, stored in (("Alice", "Alice"), ("alice", "Alice"), ("jos\u00e9", "Jos\u00e9")):
        response = await post_json(async_client, LOGIN, {"username": typed, "password": PASSWORD})
        assert response.status_code == 200, (typed, response.content)
        me = await get_me(async_client, response.json()["access_token"])
        assert me.json()["username"] == stored


async def test_signup_refuses_passwords_shorter_than_the_minimum(async_client, settings):
    minimum = settings.PASSWORD_MIN_LENGTH
    await _refused_signups(
        async_client,
        [
            ({"password": "p" * (minimum - 1)}, "password"),
            ({"password": ""}, "password"),
            ({"password": "p" * (settings.PASSWORD_MAX_LENGTH + 1)}, "password"),
        ],
    )
    # The minimum comes from the setting, not from a constant.
    settings.PASSWORD_MIN_LENGTH = 12
    await _refused_signups(async_client, [({"password": "p" * 11}, "password")])


async def test_signup_refuses_empty_blank_or_overlong_names(async_client):
    await _refused_signups(
        async_client,
        [
            ({"first_name": ""}, "first_name"),
            ({"first_name": "   "}, "first_name"),
            ({"first_name": "F" * 101}, "first_name"),
            ({"first_name": "  " + "F" * 101 + "  "}, "first_name"),
            ({"last_name": ""}, "last_name"),
            ({"last_name": "\t \n"}, "last_name"),
            ({"last_name": "L" * 101}, "last_name"),
        ],
    )


async def test_signup_refuses_control_characters_and_unpaired_surrogates_in_any_field(
    async_client,
):
    await _refused_signups(
        async_client,
        [
            ({"first_name": "Al\u0000ice"}, "first_name"),
            ({"last_name": "Lid\u0007dell"}, "last_name"),
            ({"first_name": "Al\u0085ice"}, "first_name"),
            ({"first_name": "\ud800"}, "surrogates"),
            ({"last_name": "x\udfffy"}, "surrogates"),
            ({"password": "a long password\ud83d"}, "surrogates"),
            ({"password": "a long\u0000password"}, "password"),
            ({"username": "\udc00bob"}, "surrogates"),
            ({"native_language": "en\u0000"}, "native_language"),
        ],
    )
    # A surrogate in a key the view never reads is refused too.
    raw = '{"username": "alice", "\\udead": 1}'
    response = await post_json(async_client, SIGNUP, raw)
    assert assert_detail(response, 422) == "Request body must not contain unpaired surrogates"


async def test_names_lose_bidi_overrides_and_line_breaks_but_keep_their_letters(async_client):
    response = await post_json(
        async_client,
        SIGNUP,
        signup_body(
            first_name="\u202eecilA\u202c",
            last_name="Lid\u2066dell\u2069\nJr",
        ),
    )
    assert response.status_code == 201, response.content
    token = response.json()["access_token"]
    me = (await get_me(async_client, token)).json()
    assert (me["first_name"], me["last_name"]) == ("ecilA", "Liddell Jr")
    # An Arabic name keeps its right-to-left mark.
    changed = await patch_json(
        async_client, ME, {"first_name": "\u0639\u0644\u064a\u200f"}, token=token
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["first_name"] == "\u0639\u0644\u064a\u200f"
    refused = await patch_json(async_client, ME, {"last_name": "\u202e\u202d"}, token=token)
    assert refused.status_code == 422
    assert (await get_me(async_client, token)).json()["last_name"] == "Liddell Jr"


async def test_signup_refuses_unsupported_languages(async_client):
    await _refused_signups(
        async_client,
        [
            ({"native_language": code}, "native_language")
            for code in ("xx", "EN", "English", "", "en-US", "it", " en")
        ],
    )


async def test_signup_refuses_missing_fields(async_client):
    for missing in ("username", "password", "first_name", "last_name", "native_language"):
        body = signup_body()
        del body[missing]
        response = await post_json(async_client, SIGNUP, body)
        detail = assert_detail(response, 422)
        assert missing in detail, detail
        assert await asyncio.to_thread(users_table_items) == [], missing


async def test_signup_refuses_fields_that_are_not_strings(async_client):
    await _refused_signups(
        async_client,
        [
            ({"username": None}, "username"),
            ({"username": 12345}, "username"),
            ({"password": 1234567890}, "password"),
            ({"password": list(PASSWORD)}, "password"),
            ({"first_name": True}, "first_name"),
            ({"last_name": {"text": "Liddell"}}, "last_name"),
            ({"native_language": ["en"]}, "native_language"),
        ],
    )


async def test_rejected_signups_leave_the_username_free(async_client):
    for overrides in (
        {"password": "short"},
        {"native_language": "xx"},
        {"first_name": ""},
        {"last_name": 7},
    ):
        response = await post_json(async_client, SIGNUP, signup_body(**overrides))
        assert response.status_code == 422

    # Nobody can log in as alice: no account was made.
    login = await post_json(async_client, LOGIN, {"username": "alice", "password": "short"})
    assert login.status_code == 401
    assert login.json() == INVALID_CREDENTIALS

    response = await post_json(async_client, SIGNUP, signup_body())
    assert response.status_code == 201


MALFORMED_BODIES = {
    "not-json": b"{not json",
    "truncated": b'{"username": "alice"',
    "empty": b"",
    "invalid-utf8": b'{"username": "\xff\xfe"}',
    "array": b'["alice", "secret"]',
    "string": b'"alice"',
    "number": b"42",
    "null": b"null",
    "true": b"true",
}


async def test_malformed_or_non_object_json_answers_400(async_client):
    for path in (SIGNUP, LOGIN):
        for name, raw in MALFORMED_BODIES.items():
            response = await post_json(async_client, path, raw)
            assert response.status_code == 400, (path, name, response.content)
            assert_detail(response, 400)
    assert await asyncio.to_thread(users_table_items) == []


async def test_json_with_an_integer_too_long_to_parse_answers_400_not_500(async_client):
    # Python refuses integers of more than 4300 digits with a plain ValueError, which is not
    # a JSONDecodeError.
    raw = b'{"username": ' + b"1" * 5000 + b"}"

    response = await post_json(async_client, SIGNUP, raw)

    assert_detail(response, 400)


async def test_json_nested_too_deeply_to_parse_answers_400_not_500(async_client):
    # Deep enough to exhaust the JSON parser's recursion (a RecursionError); 200 kB in all.
    raw = b"[" * 100_000 + b"]" * 100_000

    response = await post_json(async_client, SIGNUP, raw)

    assert_detail(response, 400)


# --- login -----------------------------------------------------------------------------------


async def test_login_answers_200_with_a_token_that_works_on_me(async_client):
    signup = await post_json(async_client, SIGNUP, signup_body(username="Alice"))
    assert signup.status_code == 201

    response = await post_json(async_client, LOGIN, {"username": "Alice", "password": PASSWORD})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "bearer"
    assert isinstance(body["access_token"], str) and body["access_token"]
    me = await get_me(async_client, body["access_token"])
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert me.json()["first_name"] == "Alice"
    assert me.json()["user_id"] == access_token_decode(token=signup.json()["access_token"]).user_id


async def test_login_failures_answer_401_with_one_indistinguishable_body(async_client, bob):
    wrong_password = await post_json(
        async_client, LOGIN, {"username": "bob", "password": "not the password"}
    )
    unknown_user = await post_json(
        async_client, LOGIN, {"username": "nobody", "password": PASSWORD}
    )
    empty_username = await post_json(async_client, LOGIN, {"username": "", "password": PASSWORD})
    empty_password = await post_json(async_client, LOGIN, {"username": "bob", "password": ""})

    for response in (wrong_password, unknown_user, empty_username, empty_password):
        assert response.status_code == 401
        assert response.json() == INVALID_CREDENTIALS
        assert "access_token" not in response.json()
    assert wrong_password.content == unknown_user.content
    assert wrong_password["Content-Type"] == unknown_user["Content-Type"]


async def test_login_with_an_overlong_username_answers_401_not_500(async_client):
    # Real DynamoDB refuses partition keys over 2048 bytes (moto may not); a login attempt
    # must never turn that into a 500.
    response = await post_json(async_client, LOGIN, {"username": "x" * 3000, "password": PASSWORD})

    assert response.status_code == 401, response.content
    assert response.json() == INVALID_CREDENTIALS


async def test_login_for_a_disabled_user_answers_the_same_401(async_client, bob):
    user, _ = bob
    await asyncio.to_thread(user.update, actions=[User.is_active.set(False)])

    response = await post_json(async_client, LOGIN, {"username": "bob", "password": PASSWORD})

    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


async def test_login_with_missing_or_non_string_fields_answers_422(async_client):
    for body, field in (
        ({"password": PASSWORD}, "username"),
        ({"username": "bob"}, "password"),
        ({"username": 5, "password": PASSWORD}, "username"),
        ({"username": "bob", "password": None}, "password"),
    ):
        response = await post_json(async_client, LOGIN, body)
        detail = assert_detail(response, 422)
        assert field in detail, (body, detail)


# --- me --------------------------------------------------------------------------------------


async def test_me_shows_the_profile_and_nothing_about_the_password(async_client, bob):
    user, token = bob

    response = await get_me(async_client, token)

    assert response.status_code == 200
    profile = response.json()
    assert set(profile) >= PROFILE_KEYS
    assert profile["user_id"] == user.user_id
    assert profile["username"] == "bob"
    assert profile["first_name"] == "Bob"
    assert profile["last_name"] == "Builder"
    assert profile["native_language"] == "es"
    assert not [key for key in profile if "password" in key.lower() or "hash" in key.lower()]
    assert user.password_hash not in response.content.decode()
    assert "argon2" not in response.content.decode()
    if "created_at" in profile:
        created_at = datetime.fromisoformat(profile["created_at"])
        assert created_at.utcoffset() == timedelta(0)


def _token(user_id, *, secret=None, algorithm="HS256", **claims):
    now = datetime.now(UTC)
    payload = {"sub": user_id, "iat": now, "exp": now + timedelta(hours=1), "tv": 0}
    payload.update(claims)
    return jwt.encode(payload, secret or django_settings.JWT_SECRET, algorithm=algorithm)


async def test_me_without_a_usable_token_answers_401(async_client, bob):
    user, token = bob
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": "Basic Ym9iOnBhc3N3b3Jk"},
        {"Authorization": token},  # no scheme
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": f"Bearer {token}x"},
    ):
        response = await get_me(async_client, headers=headers)
        assert response.status_code == 401, headers
        assert_detail(response, 401)
        assert "user_id" not in response.json()


async def test_me_refuses_forged_expired_and_orphaned_tokens(async_client, bob):
    user, _ = bob
    past = datetime.now(UTC) - timedelta(hours=2)
    for name, token in {
        "another secret": _token(
            user.user_id, secret="some-other-secret-that-is-long-enough-0123456789"
        ),
        "expired": _token(user.user_id, iat=past, exp=past + timedelta(minutes=60)),
        "no such user": _token(uuid.uuid4().hex),
    }.items():
        response = await get_me(async_client, token)
        assert response.status_code == 401, name
        assert_detail(response, 401)
        assert "user_id" not in response.json(), name

    # The same user with a properly signed, current token is let in.
    assert (await get_me(async_client, _token(user.user_id))).status_code == 200


async def test_me_refuses_a_token_the_app_issued_that_has_since_expired(
    async_client, bob, settings, monkeypatch
):
    user, _ = bob
    settings.JWT_EXPIRATION_MINUTES = 5
    issued_at = datetime.now(UTC) - timedelta(minutes=6)

    class IssuedInThePast(datetime):
        @classmethod
        def now(cls, tz=None):
            return issued_at

    monkeypatch.setattr(tokens_module, "datetime", IssuedInThePast)
    token = user_access_token(user=user)
    monkeypatch.undo()

    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == 5 * 60
    assert payload["exp"] < datetime.now(UTC).timestamp()
    assert_detail(await get_me(async_client, token), 401)

    # The same settings give a working token when issued now.
    assert (await get_me(async_client, user_access_token(user=user))).status_code == 200


async def test_me_refuses_a_token_once_the_token_version_is_bumped(async_client, bob):
    user, token = bob
    assert (await get_me(async_client, token)).status_code == 200

    await asyncio.to_thread(user.update, actions=[User.token_version.add(1)])

    assert_detail(await get_me(async_client, token), 401)
    patch = await patch_json(async_client, ME, {"first_name": "Mallory"}, token=token)
    assert_detail(patch, 401)
    refreshed = await asyncio.to_thread(stored_user, user.user_id)
    assert refreshed.first_name == "Bob"
    assert refreshed.token_version == 1

    # A token for the new version works.
    assert (await get_me(async_client, user_access_token(user=refreshed))).status_code == 200


async def test_me_refuses_the_token_of_a_disabled_user(async_client, bob):
    user, token = bob
    await asyncio.to_thread(user.update, actions=[User.is_active.set(False)])

    assert_detail(await get_me(async_client, token), 401)


# --- POST logout_all ----------------------------------------------------------------------------

LOGOUT_ALL = "/api/auth/logout_all"


async def test_logout_all_kills_every_token_and_ticket_issued_so_far(async_client, bob, make_user):
    user, token = bob
    other, other_token = make_user(username="carol")
    second_token = user_access_token(user=user)
    ticket = (await async_client.post("/api/ws/ticket", headers=_auth(token))).json()["ticket"]

    response = await async_client.post(LOGOUT_ALL, headers=_auth(token))
    assert response.status_code == 200
    assert response.json() == {"logged_out": True}

    for dead in (token, second_token):
        assert_detail(await get_me(async_client, dead), 401)
    assert (await asyncio.to_thread(stored_user, user.user_id)).token_version == 1
    # Someone else's session is untouched.
    assert (await get_me(async_client, other_token)).status_code == 200
    # A ticket issued before opens no socket (4001: the client asks for a new one, with a
    # token that no longer works, and so logs out).
    from tests.support.chat_clients import ChatSocket

    socket, _, _ = await ChatSocket.attempt(f"?ticket={ticket}")
    assert await socket.close_code() == 4001
    # A new login works as usual.
    login = await post_json(async_client, LOGIN, {"username": "bob", "password": PASSWORD})
    assert (await get_me(async_client, login.json()["access_token"])).status_code == 200


async def test_logout_all_needs_a_valid_token_and_post(async_client, bob):
    user, token = bob
    assert_detail(await async_client.post(LOGOUT_ALL), 401)
    assert_detail(await async_client.post(LOGOUT_ALL, headers=_auth("not-a-token")), 401)
    assert_detail(await async_client.get(LOGOUT_ALL, headers=_auth(token)), 405)
    assert (await asyncio.to_thread(stored_user, user.user_id)).token_version == 0


# --- PATCH me --------------------------------------------------------------------------------


async def test_patch_me_changes_the_profile_fields(async_client, bob):
    user, token = bob

    response = await patch_json(
        async_client,
        ME,
        {"first_name": "  Robert ", "last_name": "Baumeister", "native_language": "de"},
        token=token,
    )

    assert response.status_code == 200, response.content
    assert response.json()["first_name"] == "Robert"
    assert response.json()["last_name"] == "Baumeister"
    assert response.json()["native_language"] == "de"
    assert not [key for key in response.json() if "password" in key.lower()]

    me = (await get_me(async_client, token)).json()
    assert (me["first_name"], me["last_name"], me["native_language"]) == (
        "Robert",
        "Baumeister",
        "de",
    )
    assert me["username"] == "bob"
    assert me["user_id"] == user.user_id
    stored = await asyncio.to_thread(stored_user, user.user_id)
    assert (stored.first_name, stored.last_name, stored.native_language) == (
        "Robert",
        "Baumeister",
        "de",
    )

    # One field at a time leaves the others alone.
    response = await patch_json(async_client, ME, {"native_language": "ja"}, token=token)
    assert response.status_code == 200
    me = (await get_me(async_client, token)).json()
    assert (me["first_name"], me["last_name"], me["native_language"]) == (
        "Robert",
        "Baumeister",
        "ja",
    )


async def test_patch_me_accepts_every_contract_language(async_client, bob):
    _, token = bob
    for code in CONTRACT_LANGUAGES:
        response = await patch_json(async_client, ME, {"native_language": code}, token=token)
        assert response.status_code == 200, (code, response.content)
        assert response.json()["native_language"] == code


async def _assert_patches_refused(async_client, user, token, cases, status=422):
    before = await asyncio.to_thread(profile_snapshot, user.user_id)
    for changes in cases:
        response = await patch_json(async_client, ME, changes, token=token)
        assert response.status_code == status, (changes, response.content)
        assert_detail(response, status)
        assert await asyncio.to_thread(profile_snapshot, user.user_id) == before, changes
    assert len(await asyncio.to_thread(users_table_items)) == 2
    me = await get_me(async_client, token)
    assert me.status_code == 200
    profile = me.json()
    assert (profile["username"], profile["first_name"], profile["last_name"]) == (
        "bob",
        "Bob",
        "Builder",
    )
    assert profile["native_language"] == "es"


async def test_patch_me_refuses_fields_that_are_not_changeable_and_changes_nothing(
    async_client, bob
):
    user, token = bob
    await _assert_patches_refused(
        async_client,
        user,
        token,
        [
            {"username": "mallory"},
            {"password": "a brand new password"},
            {"first_name": "Robert", "username": "mallory"},
            {"native_language": "fr", "password": "a brand new password"},
            {"password_hash": "argon2$argon2id$forged"},
            {"is_active": "false"},
            {"token_version": "5"},
            {"user_id": "someone-else"},
            {"created_at": "2000-01-01T00:00:00+00:00"},
            {"pk": "USER#someone-else"},
            {"username": 5},
        ],
    )


async def test_patch_me_refuses_an_unsupported_language_and_changes_nothing(async_client, bob):
    user, token = bob
    await _assert_patches_refused(
        async_client,
        user,
        token,
        [
            {"native_language": "xx"},
            {"native_language": "EN"},
            {"native_language": ""},
            {"native_language": None},
            {"first_name": "Robert", "native_language": "klingon"},
        ],
    )


async def test_patch_me_refuses_invalid_names_and_empty_changes(async_client, bob):
    user, token = bob
    await _assert_patches_refused(
        async_client,
        user,
        token,
        [
            {"first_name": ""},
            {"first_name": "   "},
            {"last_name": "L" * 101},
            {"last_name": "Baumeister", "first_name": "F" * 101},
            {"first_name": 7},
            {"last_name": ["Baumeister"]},
            {},
        ],
    )


async def test_patch_me_with_malformed_json_answers_400_and_changes_nothing(async_client, bob):
    user, token = bob
    await _assert_patches_refused(
        async_client, user, token, [b"{oops", b"", b"[]", b'"first_name"', b"null"], status=400
    )


async def test_patch_me_without_a_token_answers_401(async_client, bob):
    user, _ = bob

    response = await patch_json(async_client, ME, {"first_name": "Mallory"})

    assert_detail(response, 401)
    assert (await asyncio.to_thread(stored_user, user.user_id)).first_name == "Bob"


# --- languages -------------------------------------------------------------------------------


async def test_languages_lists_exactly_the_contract_languages(async_client):
    response = await async_client.get(LANGUAGES)

    assert response.status_code == 200
    languages = response.json()
    assert isinstance(languages, list)
    assert len(languages) == 10
    assert {language["code"]: language["name"] for language in languages} == CONTRACT_LANGUAGES
    for language in languages:
        assert set(language) == {"code", "name", "native_name"}
        assert isinstance(language["native_name"], str) and language["native_name"].strip()
    native = {language["code"]: language["native_name"] for language in languages}
    assert native["en"] == "English"
    assert native["es"] == "Español"
    assert native["ja"] == "日本語"


# --- method and path errors ------------------------------------------------------------------


async def test_a_wrong_method_answers_405_in_json(async_client):
    for method, path, allowed in (
        ("get", SIGNUP, {"POST"}),
        ("put", SIGNUP, {"POST"}),
        ("get", LOGIN, {"POST"}),
        ("delete", ME, {"GET", "PATCH"}),
        ("post", ME, {"GET", "PATCH"}),
        ("put", ME, {"GET", "PATCH"}),
        ("post", LANGUAGES, {"GET"}),
        ("delete", LANGUAGES, {"GET"}),
    ):
        response = await getattr(async_client, method)(path)
        assert response.status_code == 405, (method, path)
        detail = assert_detail(response, 405)
        assert method.upper() in detail
        assert {part.strip() for part in response["Allow"].split(",")} == allowed


async def test_an_unknown_api_path_answers_404_in_json(async_client):
    for method, path in (
        ("get", "/api/nope"),
        ("get", "/api/auth"),
        ("post", "/api/auth/register"),
        ("get", "/api/auth/me/"),
        ("post", "/api/auth/signup/"),
        ("patch", "/api/users/1"),
        ("delete", "/api/languages/en"),
    ):
        response = await getattr(async_client, method)(path)
        assert response.status_code == 404, (method, path)
        assert_detail(response, 404)


# --- languages I read ------------------------------------------------------------------------


async def test_read_languages_start_empty_and_are_stored_supported_once_in_a_fixed_order(
    async_client, bob
):
    user, token = bob
    assert (await get_me(async_client, token)).json()["read_languages"] == []

    response = await patch_json(
        async_client, ME, {"read_languages": ["fr", "en", "fr", "es"]}, token=token
    )

    # The native language (es) is read anyway; the rest keep the supported languages' order.
    assert response.status_code == 200, response.content
    assert response.json()["read_languages"] == ["en", "fr"]
    assert (await get_me(async_client, token)).json()["read_languages"] == ["en", "fr"]
    stored = await asyncio.to_thread(stored_user, user.user_id)
    assert list(stored.read_languages) == ["en", "fr"]

    cleared = await patch_json(async_client, ME, {"read_languages": []}, token=token)
    assert cleared.json()["read_languages"] == []


async def test_read_languages_leave_out_a_native_language_changed_in_the_same_request(
    async_client, bob
):
    _, token = bob
    response = await patch_json(
        async_client,
        ME,
        {"read_languages": ["en", "de"], "native_language": "de"},
        token=token,
    )
    assert response.status_code == 200, response.content
    assert response.json()["native_language"] == "de"
    assert response.json()["read_languages"] == ["en"]


async def test_bad_read_languages_are_refused_422_and_change_nothing(async_client, bob):
    user, token = bob
    ok = await patch_json(async_client, ME, {"read_languages": ["ja"]}, token=token)
    assert ok.status_code == 200
    for changes in (
        {"read_languages": ["xx"]},
        {"read_languages": ["EN"]},
        {"read_languages": "en"},
        {"read_languages": [1]},
        {"read_languages": None},
        {"read_languages": ["en\u0000"]},
        {"first_name": "Robert", "read_languages": ["klingon"]},
    ):
        response = await patch_json(async_client, ME, changes, token=token)
        assert response.status_code == 422, (changes, response.content)
        assert_detail(response, 422)
        stored = await asyncio.to_thread(stored_user, user.user_id)
        assert list(stored.read_languages) == ["ja"] and stored.first_name == "Bob", changes

"""Every REST endpoint under random input: no reply is ever a 5xx, and a refused write leaves
DynamoDB exactly as it was.

Through Django's ASGI test client, like the other view tests, with the real services behind
it (moto, Redis, the loopback OpenAI and ElevenLabs fakes). Random JSON (any type, nesting,
unpaired surrogates, huge integers, NUL and other controls, field names the views read),
random raw bytes, random ids in the URL and random query strings. Each endpoint is its own
test case with its own budget of examples, drawn with explicit odds (`_chance`) so that most
of them carry the fields the view reads, a real chat id and a valid token, and so get past the
first check to the services. `derandomize` keeps every run the same (and under a minute).
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

import pytest
from django.test import AsyncClient
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.chats import actions
from apps.chats import services as chat_services
from apps.chats.translation import translation_clients_close
from apps.core.background import background_tasks_settle
from apps.core.concurrency import run_blocking
from apps.core.dynamo import dynamo_table_models
from apps.voice.speech import speech_clients_close
from tests.support.accounts import user_create, user_token
from tests.support.fake_elevenlabs import FakeElevenLabs
from tests.support.loops import owed_translation_retries_cancel

# (method, path with {chat_id} / {seq}, needs a token, the body fields its view reads)
ENDPOINTS = [
    (
        "POST",
        "/api/auth/signup",
        False,
        ("username", "password", "first_name", "last_name", "native_language"),
    ),
    ("POST", "/api/auth/login", False, ("username", "password")),
    ("GET", "/api/health", False, ()),
    ("HEAD", "/api/health", False, ()),
    ("GET", "/api/ready", False, ()),
    ("GET", "/api/languages", False, ()),
    ("GET", "/api/auth/me", True, ()),
    (
        "PATCH",
        "/api/auth/me",
        True,
        ("first_name", "last_name", "native_language", "read_languages"),
    ),
    ("POST", "/api/ws/ticket", True, ()),
    ("POST", "/api/auth/logout_all", True, ()),
    ("GET", "/api/auth/me/export", True, ()),
    ("POST", "/api/auth/me/delete", True, ("password",)),
    ("GET", "/api/chats", True, ()),
    ("POST", "/api/chats", True, ("username", "title", "usernames")),
    ("GET", "/api/chats/{chat_id}", True, ()),
    ("GET", "/api/chats/{chat_id}/messages", True, ()),
    ("POST", "/api/chats/{chat_id}/messages", True, ("text", "client_msg_id")),
    ("POST", "/api/chats/{chat_id}/members", True, ("username",)),
    ("DELETE", "/api/chats/{chat_id}/members/me", True, ()),
    ("POST", "/api/chats/{chat_id}/read", True, ("seq",)),
    ("GET", "/api/chats/{chat_id}/glossary", True, ()),
    ("PUT", "/api/chats/{chat_id}/glossary", True, ("version", "entries")),
    ("GET", "/api/chats/{chat_id}/preferences", True, ()),
    ("PUT", "/api/chats/{chat_id}/preferences", True, ("formality",)),
    ("PUT", "/api/chats/{chat_id}/mute", True, ("muted",)),
    ("POST", "/api/voice/token", True, ("chat_id",)),
    ("POST", "/api/chats/{chat_id}/voice_notes", True, ()),
    ("GET", "/api/chats/{chat_id}/messages/{seq}/audio", True, ()),
    ("PUT", "/api/chats/{chat_id}/messages/{seq}/reaction", True, ("emoji",)),
    ("PATCH", "/api/chats/{chat_id}/messages/{seq}", True, ("text", "message_id")),
    ("DELETE", "/api/chats/{chat_id}/messages/{seq}", True, ()),
    ("GET", "/api/push", False, ()),
    ("POST", "/api/push/subscriptions", True, ("endpoint", "keys")),
    ("DELETE", "/api/push/subscriptions", True, ("endpoint",)),
    ("GET", "/api/search", True, ()),
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
FIELDS = [
    "username",
    "password",
    "first_name",
    "last_name",
    "native_language",
    "title",
    "usernames",
    "text",
    "client_msg_id",
    "seq",
    "chat_id",
    "version",
    "entries",
    "formality",
    "read_languages",
    "emoji",
]
QUERY_KEYS = ["limit", "cursor", "format", "client_msg_id", "x"]
CONTENT_TYPES = [
    "application/json",
    "audio/webm",
    "audio/wav",
    "text/plain",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "",
    "audio/\x7f",
]

# Any code point, surrogates and controls included; the troublesome ones drawn often (left
# to itself Hypothesis favours ASCII, and surrogates are 2048 of 1.1 million code points).
TROUBLESOME = [
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    "\u202e",
    "\u2066",
    "\u200f",
    "\ufeff",
    "\uffff",
    "\U0010ffff",
    "\U0001f600",
    "\u0430",
    "\uff41",
    "\n",
    "\t",
    " ",
    "#",
    "%",
    "/",
    "\\",
    '"',
    "a",
]
any_text = st.text(
    st.one_of(st.sampled_from(TROUBLESOME), st.characters(codec=None, exclude_categories=())),
    max_size=40,
)
hostile_text = st.one_of(
    any_text,
    st.sampled_from(
        ["", " ", "\x00", "\ud800", "\udfff", "a\u202eb", "\uff41\uff4c", "%", "/", "#"]
    ),
    st.text(max_size=3).map(lambda s: s * 200),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | hostile_text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.one_of(st.sampled_from(FIELDS), any_text), children, max_size=4)
    ),
    max_leaves=12,
)
field_bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6),
    # Every field a string: what gets past the type checks to the services.
    st.dictionaries(st.sampled_from(FIELDS), hostile_text, min_size=1, max_size=6),
)
raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"x"',
            b"1e999",
            b"[" * 5000,
            b'{"a":' * 3000,
            b"\xff\xfe{}",
            b'{"text": "\\ud800"}',
            b'{"seq": ' + b"9" * 5000 + b"}",
            b"say:hola",
            b"say:\x1b\x00",
        ]
    ),
)


def _encoded(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


bodies = st.one_of(
    field_bodies.map(_encoded), field_bodies.map(_encoded), json_values.map(_encoded), raw_bodies
)


def _path_segment(value: str) -> str:
    # What a client would send: UTF-8 (surrogates as their would-be bytes), percent-encoded.
    return quote(value, safe="", errors="surrogatepass")


query_strings = st.one_of(
    st.just(""),
    st.dictionaries(st.sampled_from(QUERY_KEYS), hostile_text, max_size=3).map(
        lambda params: "&".join(f"{k}={_path_segment(v)}" for k, v in params.items())
    ),
    st.binary(max_size=30).map(lambda raw: "cursor=" + quote(raw, safe="")),
)


async def _tables_snapshot() -> dict[str, list]:
    def scan():
        snapshot = {}
        for name, model in sorted(dynamo_table_models().items()):
            connection = model._get_connection()
            items, start = [], None
            while True:
                page = connection.scan(exclusive_start_key=start, consistent_read=True)
                items.extend(page.get("Items", []))
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
            snapshot[name] = sorted(json.dumps(item, sort_keys=True) for item in items)
        return snapshot

    return await asyncio.to_thread(scan)


async def _request(client, method, path, body, content_type, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.generic(method, path, data=body, content_type=content_type, headers=headers)


def _assert_not_5xx(response, method, path, body):
    assert response.status_code < 500, (method, path, body[:300], response.content[:300])


@pytest.fixture
def fast_hashing(settings):
    # Login and signup hash every password they see; the fuzz is about input, not Argon2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def speech(settings):
    server = FakeElevenLabs(api_key="fuzz-key")
    settings.ELEVENLABS_BASE_URL = server.start()
    settings.ELEVENLABS_API_KEY = "fuzz-key"
    yield server
    server.stop()


@pytest.fixture
def livekit(settings):
    settings.LIVEKIT_API_KEY = "APIfuzzkey"
    settings.LIVEKIT_API_SECRET = "fuzz-secret-that-is-long-enough-for-hs256-signing"
    settings.LIVEKIT_URL = "ws://127.0.0.1:7880"


@pytest.fixture(autouse=True)
async def _tidy_event_loop():
    yield
    await owed_translation_retries_cancel()
    await translation_clients_close()
    await speech_clients_close()


@pytest.fixture
async def world(fast_hashing, translator, speech, livekit, settings):
    """Three people, a direct chat and a group with a message, and their tokens."""
    settings.MESSAGE_RATE_LIMIT_COUNT = 10_000
    ana = await run_blocking(user_create)(language="es", username="fuzz_ana")
    bob = await run_blocking(user_create)(language="en", username="fuzz_bob")
    cleo = await run_blocking(user_create)(language="fr", username="fuzz_cleo")
    direct = await run_blocking(chat_services.chat_direct_create)(
        user=ana, other_username=bob.username
    )
    group = await run_blocking(chat_services.chat_group_create)(
        user=ana, title="Fuzz", usernames=[bob.username, cleo.username]
    )
    await actions.do_send_message(user=ana, chat_id=group.membership.chat_id, text="hola")
    await background_tasks_settle()
    return {
        "token": user_token(ana),
        "chat_ids": [direct.membership.chat_id, group.membership.chat_id],
        "usernames": [ana.username, bob.username, cleo.username],
    }


def test_every_url_pattern_is_fuzzed():
    def routes(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    fuzzed = {
        path.replace("{chat_id}", "<str:chat_id>").replace("{seq}", "<int:seq>").lstrip("/")
        for _, path, _, _ in ENDPOINTS
    }
    served = {route for route in routes(get_resolver().url_patterns) if route != "^api/"}
    assert served == fuzzed


FUZZ_SETTINGS = hypothesis_settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _chance(data, tenths: int, label: str) -> bool:
    """True `tenths` times in ten. Explicit odds: Hypothesis's own `one_of` leans towards its
    first, simplest branch, and the interesting cases need the others."""
    return data.draw(st.integers(0, 9), label=label) < tenths


def _string(data, label, extra_values=()):
    """A hostile string, with explicit odds for each kind (see `_chance`)."""
    kind = data.draw(st.integers(0, 9), label=f"{label} kind")
    if kind <= 2:
        return data.draw(any_text, label=label)
    if kind <= 6:
        # Ordinary words with one troublesome character somewhere in them.
        words = data.draw(st.text("abc xyz", min_size=1, max_size=12), label=label)
        bad = data.draw(st.sampled_from(TROUBLESOME), label=f"{label} char")
        at = data.draw(st.integers(0, len(words)), label=f"{label} at")
        return words[:at] + bad + words[at:]
    if kind == 7:
        return data.draw(hostile_text, label=label)
    if kind == 8 and extra_values:
        return data.draw(st.sampled_from(list(extra_values)), label=label)
    return data.draw(st.text(max_size=3), label=label) * 300


def _body(data, fields, extra_values=()):
    """A body for a view reading `fields`: mostly all of them, with hostile values (strings
    most often, so they get past the type checks to the services); sometimes anything."""
    if not (fields and _chance(data, 7, "shaped body")):
        return data.draw(bodies, label="body")
    body = {}
    for field in fields:
        if not _chance(data, 9, f"has {field}"):
            continue
        if _chance(data, 2, f"{field} any value"):
            body[field] = data.draw(json_values, label=field)
        elif field == "usernames":
            count = data.draw(st.integers(0, 5), label="usernames count")
            body[field] = [_string(data, field, extra_values) for _ in range(count)]
        elif field == "read_languages":
            count = data.draw(st.integers(0, 3), label="read_languages count")
            body[field] = [_string(data, field, ("en", "fr", "es")) for _ in range(count)]
        elif field == "entries":
            count = data.draw(st.integers(0, 3), label="entries count")
            body[field] = [
                {
                    "term": _string(data, "term"),
                    "rendering": _string(data, "rendering")
                    if _chance(data, 5, "rendered")
                    else None,
                }
                for _ in range(count)
            ]
        elif field == "version":
            body[field] = data.draw(st.sampled_from([0, 1, -1, 10**45, True, 0.5]), label=field)
        else:
            body[field] = _string(data, field, extra_values)
    return _encoded(body)


def _method(data, declared):
    if _chance(data, 8, "declared method"):
        return declared
    return data.draw(st.sampled_from(METHODS), label="method")


def _endpoint_id(endpoint):
    return f"{endpoint[0]} {endpoint[1]}"


PUBLIC_ENDPOINTS = [e for e in ENDPOINTS if not e[2]] + [("GET", "/api/{x}", False, ())]
PRIVATE_ENDPOINTS = [e for e in ENDPOINTS if e[2]]


@pytest.mark.parametrize("endpoint", PUBLIC_ENDPOINTS, ids=_endpoint_id)
@hypothesis_settings(FUZZ_SETTINGS, max_examples=10)
@given(data=st.data())
async def test_unauthenticated_endpoints_never_answer_5xx(fast_hashing, endpoint, data):
    declared_method, path, _, fields = endpoint
    method = _method(data, declared_method)
    body = _body(data, fields)
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content_type")
    query = data.draw(query_strings, label="query")
    segment = data.draw(hostile_text, label="segment")
    path = path.replace("{x}", _path_segment(segment) or "x") + (f"?{query}" if query else "")
    writes = method in ("POST", "PATCH", "DELETE", "PUT")
    # What an earlier example's accepted request still writes in the background (a sent
    # message's search index entries, a quarter second later) must land before the snapshot.
    await background_tasks_settle()
    before = await _tables_snapshot() if writes else None

    response = await _request(AsyncClient(), method, path, body, content_type, None)

    _assert_not_5xx(response, method, path, body)
    if before is not None and 400 <= response.status_code < 500:
        assert await _tables_snapshot() == before, (method, path, body[:300])


@pytest.mark.parametrize("endpoint", PRIVATE_ENDPOINTS, ids=_endpoint_id)
@hypothesis_settings(FUZZ_SETTINGS, max_examples=12)
@given(data=st.data())
async def test_authenticated_endpoints_never_answer_5xx_and_refusals_change_nothing(
    world, endpoint, data
):
    declared_method, path, _, fields = endpoint
    method = _method(data, declared_method)
    if _chance(data, 7, "a real chat"):
        chat_id = data.draw(st.sampled_from(world["chat_ids"]), label="chat_id")
    else:
        chat_id = data.draw(hostile_text, label="chat_id")
    seq = data.draw(st.one_of(st.integers(0, 3), st.integers(min_value=0), st.just(10**45)))
    path = path.replace("{chat_id}", _path_segment(chat_id) or "x").replace("{seq}", str(seq))
    body = _body(data, fields, extra_values=[*world["usernames"], *world["chat_ids"]])
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content_type")
    query = data.draw(query_strings, label="query")
    path += f"?{query}" if query else ""
    if _chance(data, 9, "a good token"):
        token = world["token"]
    else:
        token = data.draw(st.sampled_from([None, "not.a.token", world["token"] + "x"]))
    writes = method in ("POST", "PATCH", "DELETE", "PUT")
    # What an earlier example's accepted request still writes in the background (a sent
    # message's search index entries, a quarter second later) must land before the snapshot.
    await background_tasks_settle()
    before = await _tables_snapshot() if writes else None

    response = await _request(AsyncClient(), method, path, body, content_type, token)
    if hasattr(response, "streaming_content"):
        async for _ in response.streaming_content:
            pass

    _assert_not_5xx(response, method, path, body)
    if before is not None and 400 <= response.status_code < 500 and response.status_code != 429:
        assert await _tables_snapshot() == before, (method, path, body[:300], response.content)

"""Empty DynamoDB tables for every test (the servers come from tests/support/pytest_servers.py),
the translator fixture, and chat sockets closed after each test.

The tables are created once per test session under a prefix of their own and emptied after
each test: creating tables per test would cost more than most tests.
"""

import contextlib
import os

import pytest

SESSION_PREFIX = f"test{os.getpid()}_"


def _tables_empty() -> None:
    from apps.core.dynamo import dynamo_pages_delete, dynamo_table_models

    for model in dynamo_table_models().values():
        connection = model._get_connection()
        keys = [
            attribute.attr_name
            for attribute in (model._hash_key_attribute(), model._range_key_attribute())
            if attribute is not None
        ]
        dynamo_pages_delete(
            connection=connection,
            read=lambda start, connection=connection, keys=keys: connection.scan(
                attributes_to_get=keys, exclusive_start_key=start, consistent_read=True
            ),
        )


@pytest.fixture(autouse=True)
def dynamo_tables(settings):
    """Yields the table prefix; the tables are empty when the test starts."""
    from apps.core.dynamo import dynamo_configure, dynamo_tables_create, dynamo_target_from_settings

    settings.DYNAMODB_TABLE_PREFIX = SESSION_PREFIX
    target = dynamo_target_from_settings()
    dynamo_configure(target)
    dynamo_tables_create(development=True, wait_seconds=30)
    yield SESSION_PREFIX
    # A test may have pointed the models elsewhere or deleted a table; undo that first.
    dynamo_configure(target)
    dynamo_tables_create(development=True, wait_seconds=30)
    _tables_empty()
    # Copies of chats that no longer exist must not outlive their test.
    from apps.chats.chat_snapshots import chat_snapshots

    chat_snapshots.clear()


@pytest.fixture
def translator(settings):
    """A loopback OpenAI-compatible server ("T" translates to "[<target>] T"); the real SDK
    client is pointed at it."""
    from tests.support.fake_openai import FakeOpenAI

    server = FakeOpenAI()
    settings.OPENAI_BASE_URL = server.start()
    settings.OPENAI_API_KEY = "test-key"
    settings.TRANSLATION_RETRY_SCALE = 0.05
    yield server
    server.stop()


@pytest.fixture
async def sockets():
    """Opens chat sockets (tests/support/chat_clients.py) and closes every one of them when
    the test ends, pass or fail."""
    from tests.support.chat_clients import ChatSocket

    opened: list[ChatSocket] = []

    class Opener:
        async def open(self, user) -> ChatSocket:
            socket = await ChatSocket.open(user)
            opened.append(socket)
            return socket

        async def attempt(self, query, *, headers=None):
            socket, connected, detail = await ChatSocket.attempt(query, headers=headers)
            opened.append(socket)
            return socket, connected, detail

    yield Opener()
    for socket in opened:
        with contextlib.suppress(BaseException):
            await socket.close()


# The credential throttles (apps/accounts/throttles.py) count per client address, and every
# test's client is 127.0.0.1: like the tables, the counts start empty for each test, so each
# test meets the real limits on its own.
CREDENTIAL_THROTTLE_KEYS = ("rl:login-*", "rl:signup-*", "rl:ws-ticket:*")


@pytest.fixture(autouse=True)
def send_admission_without_lag_rules(settings):
    """A loaded test machine runs its event loops and its deliveries late, which in
    production means "refuse sends for now"; here that would refuse sends at random. The lag
    rules are tested on their own (tests/chats/test_overload.py sets them); the in-flight
    bound stays on."""
    settings.SENDS_LOOP_LAG_MAX_SECONDS = 0
    settings.SENDS_DELIVERY_LAG_MAX_SECONDS = 0


def _redis_keys_delete(redis_url: str, patterns: tuple[str, ...]) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for pattern in patterns:
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def short_translations_forgotten(settings):
    """The shared short-translation cache (apps/chats/short_translations.py) lives in Redis:
    emptied before and after each test, so no test's "ok" is another's cache hit."""
    from apps.chats.translation_need import SHORT_TEXT_KEY_PREFIX

    redis_url = settings.REDIS_URL
    patterns = (f"{SHORT_TEXT_KEY_PREFIX}:*",)
    _redis_keys_delete(redis_url, patterns)
    yield
    _redis_keys_delete(redis_url, patterns)


@pytest.fixture(autouse=True)
def credential_throttles_reset(settings):
    # Read before the test runs: a test may point REDIS_URL elsewhere or unset it.
    redis_url = settings.REDIS_URL
    yield
    _redis_keys_delete(redis_url, CREDENTIAL_THROTTLE_KEYS)


@pytest.fixture
def faulty_redis():
    """A redis-server for this test alone (tests/support/redis_faults.py), so killing, pausing
    or restarting it harms no other test."""
    from tests.support.redis_faults import FaultyRedis

    server = FaultyRedis()
    yield server
    server.stop()


@pytest.fixture
def own_redis(settings):
    """A redis-server for this test's key-value store alone, so stopping or pausing it harms
    no other test."""
    import signal

    from tests.support.servers import redis_server_start

    server = redis_server_start()
    settings.REDIS_URL = server.url
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()

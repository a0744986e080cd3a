"""apps.core.dynamo: where the models find DynamoDB, and the embedded server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from urllib.parse import urlparse

import boto3
import pytest
from pynamodb.exceptions import GetError
from pynamodb.models import Model

from apps.accounts.models import User, UsernameClaim
from apps.chats.models import Chat, ChatMembership, Message, OwedTranslation, SearchToken
from apps.core import dynamo
from apps.core.dynamo import (
    EMBEDDED_CREDENTIALS,
    DynamoTarget,
    dynamo_client,
    dynamo_configure,
    dynamo_configure_from_settings,
    dynamo_table,
    dynamo_table_models,
    dynamo_tables_create,
    dynamo_target_from_settings,
    embedded_dynamo_start,
)
from apps.core.outages import outage_caused
from tests.support.dynamo_calls import dynamo_calls
from tests.support.servers import free_port

TABLES = ("users", "chats", "user_chats", "messages", "owed_translations", "search_tokens")


def registered_models() -> list[type[Model]]:
    """Every model that reads or writes a table, schema owner or not."""
    models = list(dynamo._all_models)
    for model in (User, UsernameClaim, Chat, ChatMembership, Message):
        assert model in models, model
    return models


@pytest.fixture
def restore_target(dynamo_tables, settings):
    """Whatever a test points the models at, put them back on the suite's server afterwards
    (before dynamo_tables deletes this test's tables)."""
    original = dynamo_target_from_settings()
    yield original
    dynamo_configure(original)


def client_for(url: str, region: str = "us-east-1"):
    assert urlparse(url).hostname in ("127.0.0.1", "localhost")
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def put_key_only_item(client, table_name: str, marker: str) -> None:
    """One item holding just the table's key attributes (any model's count() sees it)."""
    table = client.describe_table(TableName=table_name)["Table"]
    item = {entry["AttributeName"]: {"S": marker} for entry in table["KeySchema"]}
    client.put_item(TableName=table_name, Item=item)


# --- With the suite's tables --------------------------------------------------------------------


def test_user_and_username_claim_share_the_prefixed_users_table(dynamo_tables, settings):
    assert User.Meta.table_name == UsernameClaim.Meta.table_name == f"{dynamo_tables}users"
    UsernameClaim(UsernameClaim.key_for("Ada"), user_id="u-1").save()

    client = client_for(settings.DYNAMODB_ENDPOINT)
    items = client.scan(TableName=f"{dynamo_tables}users")["Items"]
    assert [item["pk"]["S"] for item in items] == ["USERNAME#ada"]
    assert UsernameClaim.get(UsernameClaim.key_for("ADA")).user_id == "u-1"
    # User reads the very same table: its scan sees the claim item.
    assert User.count() == 1
    assert User._get_connection().get_item("USERNAME#ada")["Item"]["user_id"] == {"S": "u-1"}


def test_switching_prefix_moves_every_model_to_other_tables(restore_target, settings):
    client = client_for(settings.DYNAMODB_ENDPOINT)
    first_prefix = restore_target.table_prefix
    for name in TABLES:
        put_key_only_item(client, f"{first_prefix}{name}", "first")
    for model in registered_models():
        assert model.count() == 1, model

    second_prefix = f"{first_prefix}second_"
    dynamo_configure(dataclasses.replace(restore_target, table_prefix=second_prefix))
    outcomes = dynamo_tables_create(development=False, wait_seconds=10)
    try:
        assert {outcome.table_name for outcome in outcomes} == {
            f"{second_prefix}{name}" for name in TABLES
        }
        assert all(outcome.created for outcome in outcomes)
        assert {outcome.billing_mode for outcome in outcomes} == {"PAY_PER_REQUEST"}
        # Every model now reads the new, empty tables...
        for model in registered_models():
            assert model.count() == 0, model
        # ...and writes go there too, not to the first set.
        UsernameClaim(UsernameClaim.key_for("second"), user_id="u-2").save()
        assert [
            item["pk"]["S"] for item in client.scan(TableName=f"{second_prefix}users")["Items"]
        ] == ["USERNAME#second"]
        assert client.scan(TableName=f"{first_prefix}users")["Count"] == 1
        for name in ("chats", "user_chats", "messages", "owed_translations", "search_tokens"):
            put_key_only_item(client, f"{second_prefix}{name}", "second")
        for model in registered_models():
            assert model.count() == 1, model

        again = dynamo_tables_create(development=False, wait_seconds=10)
        assert [outcome.created for outcome in again] == [False] * len(TABLES)
    finally:
        for model in dynamo_table_models().values():
            model.delete_table()


def test_every_model_shares_one_botocore_client_from_every_pool_thread(restore_target):
    """A fresh process: many blocking-pool threads make their first DynamoDB call at once
    (a reconnect storm). Every model, on every thread, goes through one client."""
    from apps.core.concurrency import BLOCKING_POOL_SIZE, run_blocking

    # The same server by another name: a target the models have not used yet, as at start.
    port = urlparse(restore_target.host).port
    dynamo_configure(dataclasses.replace(restore_target, host=f"http://localhost:{port}"))
    models = registered_models()
    start_line = threading.Barrier(BLOCKING_POOL_SIZE)

    def first_call(model: type[Model]) -> int:
        start_line.wait(timeout=10)  # every thread's first call at the same moment
        model._get_connection().describe_table()  # a real request
        return id(model._get_connection().connection.client)

    async def storm() -> set[int]:
        calls = [
            run_blocking(first_call)(models[index % len(models)])
            for index in range(BLOCKING_POOL_SIZE)
        ]
        return set(await asyncio.gather(*calls))

    clients = asyncio.run(storm())
    assert len(clients) == 1, f"{len(clients)} botocore clients for {len(models)} models"
    assert clients == {id(dynamo_client())}


def test_transactions_go_through_the_shared_client(dynamo_tables):
    from pynamodb.transactions import TransactWrite

    # The connection the services hand to TransactWrite (apps/chats, apps/accounts).
    for model in (Chat, User):
        connection = model._get_connection().connection
        assert connection.client is dynamo_client()
        with TransactWrite(connection=connection) as transaction:
            transaction.save(UsernameClaim(UsernameClaim.key_for(model.__name__), user_id="u"))
    assert UsernameClaim.get(UsernameClaim.key_for("Chat")).user_id == "u"


def test_embedded_endpoint_setting_configures_and_creates_the_tables(settings, restore_target):
    settings.DYNAMODB_ENDPOINT = settings.DYNAMODB_EMBEDDED
    prefix = restore_target.table_prefix

    target = dynamo_target_from_settings()
    assert target.host == embedded_dynamo_start()
    assert (target.access_key_id, target.secret_access_key) == EMBEDDED_CREDENTIALS
    assert target.session_token is None
    assert target.table_prefix == prefix

    dynamo_configure_from_settings()
    try:
        for model in registered_models():
            assert model.Meta.host == target.host
        client = client_for(target.host)
        names = set(client.list_tables()["TableNames"])
        expected = {f"{prefix}{name}" for name in TABLES}
        assert expected <= names
        for name in expected:
            table = client.describe_table(TableName=name)["Table"]
            billing = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
            assert billing == "PROVISIONED"

        UsernameClaim(UsernameClaim.key_for("embedded"), user_id="u-embedded").save()
        assert UsernameClaim.get(UsernameClaim.key_for("embedded")).user_id == "u-embedded"
        # Written to the embedded server, not the suite's server.
        suite_client = client_for(restore_target.host)
        assert suite_client.scan(TableName=f"{prefix}users")["Count"] == 0
    finally:
        for model in dynamo_table_models().values():
            model.delete_table()


# --- Configuration only ------------------------------------------------------------------------


class TestWithoutSuiteTables:
    """Configuration only, or the embedded server: these need none of the suite's tables."""

    @pytest.fixture(autouse=True)
    def dynamo_tables(self):
        # Overrides the conftest fixture for this class: no tables to create and delete.
        yield None

    def test_every_table_has_one_schema_owner(self):
        assert dynamo_table_models() == {
            "users": User,
            "chats": Chat,
            "user_chats": ChatMembership,
            "messages": Message,
            "owed_translations": OwedTranslation,
            "search_tokens": SearchToken,
        }
        # UsernameClaim shares `users` without owning its schema.
        assert UsernameClaim.Meta.base_table_name == "users"
        assert UsernameClaim not in dynamo_table_models().values()

    def test_a_second_schema_owner_for_a_table_is_refused(self):
        class Impostor(Model):
            class Meta:
                table_name = "users"

        models_before = list(dynamo._all_models)
        with pytest.raises(RuntimeError, match="users"):
            dynamo_table("users")(Impostor)
        assert dynamo_table_models()["users"] is User
        assert dynamo._all_models == models_before

    def test_a_model_registered_after_configure_gets_the_current_target(self, restore_target):
        target = DynamoTarget(
            host="http://127.0.0.1:1",
            region="eu-west-1",
            access_key_id="late-key",
            secret_access_key="late-secret",
            session_token=None,
            table_prefix="late_",
        )
        dynamo_configure(target)

        class LateReader(Model):
            class Meta:
                table_name = "placeholder"

        try:
            dynamo_table("users", owns_schema=False)(LateReader)
            assert LateReader.Meta.table_name == "late_users"
            assert LateReader.Meta.host == "http://127.0.0.1:1"
            assert LateReader.Meta.region == "eu-west-1"
            assert LateReader.Meta.aws_access_key_id == "late-key"
            assert LateReader._get_connection().connection.client is dynamo_client()
            assert dynamo_table_models()["users"] is User
        finally:
            dynamo._all_models.remove(LateReader)

    def test_configure_applies_prefix_host_and_credentials_to_every_model(self, restore_target):
        models = registered_models()
        cached = {model: model._get_connection() for model in models}  # configure must drop these
        host = f"http://127.0.0.1:{free_port()}"
        target = DynamoTarget(
            host=host,
            region="eu-west-2",
            access_key_id="key-id",
            secret_access_key="secret-key",
            session_token="session-token",
            table_prefix="unit_",
        )
        dynamo_configure(target)

        for model in models:
            meta = model.Meta
            assert meta.table_name == f"unit_{meta.base_table_name}", model
            assert meta.host == host
            assert meta.region == "eu-west-2"
            assert meta.aws_access_key_id == "key-id"
            assert meta.aws_secret_access_key == "secret-key"
            assert meta.aws_session_token == "session-token"
            # A new connection, built from the new settings (building it sends nothing)...
            connection = model._get_connection()
            assert connection is not cached[model], model
            assert connection.table_name == f"unit_{model.Meta.base_table_name}"
            assert connection.connection.host == host
            assert connection.connection.region == "eu-west-2"
            # ...through the one client, which has the new endpoint, region and credentials.
            client = connection.connection.client
            assert client is dynamo_client()
            assert client.meta.endpoint_url == host
            assert client.meta.region_name == "eu-west-2"
            credentials = client._request_signer._credentials
            assert (credentials.access_key, credentials.secret_key, credentials.token) == (
                "key-id",
                "secret-key",
                "session-token",
            )
        assert User.Meta.table_name == UsernameClaim.Meta.table_name == "unit_users"

    def test_without_an_endpoint_the_models_use_aws_defaults(self, settings, restore_target):
        settings.DYNAMODB_ENDPOINT = None
        settings.AWS_REGION = "eu-central-1"
        settings.AWS_ACCESS_KEY_ID = None
        settings.AWS_SECRET_ACCESS_KEY = None
        settings.AWS_SESSION_TOKEN = None
        settings.DYNAMODB_TABLE_PREFIX = "prod_"

        target = dynamo_target_from_settings()
        assert target == DynamoTarget(
            host=None,
            region="eu-central-1",
            access_key_id=None,
            secret_access_key=None,
            session_token=None,
            table_prefix="prod_",
        )

        # Only configuration: nothing here sends a request.
        dynamo_configure(target)
        for model in registered_models():
            assert model.Meta.host is None, model
            assert model.Meta.region == "eu-central-1"
            assert model.Meta.aws_access_key_id is None
            assert model.Meta.aws_secret_access_key is None
            assert model.Meta.aws_session_token is None
            assert model.Meta.table_name == f"prod_{model.Meta.base_table_name}"

    def test_credentials_from_settings_are_passed_through(self, settings):
        settings.DYNAMODB_ENDPOINT = "http://127.0.0.1:8000"
        settings.AWS_REGION = "ap-southeast-2"
        settings.AWS_ACCESS_KEY_ID = "AKIAEXAMPLE"
        settings.AWS_SECRET_ACCESS_KEY = "example-secret"
        settings.AWS_SESSION_TOKEN = "example-token"

        target = dynamo_target_from_settings()
        assert target.host == "http://127.0.0.1:8000"
        assert target.region == "ap-southeast-2"
        assert (target.access_key_id, target.secret_access_key, target.session_token) == (
            "AKIAEXAMPLE",
            "example-secret",
            "example-token",
        )

    def test_embedded_server_is_in_process_on_loopback_and_accepts_tables(self):
        url = embedded_dynamo_start()
        parsed = urlparse(url)
        assert parsed.scheme == "http"
        assert parsed.hostname == "127.0.0.1"
        assert parsed.port and parsed.port > 0
        # Once per process: a second call returns the same server.
        assert embedded_dynamo_start() == url

        client = client_for(url)
        name = f"embedded_probe_{free_port()}"
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        try:
            assert client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
            client.put_item(TableName=name, Item={"pk": {"S": "hello"}})
            assert client.get_item(TableName=name, Key={"pk": {"S": "hello"}})["Item"] == {
                "pk": {"S": "hello"}
            }

            # In-process: the table lives in this process's moto backend, served by a thread here.
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.dynamodb.models import dynamodb_backends

            assert name in dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables
            server_thread = dynamo._embedded_server._thread
            assert server_thread is not None and server_thread.is_alive()
            assert server_thread in threading.enumerate()
        finally:
            client.delete_table(TableName=name)


# --- dynamo_items_get: several tables in one BatchGetItem ----------------------------------------


def _tokens_and_claims(count: int) -> None:
    with SearchToken.batch_write() as batch:
        for number in range(count):
            batch.save(SearchToken(f"reader#{number:04d}", "found"))
    for number in range(3):
        UsernameClaim(UsernameClaim.key_for(f"name{number}"), user_id=f"u{number}").save()


def test_items_of_two_tables_come_in_one_request_and_missing_ones_are_left_out(dynamo_tables):
    _tokens_and_claims(3)
    with dynamo_calls() as calls:
        found = dynamo.dynamo_items_get(
            dynamo.KeysWanted(
                SearchToken, [("reader#0000", "found"), ("reader#0002", "found"), ("nobody", "x")]
            ),
            dynamo.KeysWanted(
                UsernameClaim,
                [UsernameClaim.key_for("name1"), UsernameClaim.key_for("nobody")],
                consistent_read=True,
            ),
        )
    assert [name for name, _ in calls] == ["BatchGetItem"]
    request = calls[0][1]["RequestItems"]
    assert request[UsernameClaim.Meta.table_name]["ConsistentRead"] is True
    assert request[SearchToken.Meta.table_name]["ConsistentRead"] is False
    assert sorted(item.token_key for item in found[SearchToken]) == ["reader#0000", "reader#0002"]
    assert [item.user_id for item in found[UsernameClaim]] == ["u1"]


def test_more_keys_than_one_request_takes_go_in_several(dynamo_tables):
    _tokens_and_claims(130)
    keys = [(f"reader#{number:04d}", "found") for number in range(130)]
    with dynamo_calls() as calls:
        found = dynamo.dynamo_items_get(
            dynamo.KeysWanted(SearchToken, keys),
            dynamo.KeysWanted(UsernameClaim, [UsernameClaim.key_for("name0")]),
        )
    assert [
        len(params["RequestItems"].get(SearchToken.Meta.table_name, {}).get("Keys", []))
        + len(params["RequestItems"].get(UsernameClaim.Meta.table_name, {}).get("Keys", []))
        for _, params in calls
    ] == [100, 31]
    assert len(found[SearchToken]) == 130
    assert len(found[UsernameClaim]) == 1


@contextlib.contextmanager
def _answers_leave_keys_unprocessed(times: int):
    """The next `times` BatchGetItem answers (moto's, parsed by the real client) hand one of
    their items back as unprocessed, as DynamoDB does when it throttles."""
    left = [times]

    def throttle(parsed, **_):
        if left[0] <= 0:
            return
        for table, items in parsed.get("Responses", {}).items():
            if items:
                item = items.pop()
                parsed.setdefault("UnprocessedKeys", {})[table] = {
                    "Keys": [{name: item[name] for name in ("token_key", "found")}]
                }
                left[0] -= 1
                return

    events = dynamo_client().meta.events
    events.register("after-call.dynamodb.BatchGetItem", throttle, unique_id="test-unprocessed")
    try:
        yield
    finally:
        events.unregister("after-call.dynamodb.BatchGetItem", unique_id="test-unprocessed")


def test_keys_left_unprocessed_are_asked_again(dynamo_tables):
    _tokens_and_claims(4)
    keys = [(f"reader#{number:04d}", "found") for number in range(4)]
    with _answers_leave_keys_unprocessed(times=2), dynamo_calls() as calls:
        found = dynamo.dynamo_items_get(dynamo.KeysWanted(SearchToken, keys))
    assert len(calls) == 3
    assert sorted(item.token_key for item in found[SearchToken]) == [key for key, _ in keys]


def test_keys_never_processed_are_an_outage_not_a_bug(dynamo_tables, monkeypatch):
    monkeypatch.setattr(dynamo, "BATCH_GET_BACKOFF_SECONDS", 0.001)
    _tokens_and_claims(1)
    with _answers_leave_keys_unprocessed(times=100), pytest.raises(GetError) as raised:
        dynamo.dynamo_items_get(dynamo.KeysWanted(SearchToken, [("reader#0000", "found")]))
    assert outage_caused(raised.value)


def test_two_models_of_one_table_are_refused(dynamo_tables):
    with pytest.raises(ValueError):
        dynamo.dynamo_items_get(
            dynamo.KeysWanted(User, [User.key_for("a")]),
            dynamo.KeysWanted(UsernameClaim, [UsernameClaim.key_for("a")]),
        )

"""`manage.py create_dynamo_tables`, run in a child process against a fresh moto server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tests.support.servers import child_environment, dynamo_server_start, free_port

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 60
TABLES = ("users", "chats", "user_chats", "messages", "owed_translations", "search_tokens")
GOOD_SECRET = "q9Xv2mB7rT4kL1pZ8wN3sC6yH0dF5gJaE2uR7iO4tYw="  # 44 characters

CLEARED_VARIABLES = (
    "ENVIRONMENT",
    "DEBUG",
    "JWT_SECRET",
    "DJANGO_SECRET_KEY",
    "ALLOWED_HOSTS",
    "REDIS_URL",
    "DYNAMODB_ENDPOINT",
    "DYNAMODB_TABLE_PREFIX",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "DJANGO_SETTINGS_MODULE",
)


@pytest.fixture(autouse=True)
def dynamo_tables():
    """These tests bring their own DynamoDB server; they need no in-process tables."""
    yield None


@pytest.fixture
def fresh_dynamo():
    server = dynamo_server_start()
    assert server.url.startswith("http://127.0.0.1:")
    yield server.url
    server.stop()


def command_environment(endpoint: str, environment_name: str, **overrides: str) -> dict[str, str]:
    environment = child_environment()
    for name in CLEARED_VARIABLES:
        environment.pop(name, None)
    environment.update(
        ENVIRONMENT=environment_name,
        DYNAMODB_ENDPOINT=endpoint,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_REGION="us-east-1",
    )
    if environment_name != "development":
        environment.update(
            JWT_SECRET=GOOD_SECRET,
            REDIS_URL="redis://127.0.0.1:1/0",
            ALLOWED_HOSTS="example.com",
        )
    environment.update(overrides)
    return environment


def create_tables(environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "create_dynamo_tables", "--wait-seconds", "20"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )


def dynamodb_client(endpoint: str):
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def describe(client, name: str) -> dict:
    return client.describe_table(TableName=name)["Table"]


def assert_on_demand(table: dict) -> None:
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    throughput = table.get("ProvisionedThroughput") or {}
    assert throughput.get("ReadCapacityUnits", 0) == 0
    assert throughput.get("WriteCapacityUnits", 0) == 0
    for index in table.get("GlobalSecondaryIndexes", []):
        index_throughput = index.get("ProvisionedThroughput") or {}
        assert index_throughput.get("ReadCapacityUnits", 0) == 0, index
        assert index_throughput.get("WriteCapacityUnits", 0) == 0, index


def key_schema(entries: list[dict]) -> dict[str, str]:
    return {entry["AttributeName"]: entry["KeyType"] for entry in entries}


def test_production_creates_on_demand_tables_then_leaves_them_alone(fresh_dynamo):
    environment = command_environment(fresh_dynamo, "production")
    client = dynamodb_client(fresh_dynamo)
    assert client.list_tables()["TableNames"] == []

    first = create_tables(environment)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    for name in TABLES:
        assert f"created {name} (PAY_PER_REQUEST)" in first.stdout
    assert f"{len(TABLES)} tables ACTIVE on {fresh_dynamo}" in first.stdout

    assert sorted(client.list_tables()["TableNames"]) == sorted(TABLES)
    tables = {name: describe(client, name) for name in TABLES}
    for table in tables.values():
        assert_on_demand(table)

    assert key_schema(tables["users"]["KeySchema"]) == {"pk": "HASH"}
    assert key_schema(tables["chats"]["KeySchema"]) == {"chat_id": "HASH"}
    assert key_schema(tables["messages"]["KeySchema"]) == {"chat_id": "HASH", "sk": "RANGE"}
    user_chats = tables["user_chats"]
    assert key_schema(user_chats["KeySchema"]) == {"user_id": "HASH", "chat_id": "RANGE"}
    local_indexes = {index["IndexName"]: index for index in user_chats["LocalSecondaryIndexes"]}
    assert set(local_indexes) == {"activity_index"}
    activity = local_indexes["activity_index"]
    assert key_schema(activity["KeySchema"]) == {"user_id": "HASH", "activity_at": "RANGE"}
    assert activity["Projection"]["ProjectionType"] == "ALL"
    owed = tables["owed_translations"]
    assert key_schema(owed["KeySchema"]) == {"shard": "HASH", "message_key": "RANGE"}
    (due_index,) = owed["LocalSecondaryIndexes"]
    assert due_index["IndexName"] == "due_index"
    assert key_schema(due_index["KeySchema"]) == {"shard": "HASH", "due_at": "RANGE"}
    assert due_index["Projection"]["ProjectionType"] == "ALL"
    (author_index,) = tables["messages"]["GlobalSecondaryIndexes"]
    assert author_index["IndexName"] == "author_index"
    assert key_schema(author_index["KeySchema"]) == {"from_user_id": "HASH", "sk": "RANGE"}
    assert author_index["Projection"]["ProjectionType"] == "KEYS_ONLY"
    search = tables["search_tokens"]
    assert key_schema(search["KeySchema"]) == {"token_key": "HASH", "found": "RANGE"}

    second = create_tables(environment)
    assert second.returncode == 0, second.stderr
    assert "created" not in second.stdout
    for name in TABLES:
        assert f"exists  {name} (PAY_PER_REQUEST)" in second.stdout
    assert f"{len(TABLES)} tables ACTIVE on {fresh_dynamo}" in second.stdout
    # Nothing was recreated: the tables are the same ones, still on demand.
    for name in TABLES:
        again = describe(client, name)
        assert again["CreationDateTime"] == tables[name]["CreationDateTime"]
        assert_on_demand(again)


def test_development_creates_provisioned_tables(fresh_dynamo):
    result = create_tables(command_environment(fresh_dynamo, "development"))
    assert result.returncode == 0, result.stderr
    for name in TABLES:
        assert f"created {name} (PROVISIONED)" in result.stdout

    client = dynamodb_client(fresh_dynamo)
    assert sorted(client.list_tables()["TableNames"]) == sorted(TABLES)
    for name in TABLES:
        table = describe(client, name)
        assert table["TableStatus"] == "ACTIVE"
        billing = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
        assert billing == "PROVISIONED"
        assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
        assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
    user_chats = describe(client, "user_chats")
    assert [index["IndexName"] for index in user_chats["LocalSecondaryIndexes"]] == [
        "activity_index"
    ]


@pytest.mark.parametrize("environment_name", ["production", "development"])
def test_an_existing_table_gets_the_global_index_it_lacks(fresh_dynamo, environment_name):
    """A `messages` table made before `author_index` existed gets it (backfilled from the
    messages already there), without being recreated."""
    client = dynamodb_client(fresh_dynamo)
    billing = (
        {"BillingMode": "PAY_PER_REQUEST"}
        if environment_name == "production"
        else {"ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}
    )
    client.create_table(
        TableName="messages",
        KeySchema=[
            {"AttributeName": "chat_id", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "chat_id", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        **billing,
    )
    client.put_item(
        TableName="messages",
        Item={"chat_id": {"S": "c1"}, "sk": {"S": "m#000000000001"}, "from_user_id": {"S": "u1"}},
    )
    created_at = describe(client, "messages")["CreationDateTime"]

    result = create_tables(command_environment(fresh_dynamo, environment_name))
    assert result.returncode == 0, result.stderr
    assert "exists  messages" in result.stdout
    assert "added index author_index to messages" in result.stdout
    table = describe(client, "messages")
    assert table["CreationDateTime"] == created_at
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "author_index" and index["IndexStatus"] == "ACTIVE"
    assert key_schema(index["KeySchema"]) == {"from_user_id": "HASH", "sk": "RANGE"}
    found = client.query(
        TableName="messages",
        IndexName="author_index",
        KeyConditionExpression="from_user_id = :u",
        ExpressionAttributeValues={":u": {"S": "u1"}},
    )["Items"]
    assert [item["chat_id"]["S"] for item in found] == ["c1"]

    again = create_tables(command_environment(fresh_dynamo, environment_name))
    assert again.returncode == 0, again.stderr
    assert "added index" not in again.stdout


def test_table_prefix_names_every_table(fresh_dynamo):
    environment = command_environment(fresh_dynamo, "staging", DYNAMODB_TABLE_PREFIX="staging_")
    result = create_tables(environment)
    assert result.returncode == 0, result.stderr
    for name in TABLES:
        assert f"created staging_{name} (PAY_PER_REQUEST)" in result.stdout

    client = dynamodb_client(fresh_dynamo)
    names = client.list_tables()["TableNames"]
    assert sorted(names) == sorted(f"staging_{name}" for name in TABLES)
    for name in names:
        assert_on_demand(describe(client, name))


def test_unreachable_endpoint_fails_with_one_line():
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    result = create_tables(command_environment(endpoint, "production"))
    elapsed = time.monotonic() - started

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: cannot create tables on " + endpoint), lines[0]
    assert "created" not in result.stdout
    assert "ACTIVE" not in result.stdout
    assert elapsed < 20, f"an unreachable endpoint took {elapsed:.1f}s to report"

"""What bench/cost.py prices with: DynamoDB's request-unit rules, its pricing proxy in front of
moto, and the usage the loopback OpenAI fake reports."""

import os

import botocore.session
import pytest
from openai import AsyncOpenAI

from bench.cost import (
    PricingProxy,
    TableSchema,
    index_writes,
    item_size,
    item_write_units,
    keys_only_index_writes,
    number_size,
    read_units,
    write_units,
)
from tests.support.fake_openai import FakeOpenAI

# --- item sizes and units -----------------------------------------------------------------


def test_item_size_counts_names_and_values_as_dynamodb_does():
    assert item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "123"}}) == 1 + 3  # 3 significant digits: 2 bytes + 1
    assert number_size("-1.5000") == 2
    assert item_size({"ok": {"BOOL": True}}) == 2 + 1
    assert item_size({"s": {"SS": ["ab", "c"]}}) == 1 + 3
    # A map: 3 bytes, plus per element 1 byte, its name and its value.
    assert item_size({"m": {"M": {"es": {"S": "hola"}}}}) == 1 + 3 + 1 + 2 + 4
    assert item_size({"l": {"L": [{"S": "x"}, {"N": "7"}]}}) == 1 + 3 + (1 + 1) + (1 + 2)
    assert item_size({"t": {"S": "é"}}) == 1 + 2  # UTF-8 bytes
    assert item_size(None) == 0


def test_units_round_up_per_started_kilobyte_and_four_kilobytes():
    assert [write_units(size) for size in (0, 1, 1024, 1025, 3000)] == [1, 1, 1, 2, 3]
    assert read_units(100, consistent=True) == 1
    assert read_units(100, consistent=False) == 0.5
    assert read_units(4097, consistent=True) == 2


def _row(activity: str, unread: str = "0") -> dict:
    return {
        "user_id": {"S": "u1"},
        "chat_id": {"S": "c1"},
        "activity_at": {"S": activity},
        "unread_count": {"N": unread},
    }


def test_local_index_writes_follow_the_sort_key():
    old, moved, read = _row("2026-01-01"), _row("2026-01-02"), _row("2026-01-01", "3")
    assert index_writes(None, old, "activity_at") == [item_size(old)]  # enters the index
    assert index_writes(old, moved, "activity_at") == [item_size(old), item_size(moved)]
    assert index_writes(old, read, "activity_at") == [item_size(read)]  # projected attribute
    assert index_writes(old, old, "activity_at") == []
    assert index_writes(old, None, "activity_at") == [item_size(old)]  # leaves it
    assert index_writes({"user_id": {"S": "u"}}, None, "activity_at") == []  # never in it


def test_a_keys_only_global_index_is_written_when_an_item_enters_leaves_or_rekeys():
    def message(author: str | None, text: str = "hola") -> dict:
        item = {"chat_id": {"S": "c1"}, "sk": {"S": "m#1"}, "text": {"S": text}}
        return item if author is None else {**item, "from_user_id": {"S": author}}

    keys = {"index_keys": ["from_user_id", "sk"], "table_keys": ["chat_id", "sk"]}
    entry = {"chat_id": {"S": "c1"}, "sk": {"S": "m#1"}, "from_user_id": {"S": "u1"}}
    assert keys_only_index_writes(None, message("u1"), **keys) == [item_size(entry)]
    # A translation added changes no key: nothing written to the index.
    assert keys_only_index_writes(message("u1"), message("u1", "x" * 2000), **keys) == []
    moved = {**entry, "from_user_id": {"S": "deleted"}}
    assert keys_only_index_writes(message("u1"), message("deleted"), **keys) == [
        item_size(entry),
        item_size(moved),
    ]
    assert keys_only_index_writes(message(None), message(None, "y"), **keys) == []  # never in it
    schema = TableSchema(keys=["chat_id", "sk"], global_indexes={"author": ["from_user_id", "sk"]})
    assert item_write_units(None, message("u1"), schema, transactional=True) == (2, 2)


def test_a_transaction_doubles_the_table_and_index_writes():
    schema = TableSchema(keys=["user_id", "chat_id"], local_indexes={"activity": "activity_at"})
    old, moved = _row("2026-01-01"), _row("2026-01-02")
    assert item_write_units(old, moved, schema, transactional=False) == (1, 2)
    assert item_write_units(old, moved, schema, transactional=True) == (2, 4)
    big = {**moved, "preview": {"S": "x" * 1500}}
    assert item_write_units(old, big, schema, transactional=False) == (2, 3)


# --- the proxy, in front of the tests' moto server -------------------------------------------


@pytest.fixture
def proxied_client():
    proxy = PricingProxy(os.environ["DYNAMODB_ENDPOINT"])
    url = proxy.start_in_thread()
    client = botocore.session.get_session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    yield proxy, client
    proxy.stop_in_thread()


def test_the_proxy_prices_writes_and_reads_it_forwards(proxied_client, dynamo_tables):
    proxy, client = proxied_client
    table = f"{dynamo_tables}user_chats"  # keys user_id + chat_id; LSI on activity_at
    client.put_item(TableName=table, Item=_row("2026-01-01"))
    assert proxy.units.wru == {table: 1, f"{table}/index": 1}

    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": {"user_id": {"S": "u1"}, "chat_id": {"S": "c1"}},
                    "UpdateExpression": "SET activity_at = :a",
                    "ExpressionAttributeValues": {":a": {"S": "2026-01-02"}},
                }
            }
        ]
    )
    # Twice (a transaction) one table write and two index writes (the sort key moved).
    assert proxy.units.wru == {table: 1 + 2, f"{table}/index": 1 + 4}
    assert proxy.units.requests == {"PutItem": 1, "TransactWriteItems": 1}

    key = {"user_id": {"S": "u1"}, "chat_id": {"S": "c1"}}
    client.get_item(TableName=table, Key=key, ConsistentRead=True)
    client.get_item(TableName=table, Key=key)
    assert proxy.units.rru == {table: 1.5}

    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(
            TableName=table,
            Item=_row("2026-01-03"),
            ConditionExpression="attribute_not_exists(user_id)",
        )
    assert proxy.units.refused == 1  # billed as if written
    assert proxy.units.wru[table] == 1 + 2 + 1


# --- the fake provider's usage ---------------------------------------------------------------


@pytest.fixture
def fake_openai():
    server = FakeOpenAI()
    server.start()
    yield server
    server.stop()


SYSTEM = "You are a translator from English (en) to Spanish (es)."


async def test_the_fake_reports_about_four_characters_a_token(fake_openai):
    client = AsyncOpenAI(api_key="k", base_url=fake_openai.base_url, max_retries=0)
    text = "x" * 40
    try:
        reply = await client.chat.completions.create(
            model="m",
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
        )
    finally:
        await client.close()
    # "[es] " + 40 characters = 45 characters: 12 tokens. The prompt: 3 to prime the reply,
    # 4 a message, and its characters / 4, rounded up.
    assert reply.usage.completion_tokens == 12
    assert reply.usage.prompt_tokens == 3 + (4 + 14) + (4 + 10)
    assert fake_openai.usage_totals() == {
        "requests": 1,
        "prompt_tokens": 35,
        "completion_tokens": 12,
    }


async def test_a_stream_reports_usage_when_asked_and_is_counted_either_way(fake_openai):
    client = AsyncOpenAI(api_key="k", base_url=fake_openai.base_url, max_retries=0)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "hola"}]
    try:
        asked = await client.chat.completions.create(
            model="m", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in asked]
        plain = await client.chat.completions.create(model="m", messages=messages, stream=True)
        plain_chunks = [chunk async for chunk in plain]
    finally:
        await client.close()
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 3  # "[es] hola"
    assert all(chunk.usage is None for chunk in plain_chunks)
    assert len(chunks) == len(plain_chunks) + 1
    assert fake_openai.usage_totals()["requests"] == 2
    assert fake_openai.usage_totals()["completion_tokens"] == 6

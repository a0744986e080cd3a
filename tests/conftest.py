"""Fresh DynamoDB tables for every test (the servers come from tests/support/pytest_servers.py)."""

import itertools
import os

import pytest

_prefixes = itertools.count()


@pytest.fixture(autouse=True)
def dynamo_tables(settings):
    """Every test gets its own empty tables, under a table prefix of its own."""
    from apps.core.dynamo import (
        dynamo_configure,
        dynamo_table_models,
        dynamo_tables_create,
        dynamo_target_from_settings,
    )

    prefix = f"test{os.getpid()}_{next(_prefixes)}_"
    settings.DYNAMODB_TABLE_PREFIX = prefix
    dynamo_configure(dynamo_target_from_settings())
    dynamo_tables_create(development=True, wait_seconds=30)
    yield prefix
    for model in dynamo_table_models().values():
        model.delete_table()

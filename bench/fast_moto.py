#!/usr/bin/env python3
"""moto's DynamoDB server for benchmarks, with transactions that cost what they touch.

moto makes every TransactWriteItems all-or-nothing by deep-copying each table the
transaction touches, whole, before applying it: a cost that grows with everything stored,
which makes the stand-in, not the application, the bottleneck of a benchmark after a few
thousand messages. Here only the items a transaction touches are copied and put back when it
is cancelled; what a transaction does and when it is cancelled is unchanged. The tests use
the stock server.

    python bench/fast_moto.py -H 127.0.0.1 -p 5000
"""

from __future__ import annotations

import copy
import sys
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_stock_transact_write_items = DynamoDBBackend.transact_write_items


class _TablesNotCopied(types.ModuleType):
    """Stands in for `copy` inside moto's backend module: a Table is not copied whole."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _item_key(table: Table, attributes: dict) -> tuple[DynamoType, DynamoType | None]:
    hash_value = DynamoType(attributes[table.hash_key_attr])
    range_value = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _item_get(table: Table, hash_value, range_value):
    if range_value is None:
        return table.items.get(hash_value)
    return table.items.get(hash_value, {}).get(range_value)


def _item_restore(table: Table, hash_value, range_value, saved) -> None:
    if range_value is None:
        if saved is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = saved
        return
    if saved is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = saved


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict]) -> None:
    saved = []
    for entry in transact_items:
        _, operation = next(iter(entry.items()))
        table = self.tables.get(operation.get("TableName"))
        attributes = operation.get("Item") or operation.get("Key")
        if table is None or not attributes:
            continue
        try:
            hash_value, range_value = _item_key(table, attributes)
        except KeyError:
            continue  # moto's own validation reports it
        saved.append(
            (table, hash_value, range_value, copy.deepcopy(_item_get(table, hash_value, range_value)))
        )
    try:
        _stock_transact_write_items(self, transact_items)
    except Exception:  # cancelled, or refused part-way: nothing may stay applied
        for table, hash_value, range_value, item in reversed(saved):
            _item_restore(table, hash_value, range_value, item)
        raise


def install() -> None:
    dynamodb_models.copy = _TablesNotCopied("copy")
    DynamoDBBackend.transact_write_items = transact_write_items


if __name__ == "__main__":
    install()
    from moto.server import main

    main(sys.argv[1:])

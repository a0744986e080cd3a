"""moto's DynamoDB server, made safe for concurrent transactions (development and tests).

moto makes a TransactWriteItems all-or-nothing by deep-copying every table it touches before
applying it and, when it is cancelled, putting those copies back. Its server handles requests
on several threads, so a cancelled transaction also undoes whatever other requests wrote to
those tables meanwhile (concurrent sends came back with repeated sequence numbers), and the
copying costs time in proportion to everything stored. Here writes are applied one at a time,
as DynamoDB isolates them, and a cancelled transaction puts back only the items it touched.
What a transaction does, and when it is cancelled, is unchanged.

    python -m apps.core.embedded_dynamo -H 127.0.0.1 -p 5000     # a standalone server

`DYNAMODB_ENDPOINT=embedded` runs the same server inside the app's process.
"""

from __future__ import annotations

import copy
import sys
import threading
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_writes = threading.RLock()
_installed = False


class _TablesNotCopied(types.ModuleType):
    """Stands in for `copy` inside moto's backend module: a Table is never copied whole."""

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


def _serialized(method):
    def serialized(self, *args, **kwargs):
        with _writes:
            return method(self, *args, **kwargs)

    # A function takes any attribute; mypy knows only the declared ones.
    serialized.__wrapped__ = method  # type: ignore[attr-defined]
    return serialized


def _transact_write_items(stock):
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict]) -> None:
        with _writes:
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
                before = copy.deepcopy(_item_get(table, hash_value, range_value))
                saved.append((table, hash_value, range_value, before))
            try:
                stock(self, transact_items)
            except Exception:  # cancelled, or refused part-way: nothing may stay applied
                for table, hash_value, range_value, item in reversed(saved):
                    _item_restore(table, hash_value, range_value, item)
                raise

    return transact_write_items


def embedded_dynamo_install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    global _installed
    if _installed:
        return
    dynamodb_models.copy = _TablesNotCopied("copy")
    # Replacing moto's method in this process is the point of this module.
    DynamoDBBackend.transact_write_items = _transact_write_items(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items
    )
    for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
        if hasattr(DynamoDBBackend, name):
            setattr(DynamoDBBackend, name, _serialized(getattr(DynamoDBBackend, name)))
    _installed = True


if __name__ == "__main__":
    embedded_dynamo_install()
    from moto.server import main

    main(sys.argv[1:])

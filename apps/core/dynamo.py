"""Where the PynamoDB models find DynamoDB, and how their tables are created.

Every table model registers itself with `@dynamo_table("users")`. The connection settings
(host, region, credentials, table prefix) come from Django settings and are applied to every
registered model by `dynamo_configure`, which also resets PynamoDB's cached connection so a
test or the embedded server can point the models somewhere new.

Every model talks to DynamoDB through one botocore client, built by `dynamo_configure` (at
process start). Left to itself, PynamoDB 6.1 builds a client per model class, lazily and
without a lock, from a botocore session per thread: on a fresh process each blocking-pool
thread that makes a first call at the same moment builds one more (a reconnect storm built
dozens, for seconds of CPU and hundreds of MB). A botocore client is thread-safe; a session
is not, so the one session here is only used under a lock, to build the client.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import botocore.config
import botocore.session
from botocore.exceptions import ClientError
from django.conf import settings
from pynamodb.connection.base import BOTOCORE_EXCEPTIONS
from pynamodb.exceptions import GetError, TableDoesNotExist
from pynamodb.models import Model

from apps.core.concurrency import BLOCKING_POOL_SIZE

logger = logging.getLogger(__name__)

ModelType = TypeVar("ModelType", bound=type[Model])

# Base table name -> model class that owns the table's schema.
_table_models: dict[str, type[Model]] = {}
# Every model class that reads or writes a table (several may share one table).
_all_models: list[type[Model]] = []

EMBEDDED_CREDENTIALS = ("embedded", "embedded")
DYNAMO_CONNECT_TIMEOUT_SECONDS = 5
DYNAMO_READ_TIMEOUT_SECONDS = 10
# PynamoDB's default: a call is tried at most 1 + 3 times (botocore's standard retry mode).
DYNAMO_MAX_RETRY_ATTEMPTS = 3
# Provisioned capacity for development tables (DynamoDB Local ignores it; AWS would bill it).
DEVELOPMENT_CAPACITY_UNITS = 5
# BatchWriteItem takes at most this many requests at once.
BATCH_WRITE_MAX_ITEMS = 25
# BatchGetItem takes at most this many keys at once, over all its tables.
BATCH_GET_MAX_KEYS = 100
# Keys DynamoDB leaves unprocessed (throttled) are asked again this many times, backing off.
BATCH_GET_UNPROCESSED_ATTEMPTS = 6
BATCH_GET_BACKOFF_SECONDS = 0.05


@dataclass(frozen=True)
class DynamoTarget:
    host: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    session_token: str | None
    table_prefix: str


def dynamo_table(base_name: str, *, owns_schema: bool = True) -> Callable[[ModelType], ModelType]:
    """Register a model as reading and writing the table `base_name` (before the prefix)."""

    def register(model: ModelType) -> ModelType:
        # Meta is the model's own class, open to a key of ours; the stubs know pynamodb's.
        model.Meta.base_table_name = base_name  # type: ignore[attr-defined]
        if owns_schema:
            if base_name in _table_models:
                raise RuntimeError(f"table {base_name!r} already has a schema owner")
            _table_models[base_name] = model
        _all_models.append(model)
        with _configure_lock:
            if _current_target is not None:
                _apply_target(model, _current_target, _current_client)
        return model

    return register


def dynamo_pages_delete(*, connection, read: Callable[[dict | None], dict]) -> None:
    """Delete every item of the pages `read(start_key)` returns (a query or scan asking for
    the key attributes only), a page at a time, in batches."""
    start = None
    while True:
        page = read(start)
        items = page.get("Items", [])
        for offset in range(0, len(items), BATCH_WRITE_MAX_ITEMS):
            connection.batch_write_item(delete_items=items[offset : offset + BATCH_WRITE_MAX_ITEMS])
        start = page.get("LastEvaluatedKey")
        if not start:
            return


@dataclass(frozen=True)
class KeysWanted:
    """Items of one model for `dynamo_items_get`: hash keys, or (hash, range) pairs."""

    model: type[Model]
    keys: Sequence[Any]
    consistent_read: bool = False


def _keys_serialize(wanted: KeysWanted) -> list[dict[str, dict[str, Any]]]:
    """Each of `wanted`'s keys (repeats once) as DynamoDB's wire format names it."""
    attributes = wanted.model.get_attributes().values()
    key_attributes = [a for a in attributes if a.is_hash_key] + [
        a for a in attributes if a.is_range_key
    ]
    serialized = []
    for key in dict.fromkeys(wanted.keys):
        values = (key,) if len(key_attributes) == 1 else key
        serialized.append(
            {
                attribute.attr_name: {attribute.attr_type: attribute.serialize(value)}
                for attribute, value in zip(key_attributes, values, strict=True)
            }
        )
    return serialized


def dynamo_items_get(*wanted: KeysWanted) -> dict[type[Model], list[Model]]:
    """The items of several tables in one BatchGetItem (more when over 100 keys), where
    PynamoDB's `batch_get` makes one request per model. Missing items are left out; keys
    DynamoDB leaves unprocessed are asked again after a back-off. Each model must have a
    table of its own here (the answer is sorted out by table)."""
    by_table = {w.model.Meta.table_name: w for w in wanted if w.keys}
    if len(by_table) != sum(1 for w in wanted if w.keys):
        raise ValueError("dynamo_items_get: two models of one table")
    found: dict[type[Model], list[Model]] = {w.model: [] for w in wanted}
    if not by_table:
        return found
    pending = [(table, key) for table, w in by_table.items() for key in _keys_serialize(w)]
    # Every model shares one botocore client (dynamo_configure); any model's connection will do.
    connection = next(iter(by_table.values())).model._get_connection().connection
    attempts = 0
    while pending:
        page, pending = pending[:BATCH_GET_MAX_KEYS], pending[BATCH_GET_MAX_KEYS:]
        request: dict[str, dict[str, Any]] = {}
        for table, key in page:
            entry = request.setdefault(
                table, {"Keys": [], "ConsistentRead": by_table[table].consistent_read}
            )
            entry["Keys"].append(key)
        try:
            answer = connection.dispatch("BatchGetItem", {"RequestItems": request})
        except BOTOCORE_EXCEPTIONS as error:
            raise GetError(f"Failed to batch get items: {error}", error) from error
        for table, items in answer.get("Responses", {}).items():
            model = by_table[table].model
            found[model].extend(model.from_raw_data(item) for item in items)
        unprocessed = [
            (table, key)
            for table, entry in answer.get("UnprocessedKeys", {}).items()
            for key in entry.get("Keys", [])
        ]
        if unprocessed:
            attempts += 1
            if attempts > BATCH_GET_UNPROCESSED_ATTEMPTS:
                # DynamoDB is throttling: said the way botocore says it, so it is an outage.
                throttled = ClientError(
                    {"Error": {"Code": "ProvisionedThroughputExceededException"}}, "BatchGetItem"
                )
                raise GetError("Failed to batch get items: keys left unprocessed", throttled)
            time.sleep(BATCH_GET_BACKOFF_SECONDS * 2 ** (attempts - 1))
            pending = unprocessed + pending
    return found


def dynamo_table_models() -> dict[str, type[Model]]:
    return dict(_table_models)


_current_target: DynamoTarget | None = None
_current_client = None
_configure_lock = threading.Lock()
_botocore_session: botocore.session.Session | None = None
_embedded_lock = threading.Lock()
_embedded_server = None


def _client_build(target: DynamoTarget):
    """A botocore DynamoDB client for `target`, configured as PynamoDB would configure it
    from the models' Meta. Called with _configure_lock held."""
    global _botocore_session
    if _botocore_session is None:
        # One session for the process: it caches the service model, so building a client
        # for another target (tests do) does not read botocore's data files again.
        _botocore_session = botocore.session.get_session()
    credentials = {}
    if target.access_key_id and target.secret_access_key:
        # Otherwise botocore's usual chain (environment, IAM role) finds them.
        credentials = {
            "aws_access_key_id": target.access_key_id,
            "aws_secret_access_key": target.secret_access_key,
            "aws_session_token": target.session_token,
        }
    return _botocore_session.create_client(
        "dynamodb",
        target.region,
        endpoint_url=target.host,
        config=botocore.config.Config(
            parameter_validation=False,  # as PynamoDB: the models validate
            connect_timeout=DYNAMO_CONNECT_TIMEOUT_SECONDS,
            read_timeout=DYNAMO_READ_TIMEOUT_SECONDS,
            # One pooled HTTP connection per blocking-pool thread: every DynamoDB call runs there.
            max_pool_connections=BLOCKING_POOL_SIZE,
            retries={"total_max_attempts": 1 + DYNAMO_MAX_RETRY_ATTEMPTS, "mode": "standard"},
        ),
        **credentials,
    )


def _apply_target(model: type[Model], target: DynamoTarget, client) -> None:
    meta = model.Meta
    meta.table_name = f"{target.table_prefix}{meta.base_table_name}"  # type: ignore[attr-defined]  # set by the registration above
    meta.host = target.host
    meta.region = target.region
    meta.aws_access_key_id = target.access_key_id
    meta.aws_secret_access_key = target.secret_access_key
    meta.aws_session_token = target.session_token
    meta.max_pool_connections = BLOCKING_POOL_SIZE
    meta.connect_timeout_seconds = DYNAMO_CONNECT_TIMEOUT_SECONDS
    meta.read_timeout_seconds = DYNAMO_READ_TIMEOUT_SECONDS
    meta.max_retry_attempts = DYNAMO_MAX_RETRY_ATTEMPTS
    model._connection = None
    # PynamoDB builds the model's connection from Meta (sending nothing); it then uses the
    # shared client instead of building one of its own. Transactions take this connection.
    model._get_connection().connection._client = client


def dynamo_configure(target: DynamoTarget) -> None:
    """Point every registered model at `target`, through one shared botocore client (a
    no-op when they already are: building a client anew is slow)."""
    global _current_target, _current_client
    with _configure_lock:
        if target == _current_target:
            return
        client = _client_build(target)
        for model in _all_models:
            _apply_target(model, target, client)
        _current_target, _current_client = target, client


def dynamo_client():
    """The botocore client every model uses (None before `dynamo_configure`)."""
    return _current_client


def dynamo_target_from_settings() -> DynamoTarget:
    endpoint = settings.DYNAMODB_ENDPOINT
    if endpoint == settings.DYNAMODB_EMBEDDED:
        host = embedded_dynamo_start()
        access_key_id, secret_access_key = EMBEDDED_CREDENTIALS
        session_token = None
    else:
        host = endpoint
        # Passed only when set, so that an IAM role or the usual AWS chain works otherwise.
        access_key_id = settings.AWS_ACCESS_KEY_ID
        secret_access_key = settings.AWS_SECRET_ACCESS_KEY
        session_token = settings.AWS_SESSION_TOKEN
    return DynamoTarget(
        host=host,
        region=settings.AWS_REGION,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        session_token=session_token,
        table_prefix=settings.DYNAMODB_TABLE_PREFIX,
    )


def dynamo_configure_from_settings() -> None:
    dynamo_configure(dynamo_target_from_settings())
    if settings.DYNAMODB_ENDPOINT == settings.DYNAMODB_EMBEDDED:
        # The embedded server starts empty with every process.
        dynamo_tables_create(development=True, wait_seconds=30)


def embedded_dynamo_start() -> str:
    """Start moto's DynamoDB-compatible server on a free loopback port, once per process."""
    global _embedded_server
    with _embedded_lock:
        if _embedded_server is None:
            try:
                from moto.server import ThreadedMotoServer

                from apps.core.embedded_dynamo import embedded_dynamo_install
            except ImportError as error:  # pragma: no cover - depends on the install
                from apps.core.config_errors import ConfigurationError

                raise ConfigurationError(
                    "DYNAMODB_ENDPOINT=embedded needs the development requirements "
                    "(pip install -r requirements-dev.txt)"
                ) from error
            embedded_dynamo_install()
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            _embedded_server = server
            host, port = server.get_host_and_port()
            logger.info("embedded DynamoDB-compatible server on http://%s:%s", host, port)
        host, port = _embedded_server.get_host_and_port()
        return f"http://{host}:{port}"


# --- Table creation ------------------------------------------------------------------------


@dataclass(frozen=True)
class TableOutcome:
    table_name: str
    created: bool
    billing_mode: str
    # Global indexes added to a table that existed without them.
    indexes_added: tuple[str, ...] = ()


def dynamo_tables_create(*, development: bool, wait_seconds: float = 120) -> list[TableOutcome]:
    """Create every registered table that is missing, add the global indexes an existing
    table lacks, then wait until all are ACTIVE (a new index on a full table is backfilled
    first, which takes a while on a large one).

    Development tables use provisioned throughput (as DynamoDB Local expects); every other
    environment uses on-demand billing for tables and their global indexes.
    """
    outcomes = []
    for model in _table_models.values():
        if model.exists():
            billing_mode = dynamo_table_billing_mode(model)
            added = _global_indexes_add(model=model, billing_mode=billing_mode)
            outcomes.append(TableOutcome(model.Meta.table_name, False, billing_mode, added))
            continue
        if development:
            model.create_table(
                billing_mode="PROVISIONED",
                read_capacity_units=DEVELOPMENT_CAPACITY_UNITS,
                write_capacity_units=DEVELOPMENT_CAPACITY_UNITS,
            )
            billing_mode = "PROVISIONED"
        else:
            model.create_table(billing_mode="PAY_PER_REQUEST")
            billing_mode = "PAY_PER_REQUEST"
        outcomes.append(TableOutcome(model.Meta.table_name, True, billing_mode))
    _tables_wait_active(wait_seconds)
    return outcomes


def _global_indexes_add(*, model: type[Model], billing_mode: str) -> tuple[str, ...]:
    """Create the model's global indexes that its existing table lacks (a table created
    before the index was declared), one UpdateTable each, as DynamoDB allows one at a time.
    DynamoDB backfills each from the items already there."""
    schema = model._get_schema()
    wanted = schema["global_secondary_indexes"]
    if not wanted:
        return ()
    description = model.describe_table()
    present = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
    added = []
    for index in wanted:
        if index["index_name"] in present:
            continue
        create: dict = {
            "IndexName": index["index_name"],
            "KeySchema": index["key_schema"],
            "Projection": index["projection"],
        }
        if billing_mode == "PROVISIONED":
            create["ProvisionedThroughput"] = {
                "ReadCapacityUnits": DEVELOPMENT_CAPACITY_UNITS,
                "WriteCapacityUnits": DEVELOPMENT_CAPACITY_UNITS,
                **index.get("provisioned_throughput", {}),
            }
        model._get_connection().connection.dispatch(
            "UpdateTable",
            {
                "TableName": description["TableName"],
                "AttributeDefinitions": index["attribute_definitions"],
                "GlobalSecondaryIndexUpdates": [{"Create": create}],
            },
        )
        added.append(index["index_name"])
        # The next index waits until this one is built (one index creation at a time).
        _index_wait_active(model=model, index_name=index["index_name"])
    return tuple(added)


def _index_wait_active(*, model: type[Model], index_name: str, wait_seconds: float = 600) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        indexes = model.describe_table().get("GlobalSecondaryIndexes", [])
        status = next((i.get("IndexStatus") for i in indexes if i["IndexName"] == index_name), None)
        if status in (None, "ACTIVE") or time.monotonic() > deadline:
            return
        time.sleep(1)


def dynamo_table_billing_mode(model: type[Model]) -> str:
    description = model.describe_table()
    summary = description.get("BillingModeSummary") or {}
    return summary.get("BillingMode", "PROVISIONED")


def _tables_wait_active(wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        tables = dynamo_tables_status()
        if tables.ready:
            return
        if time.monotonic() > deadline:
            names = ", ".join(tables.missing + tables.inactive)
            raise TimeoutError(f"tables not ACTIVE after {wait_seconds:.0f}s: {names}")
        time.sleep(1)


@dataclass(frozen=True)
class TablesStatus:
    """Which registered tables (full names) cannot serve yet."""

    missing: list[str]
    # They exist, but they or one of their indexes are not ACTIVE yet.
    inactive: list[str]

    @property
    def ready(self) -> bool:
        return not self.missing and not self.inactive


def dynamo_tables_status() -> TablesStatus:
    """Is every registered table there and ACTIVE, indexes included? One DescribeTable per
    table; any other failure (DynamoDB unreachable) is raised."""
    missing, inactive = [], []
    for model in _table_models.values():
        try:
            description = model.describe_table()
        except TableDoesNotExist:
            missing.append(model.Meta.table_name)
            continue
        indexes_active = all(
            index.get("IndexStatus", "ACTIVE") == "ACTIVE"
            for index in description.get("GlobalSecondaryIndexes", [])
        )
        if description.get("TableStatus") != "ACTIVE" or not indexes_active:
            inactive.append(model.Meta.table_name)
    return TablesStatus(missing=missing, inactive=inactive)

"""Where the PynamoDB models find DynamoDB, and how their tables are created.

Every table model registers itself with `@dynamo_table("users")`. The connection settings
(host, region, credentials, table prefix) come from Django settings and are applied to every
registered model by `dynamo_configure`, which also resets PynamoDB's cached connection so a
test or the embedded server can point the models somewhere new.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from pynamodb.models import Model

from apps.core.concurrency import BLOCKING_POOL_SIZE

logger = logging.getLogger(__name__)

ModelType = TypeVar("ModelType", bound=type[Model])

# Base table name -> model class that owns the table's schema.
_table_models: dict[str, type[Model]] = {}
# Every model class that reads or writes a table (several may share one table).
_all_models: list[type[Model]] = []

EMBEDDED_CREDENTIALS = ("embedded", "embedded")
# Provisioned capacity for development tables (DynamoDB Local ignores it; AWS would bill it).
DEVELOPMENT_CAPACITY_UNITS = 5


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
        model.Meta.base_table_name = base_name
        if owns_schema:
            if base_name in _table_models:
                raise RuntimeError(f"table {base_name!r} already has a schema owner")
            _table_models[base_name] = model
        _all_models.append(model)
        if _current_target is not None:
            _apply_target(model, _current_target)
        return model

    return register


def dynamo_table_models() -> dict[str, type[Model]]:
    return dict(_table_models)


_current_target: DynamoTarget | None = None
_embedded_lock = threading.Lock()
_embedded_server = None


def _apply_target(model: type[Model], target: DynamoTarget) -> None:
    meta = model.Meta
    meta.table_name = f"{target.table_prefix}{meta.base_table_name}"
    meta.host = target.host
    meta.region = target.region
    meta.aws_access_key_id = target.access_key_id
    meta.aws_secret_access_key = target.secret_access_key
    meta.aws_session_token = target.session_token
    meta.max_pool_connections = BLOCKING_POOL_SIZE
    meta.connect_timeout_seconds = 5
    meta.read_timeout_seconds = 10
    model._connection = None


def dynamo_configure(target: DynamoTarget) -> None:
    """Point every registered model at `target` (a no-op when they already are: building
    botocore clients anew is slow)."""
    global _current_target
    if target == _current_target:
        return
    _current_target = target
    for model in _all_models:
        _apply_target(model, target)


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
                from commonality.config_errors import ConfigurationError

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


def dynamo_tables_create(*, development: bool, wait_seconds: float = 120) -> list[TableOutcome]:
    """Create every registered table that is missing, then wait until all are ACTIVE.

    Development tables use provisioned throughput (as DynamoDB Local expects); every other
    environment uses on-demand billing for tables and their global indexes.
    """
    outcomes = []
    for model in _table_models.values():
        if model.exists():
            outcomes.append(
                TableOutcome(model.Meta.table_name, False, dynamo_table_billing_mode(model))
            )
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


def dynamo_table_billing_mode(model: type[Model]) -> str:
    description = model.describe_table()
    summary = description.get("BillingModeSummary") or {}
    return summary.get("BillingMode", "PROVISIONED")


def _tables_wait_active(wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    pending = list(_table_models.values())
    while pending:
        pending = [model for model in pending if not _table_is_active(model)]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(model.Meta.table_name for model in pending)
            raise TimeoutError(f"tables not ACTIVE after {wait_seconds:.0f}s: {names}")
        time.sleep(1)


def _table_is_active(model: type[Model]) -> bool:
    description = model.describe_table()
    if description.get("TableStatus") != "ACTIVE":
        return False
    return all(
        index.get("IndexStatus", "ACTIVE") == "ACTIVE"
        for index in description.get("GlobalSecondaryIndexes", [])
    )

"""Shared plumbing for the operations commands (`manage.py users`, `chat_show`, ...)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandError

from apps.core.errors import ServiceError


@contextmanager
def command_errors(action: str) -> Iterator[None]:
    """Turn what a service or DynamoDB raises into one-line CommandErrors (exit 1)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    try:
        yield
    except ServiceError as error:
        raise CommandError(f"cannot {action}: {error.detail}") from None
    except (PynamoDBException, BotoCoreError, ClientError) as error:
        raise CommandError(f"cannot {action}: DynamoDB: {dynamo_error_reason(error)}") from None


NO_CREDENTIALS = "no AWS credentials"


def dynamo_error_reason(error: BaseException) -> str:
    from botocore.exceptions import ClientError, NoCredentialsError

    cause = error
    while (deeper := getattr(cause, "cause", None) or cause.__cause__) is not None:
        cause = deeper
    if isinstance(cause, NoCredentialsError):
        return NO_CREDENTIALS
    if isinstance(cause, ClientError):
        details = cause.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".strip(": ")
    return (str(cause) or type(cause).__name__).splitlines()[0]


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; the last column is not padded."""
    cells = [list(map(str, headers))] + [
        ["" if cell is None else str(cell) for cell in row] for row in rows
    ]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    lines = []
    for row in cells:
        padded = [cell.ljust(widths[column]) for column, cell in enumerate(row[:-1])]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)

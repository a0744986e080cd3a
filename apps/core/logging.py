"""Structured logs: a request id on every record, JSON lines in production, no secrets.

`settings.LOGGING` wires these up:

- `RequestIdFilter` puts `record.request_id` on every record: the id of the HTTP request being
  served (set by `apps.core.middleware.request_id_middleware` in a context variable, so it
  follows the request into `run_blocking` threads), or "-" outside a request.
- `JsonFormatter` writes one JSON object per line (`timestamp`, `level`, `logger`, `message`,
  `request_id`, then `exception` and any `extra=` fields); `PlainFormatter` writes text.
  `LOG_FORMAT` picks one (JSON outside development by default).
- Both formatters pass the finished text through `log_redact`, which masks what must never
  reach a log: `token=` / `ticket=` / `password=` query values, `Bearer` credentials, JWTs,
  and passwords inside Redis URLs. Code must still not log secrets or message text; this is
  the net under it.

`daphne_access_log_install` routes Daphne's access log (which it otherwise writes straight to
stdout, with the full URL, `?token=...` included) through the `daphne.access` logger, with
the query string removed.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

from apps.core.daphne_patches import daphne_patch

REQUEST_ID_HEADER = "X-Request-ID"
NO_REQUEST_ID = "-"
REQUEST_ID_MAX_LENGTH = 128
# What a client may send as its own X-Request-ID: visible ASCII without spaces, quotes or
# anything a log viewer might interpret; anything else is replaced by a generated id.
_REQUEST_ID_PATTERN = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,%d}" % (REQUEST_ID_MAX_LENGTH - 1)
)

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "commonality_request_id", default=NO_REQUEST_ID
)


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_from_header(value: str | None) -> str:
    """The client's X-Request-ID when it is sane, else a new id."""
    if value:
        value = value.strip()
        if _REQUEST_ID_PATTERN.fullmatch(value):
            return value
    return request_id_new()


# --- Redaction ---------------------------------------------------------------------------

REDACTED = "[redacted]"
SENSITIVE_NAMES = (
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "ticket",
    "password",
    "passwd",
    "secret",
    "api_key",
    "apikey",
    "signature",
    "authorization",
)
_names = "|".join(sorted(SENSITIVE_NAMES, key=len, reverse=True))
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer <credential> (first, so the scheme is not taken for the value)
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1 " + REDACTED),
    # A JWT anywhere (three base64url parts, the first a JSON header).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # redis://user:password@host, rediss://default:password@host
    (re.compile(r"(rediss?://[^:@/\s]*:)[^@/\s]+@", re.IGNORECASE), r"\1" + REDACTED + "@"),
    # ?token=abc&ticket=def  ->  ?token=[redacted]&ticket=[redacted]
    (re.compile(r"([?&;](?:%s)=)[^&;#\s\"'<>]*" % _names, re.IGNORECASE), r"\1" + REDACTED),
    # "password": "x y", 'token': 'y' (JSON bodies, dict reprs): the whole quoted value
    (
        re.compile(
            r"""((?<![A-Za-z0-9_])["']?(?:%s)["']?\s*[:=]\s*)(["'])(?:\\.|(?!\2).)*\2""" % _names,
            re.IGNORECASE,
        ),
        r"\1\2" + REDACTED + r"\2",
    ),
    # password=x, token: y (unquoted key=value text)
    (
        re.compile(
            r"""((?<![A-Za-z0-9_])(?:%s)\s*[:=]\s*)(?!["']|\[redacted\])[^"',;&\s}\]]+""" % _names,
            re.IGNORECASE,
        ),
        r"\1" + REDACTED,
    ),
)


def log_redact(text: str) -> str:
    """`text` with credentials masked (see the module docstring)."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def path_without_query(path: str) -> str:
    return path.split("?", 1)[0]


# --- Filter and formatters -----------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": log_redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        if record.exc_info:
            entry["exception"] = log_redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = log_redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = log_redact(self.formatStack(record.stack_info))
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRIBUTES and not name.startswith("_") and name not in entry:
                entry[name] = log_redact(value) if isinstance(value, str) else value
        return json.dumps(entry, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """Text for people: `time level logger [request id] message`."""

    default_format = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

    def __init__(self, fmt: str | None = None, *args, **kwargs) -> None:
        super().__init__(fmt or self.default_format, *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return log_redact(super().format(record))


# --- Daphne's access log -----------------------------------------------------------------

access_logger = logging.getLogger("daphne.access")


def daphne_access_log_install() -> None:
    """Send Daphne's access log through logging, without query strings (idempotent).

    HTTP requests are logged by the request id middleware (with their request id), so
    Daphne's line for them goes out at DEBUG; socket events at INFO.
    """
    daphne_patch("access-log", _access_log_through_logging)


def _access_log_through_logging() -> None:
    from daphne.access import AccessLogGenerator

    def access_log(self, protocol, action, details):
        path = path_without_query(str(details.get("path") or ""))
        client = details.get("client") or "-"
        if protocol == "http" and action == "complete":
            access_logger.debug(
                "%s %s %s",
                details.get("method"),
                path,
                details.get("status"),
                extra={"client": client, "status": details.get("status")},
            )
        elif protocol == "websocket":
            access_logger.info("websocket %s %s", action, path, extra={"client": client})

    AccessLogGenerator.__call__ = access_log

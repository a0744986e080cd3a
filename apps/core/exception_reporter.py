"""What Django's debug page (DEBUG, development only) and its error reports may show.

Django's own filter hides settings whose names look secret (API, AUTH, TOKEN, KEY, SECRET,
PASS, SIGNATURE), but shows REDIS_URL with its password, a DYNAMODB_ENDPOINT with user:password,
the same URLs inside CHANNEL_LAYERS, and every local variable of the failing frames. This one
also hides the provider and Redis settings whole, the userinfo of any URL anywhere, and what
apps/core/logging.py masks in log lines (bearer tokens, JWTs, ?token=, "password": ...).
The reporter applies the same masking to the request URL, its query parameters and the
exception's message, which Django prints as they are.
"""

from __future__ import annotations

import re
from pprint import pformat

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from apps.core.logging import log_redact

# scheme://user:password@host -> scheme://********************@host, for any scheme.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/@\s'\"]+@", re.IGNORECASE)


class _Shown:
    """A frame variable as the page prints it (Django pretty-prints each value with pformat,
    which uses this repr), already masked."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class CredentialHidingExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|TICKET|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL"
        "|REDIS|LIVEKIT|ELEVENLABS|OPENAI|DATABASE_URL",
        flags=re.IGNORECASE,
    )

    def text_masked(self, text: str) -> str:
        text = _URL_USERINFO.sub(rf"\g<scheme>{self.cleansed_substitute}@", text)
        return log_redact(text)

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return self.text_masked(cleansed)
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        shown: list[tuple[str, str | _Shown]] = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if isinstance(value, str) and value == self.cleansed_substitute:
                shown.append((name, value))
                continue
            try:
                text = pformat(value)
            except Exception:  # a broken __repr__ must not hide the real error
                text = f"<{type(value).__name__} that cannot be shown>"
            shown.append((name, _Shown(self.text_masked(text))))
        return shown


class CredentialHidingExceptionReporter(ExceptionReporter):
    def get_traceback_data(self):
        data = super().get_traceback_data()
        # settings.DEFAULT_EXCEPTION_REPORTER_FILTER names CredentialHidingFilter.
        masked = self.filter.text_masked  # type: ignore[attr-defined]
        for key in ("request_insecure_uri", "exception_value", "exception_notes"):
            if isinstance(data.get(key), str):
                data[key] = masked(data[key])
        if "request_GET_items" in data:
            data["request_GET_items"] = [
                (name, self.filter.cleanse_setting(name, value))
                for name, value in data["request_GET_items"]
            ]
        return data

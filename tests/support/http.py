"""Plain HTTP calls to a running server (Daphne in a child process, benchmarks)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def http_json(
    base: str, method: str, path: str, body: dict | None = None, token: str | None = None
) -> tuple[int, dict | list]:
    """(status, decoded JSON reply); an HTTP error status is returned, not raised."""
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def http_post(base: str, path: str, body: dict, token: str | None = None) -> dict:
    """The reply of a POST that must succeed."""
    status, reply = http_json(base, "POST", path, body, token=token)
    if status >= 400:
        raise AssertionError(f"POST {path} answered {status}: {reply}")
    return reply


def signup(base: str, username: str, language: str, password: str = "a long password") -> str:
    """A new user's access token."""
    return http_post(
        base,
        "/api/auth/signup",
        {
            "username": username,
            "password": password,
            "first_name": username.title(),
            "last_name": "Test",
            "native_language": language,
        },
    )["access_token"]

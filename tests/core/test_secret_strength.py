"""commonality/secret_strength.py: generated secrets always pass, typed-in patterns never do."""

from __future__ import annotations

import base64
import os
import secrets

import pytest

from commonality.secret_strength import (
    SECRET_MIN_ESTIMATED_BITS,
    secret_estimated_bits,
    secret_repeated_run,
    secret_weakness,
)


@pytest.fixture(autouse=True)
def dynamo_tables():
    """Pure functions: no tables needed."""
    yield None


SAMPLES = 20_000


def test_generated_secrets_always_pass():
    """`openssl rand -base64 32`, `secrets.token_urlsafe(32)` and `openssl rand -hex 32`: the
    estimate is about 180 bits at the lowest, and a repeated 10-character run has odds near
    1e-16 (base64) or 1e-9 (hex) per secret."""
    for _ in range(SAMPLES):
        random_bytes = os.urandom(32)
        assert secret_weakness(base64.b64encode(random_bytes).decode()) is None
        assert secret_weakness(secrets.token_urlsafe(32)) is None
        assert secret_weakness(random_bytes.hex()) is None


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("a" * 32, "predictable"),
        ("abc" * 11, "predictable"),
        ("password" * 4, "predictable"),
        ("0123456789" * 4, "repeats"),
        ("abcdefghijklmnop" * 2, "repeats"),
        ("Tr0ub4dor&3-Tr0ub4dor&3-Tr0ub4dor&3", "predictable"),
        ("q9Xv2mB7rT4kL1pZ8wN3sC6yH0dF5gJ", "at least 32"),
        ("Change-Me", "known default"),
    ],
)
def test_weak_secrets_are_refused_with_a_reason_that_does_not_quote_them(secret, reason):
    weakness = secret_weakness(secret, known_defaults=frozenset({"change-me"}))
    assert weakness is not None and reason in weakness
    assert secret not in weakness


def test_thirty_two_hex_characters_are_below_the_bar():
    # 128 random bits at best, which HS256 (a 256-bit key, RFC 7518 3.2) does not want.
    assert secret_estimated_bits(secrets.token_hex(16)) < SECRET_MIN_ESTIMATED_BITS


def test_estimated_bits():
    assert secret_estimated_bits("") == 0
    assert secret_estimated_bits("a" * 40) == 0
    assert secret_estimated_bits("ab" * 16) == 32
    assert secret_estimated_bits("abcd" * 8) == 64


def test_repeated_run_counts_overlapping_runs():
    assert secret_repeated_run("x" * 11)
    assert not secret_repeated_run("x" * 10)
    assert not secret_repeated_run("0123456789abcdefghij")

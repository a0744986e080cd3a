"""How a deploy's secrets are judged strong enough: simple rules an operator can check by
hand, which every generated secret (`openssl rand -base64 32`, `secrets.token_urlsafe(32)`,
`openssl rand -hex 32`) passes and typed-in ones ("a" * 32, a word repeated) do not."""

from __future__ import annotations

import math
from collections import Counter

SECRET_MIN_LENGTH = 32
# HS256 wants a key as long as its hash (RFC 7518 section 3.2, 256 bits); a secret must at
# least look like half of that once its characters are counted.
SECRET_MIN_ESTIMATED_BITS = 128
# A random 44-character secret repeats a 10-character run with odds near 1e-16; a word typed
# twice, or a short pattern repeated to reach the length, always does.
SECRET_REPEATED_RUN_LENGTH = 10


def secret_estimated_bits(secret: str) -> float:
    """Length times the Shannon entropy of the secret's own character frequencies.

    An upper bound on what the secret could hold if each character were drawn independently
    from exactly the characters it uses: "a" * 32 gives 0, "abc" * 11 about 52, "password" * 4
    about 88, 44 base64 characters from `openssl rand` about 200.
    """
    length = len(secret)
    if not length:
        return 0.0
    return -sum(count * math.log2(count / length) for count in Counter(secret).values())


def secret_repeated_run(secret: str, *, run_length: int = SECRET_REPEATED_RUN_LENGTH) -> bool:
    """True when some `run_length` characters appear twice (overlapping runs count)."""
    seen: set[str] = set()
    for start in range(len(secret) - run_length + 1):
        run = secret[start : start + run_length]
        if run in seen:
            return True
        seen.add(run)
    return False


def secret_weakness(secret: str, *, known_defaults: frozenset[str] = frozenset()) -> str | None:
    """Why `secret` is unfit for a deploy, or None. The reason never quotes the secret."""
    if secret.lower() in known_defaults:
        return "is a known default value"
    if len(secret) < SECRET_MIN_LENGTH:
        return f"must be at least {SECRET_MIN_LENGTH} characters"
    if secret_estimated_bits(secret) < SECRET_MIN_ESTIMATED_BITS:
        return (
            f"is too predictable: its characters carry under {SECRET_MIN_ESTIMATED_BITS} bits "
            "(too few distinct characters, or too few of them)"
        )
    if secret_repeated_run(secret):
        return (
            f"repeats a run of {SECRET_REPEATED_RUN_LENGTH} characters "
            "(a word or pattern typed more than once)"
        )
    return None

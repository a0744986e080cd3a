"""What text the API accepts, in one place.

- Any text field (`text_validate`): no unpaired UTF-16 surrogates (JSON's "\\ud800" escape
  decodes to one; it cannot be encoded to UTF-8, so DynamoDB, Redis and every reply would
  fail on it), and no control characters except tab, line feed and carriage return (NUL,
  the other C0 controls, DEL and the C1 controls mean nothing in chat text and confuse logs,
  terminals and C-string consumers). Both are refused with 422, never silently changed, so a
  client learns its text was broken.
- Names and titles shown beside other people's words (`display_text_clean`) also lose the
  bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which
  can make a name render as someone else's or reorder the text around it; tab and line
  breaks become spaces. Those are stripped rather than refused: they are invisible, and the
  name that remains is what the person sees anyway. The directional marks LRM, RLM and ALM
  (U+200E, U+200F, U+061C) stay: they reorder nothing beyond a neutral character and are
  sometimes needed to write an Arabic or Hebrew name correctly.
- Usernames (`username_normalize`): ASCII letters, digits, '.', '-' and '_' only, stored
  lower-case, so a look-alike (Cyrillic 'а', full-width 'ａ') can never sit beside a name.
"""

from __future__ import annotations

import re

from apps.core.errors import InvalidInput

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_LINE_CONTROL = re.compile(r"[\t\n\r]")
USERNAME_PATTERN = re.compile(r"[a-z0-9._-]+")


def has_unpaired_surrogate(value: str) -> bool:
    # json.loads joins a valid escaped pair into one character, so any surrogate left is unpaired.
    return _SURROGATE.search(value) is not None


def text_problem(value: str) -> str | None:
    """Why `value` is not acceptable text, or None when it is."""
    match = _FORBIDDEN.search(value)
    if match is None:
        return None
    if "\ud800" <= match.group() <= "\udfff":
        return "must not contain unpaired surrogates"
    return "must not contain control characters"


def text_validate(*, value: str, field: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInput(f"{field} {problem}")
    return value


def display_text_clean(*, value: str, field: str) -> str:
    """A name or title as it will be shown: valid text, one line, no bidi overrides, trimmed."""
    text_validate(value=value, field=field)
    value = _BIDI_CONTROLS.sub("", value)
    return _LINE_CONTROL.sub(" ", value).strip()


def username_normalize(*, value: str) -> str | None:
    """The username as stored (lower-case ASCII), or None if it has any other character.

    ASCII is checked before lower-casing: "K" (the Kelvin sign) lower-cases to an ASCII "k"."""
    if not value.isascii():
        return None
    lowered = value.lower()
    return lowered if USERNAME_PATTERN.fullmatch(lowered) else None

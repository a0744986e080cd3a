"""The shared text rules (apps/core/text.py)."""

import pytest

from apps.core.errors import InvalidInput
from apps.core.text import (
    display_text_clean,
    has_unpaired_surrogate,
    text_problem,
    text_validate,
    username_normalize,
)


def test_ordinary_text_in_any_script_with_line_breaks_is_fine():
    for value in ("hello", "línea 1\nlínea 2\ttab\r\n", "日本語 😀", "مرحبا\u200f", ""):
        assert text_problem(value) is None, value
        assert text_validate(value=value, field="text") == value


def test_unpaired_surrogates_are_refused_but_astral_characters_are_not():
    for value in ("\ud800", "a\udfffb", "\ud83d", "\ude00x"):
        assert has_unpaired_surrogate(value)
        with pytest.raises(InvalidInput) as refused:
            text_validate(value=value, field="text")
        assert refused.value.detail == "text must not contain unpaired surrogates"
    assert not has_unpaired_surrogate("\U0001f600")


def test_control_characters_other_than_tab_and_line_breaks_are_refused():
    for control in ("\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"):
        with pytest.raises(InvalidInput) as refused:
            text_validate(value=f"a{control}b", field="title")
        assert refused.value.detail == "title must not contain control characters"


def test_display_text_loses_bidi_controls_and_line_breaks():
    assert display_text_clean(value="  \u202eevil\u202c  ", field="name") == "evil"
    assert display_text_clean(value="\u2066a\u2067b\u2068c\u2069", field="name") == "abc"
    assert display_text_clean(value="\u202a\u202b\u202dx", field="name") == "x"
    assert display_text_clean(value="Mary\nAnn\tLee", field="name") == "Mary Ann Lee"
    # Directional marks stay: a right-to-left name may need them.
    assert display_text_clean(value="\u05d3\u05df\u200e", field="name") == "\u05d3\u05df\u200e"
    with pytest.raises(InvalidInput):
        display_text_clean(value="a\x00b", field="name")


def test_usernames_are_lower_case_ascii_and_look_alikes_are_refused():
    assert username_normalize(value="Alice.B-c_9") == "alice.b-c_9"
    for refused in (
        "\u0430lice",  # Cyrillic a
        "\uff41\uff4c\uff49\uff43\uff45",  # full-width
        "\u212aelvin",  # Kelvin sign, which lower-cases to an ASCII k
        "\u0130stanbul",  # dotted capital I
        "jos\u00e9",
        "bad name",
        "a\x00b",
        "",
    ):
        assert username_normalize(value=refused) is None, refused

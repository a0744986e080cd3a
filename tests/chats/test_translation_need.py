"""Which texts need no translation, and the key of the shared short-text cache."""

import pytest

from apps.chats.translation_need import (
    SHORT_TEXT_MAX_CHARS,
    linguistic_text,
    short_text_cache_key,
    translation_needed,
)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "👍",
        "😂😂😂",
        "❤️",
        "👍🏽",
        "👨‍👩‍👧",
        "🇪🇸🇧🇷",
        "!!!",
        "...?",
        "。！？、",
        "«»¿¡",
        "12",
        "666",
        "١٢٣",
        "18:00 👌",
        "3,50 €",
        "https://maps.example.com/?q=Alfama,Lisboa",
        "www.example.com/menu",
        "(https://example.com)",
        "@sam",
        "@sam 😂😂",
        "🍕 19:00 @lena @bia @haruto",
        "`pip install py3langid`",
        '```for f in *.jpg; do echo "$f"; done```',
        "```\nselect *\nfrom chats\n```",
        "`x` → https://example.com 👀",
    ],
)
def test_text_without_letters_once_links_mentions_and_code_are_set_aside_needs_no_translation(text):
    assert translation_needed(text=text) is False


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "ok 👍",
        "ㅋㅋㅋ",
        "草",
        "ｗｗｗ",
        "3 pm",
        "شكراً",
        "धन्यवाद 🙏",
        "@sam thanks",
        "look https://example.com",
        "write to ana@example.com",
        "`unclosed code",
        "📎 chapter3.pdf",
    ],
)
def test_one_letter_outside_links_mentions_and_code_needs_a_translation(text):
    assert translation_needed(text=text) is True


def test_linguistic_text_keeps_the_words_around_what_it_removes():
    text = "@sam look https://example.com and run `make test` 👍"

    assert linguistic_text(text=text).split() == ["look", "and", "run", "👍"]


def test_an_email_address_is_no_mention():
    assert linguistic_text(text="write to ana@example.com").split() == [
        "write",
        "to",
        "ana@example.com",
    ]


def _key(text, source="es", target="en"):
    return short_text_cache_key(text=text, source=source, target=target)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ok", "OK"),
        ("ok", "  ok \n"),
        ("gracias totales", "Gracias   totales"),
        ("okkk", "okkkkkkk"),
        ("jajajaaa", "jajajaaaaaaa"),
        ("ㅋㅋㅋ", "ㅋㅋㅋㅋㅋㅋ"),
        ("www", "ｗｗｗ"),
        ("vale!!!", "vale!!!!!!"),
    ],
)
def test_cache_key_folds_case_spacing_width_and_long_runs(first, second):
    assert _key(first) is not None
    assert _key(first) == _key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ok", "ok?"),
        ("ok", "ok 👍"),
        ("ok 👍", "ok 👎"),
        ("ㅋㅋ", "ㅋㅋㅋ"),
        ("jaja", "jajaja"),
        ("2 min", "5 min"),
    ],
)
def test_cache_key_keeps_what_a_reader_would_see_differ(first, second):
    assert _key(first) != _key(second)


def test_cache_key_is_per_language_pair_and_direction():
    assert _key("ok", "es", "en") != _key("ok", "en", "es")
    assert _key("ok", "es", "en") != _key("ok", "es", "fr")


def test_cache_key_holds_no_message_text():
    key = _key("gracias")

    assert key is not None
    assert "gracias" not in key
    assert key.startswith("short-translation:v1:es:en:")


@pytest.mark.parametrize(
    "text",
    [
        "yes, that one",
        "see you at Nico's",
        "ab" * SHORT_TEXT_MAX_CHARS,
        "どういたしまして",
        "那我们十点见？",
        "ok " * 1000,
    ],
)
def test_no_cache_key_when_the_conversation_could_change_the_translation(text):
    assert _key(text) is None


@pytest.mark.parametrize(
    "text", ["ありがとう", "了解です", "谢谢", "草", "شكراً", "thanks", "see you", "mdr"]
)
def test_short_texts_in_any_script_have_a_cache_key(text):
    assert _key(text) is not None


@pytest.mark.parametrize("text", ["", "👍", "https://example.com", "@sam", "12:30"])
def test_no_cache_key_for_text_that_needs_no_translation(text):
    assert _key(text) is None

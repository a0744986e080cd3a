"""How text and queries become search tokens (apps/chats/search_tokens.py)."""

from apps.chats.search_tokens import (
    TOKENS_PER_TEXT_MAX,
    search_tokens,
    text_normalize,
    token_hash,
    token_matches,
)


def test_words_are_casefolded_without_accents_and_split_on_punctuation():
    assert search_tokens("¡Mañana, en el CAFÉ! Straße-Überweg") == [
        "manana",
        "en",
        "el",
        "cafe",
        "strasse",
        "uberweg",
    ]


def test_one_character_words_and_repeats_are_dropped():
    assert search_tokens("a b I am a cat, a cat") == ["am", "cat"]


def test_words_keep_digits_and_drop_underscores():
    assert search_tokens("room_42 at 10:30") == ["room", "42", "at", "10", "30"]


def test_scripts_without_spaces_give_character_pairs():
    assert search_tokens("東京都に行く") == ["東京", "京都", "都に", "に行", "行く"]
    assert search_tokens("猫") == ["猫"]
    assert search_tokens("สวัสดีครับ")[:2] == ["สว", "วั"]
    # Mixed with spaced words, each part by its own rule.
    assert search_tokens("Tokyo東京 trip") == ["tokyo", "東京", "trip"]


def test_marks_that_are_part_of_a_letter_stay():
    # Devanagari vowel signs are combining marks but not accents: "किताब" keeps them.
    assert text_normalize("किताब") != "कतब"
    assert search_tokens("किताब") == [text_normalize("किताब")]
    # Greek and Cyrillic lose accents like Latin.
    assert search_tokens("Καλημέρα ёлка") == ["καλημερα", "елка"]


def test_a_text_gives_at_most_the_cap_of_tokens_the_first_ones():
    text = " ".join(f"word{n}" for n in range(100))
    tokens = search_tokens(text)
    assert len(tokens) == TOKENS_PER_TEXT_MAX
    assert tokens[0] == "word0"
    assert search_tokens(text, limit=3) == ["word0", "word1", "word2"]


def test_a_query_is_tokenized_like_the_text_it_should_find():
    text = "Nos vemos mañana en la Biblioteca"
    for query in ("MANANA", "mañana", "biblioteca!"):
        assert set(search_tokens(query)) <= set(search_tokens(text))


def test_token_matches_and_hashes():
    assert token_matches("Café", ["cafe"])
    assert not token_matches("Cafeteria", ["cafe"])
    assert token_hash("cafe") == token_hash("cafe")
    assert token_hash("cafe") != token_hash("cafes")
    assert len(token_hash("cafe")) == 16
    assert "cafe" not in token_hash("cafe")

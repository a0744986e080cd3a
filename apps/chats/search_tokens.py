"""How message text and search queries become search tokens, the same way for both.

- NFKD, then the accents of Latin, Greek and Cyrillic letters dropped ("Café" -> "cafe"), then
  casefolded ("Straße" -> "strasse").
- Split on anything that is not a letter or digit; tokens of one character are dropped.
- Scripts written without spaces (Chinese, Japanese kana, Thai, Lao, Khmer, Myanmar) give
  overlapping character pairs ("東京都" -> "東京", "京都"); a lone such character is a token.
- At most `TOKENS_PER_TEXT_MAX` distinct tokens per text, the first ones: an index write per
  token and reader is the cost of search (README "Search").

Tokens are stored only as `token_hash`, never as words. Pure functions: nothing here reads or
writes anything.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable

TOKENS_PER_TEXT_MAX = 40
TOKEN_MAX_CHARS = 40


# Ranges of scripts written without spaces between words.
_UNSPACED = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x2FA1F),  # CJK extensions B onwards
)
# Letters whose combining marks are accents to drop (Latin, Greek, Cyrillic); elsewhere a
# combining mark is part of the letter (Devanagari vowel signs, Thai vowels) and stays.
_ACCENTED_SCRIPTS_END = 0x0530


def _word_char(char: str) -> bool:
    # Letters and digits, and the marks that belong to them (Thai vowels, Devanagari signs).
    return char.isalnum() or unicodedata.category(char).startswith("M")


def word_spans(text: str) -> Iterable[tuple[int, int]]:
    """Where the words of `text` are: runs of letters, digits and marks."""
    start = None
    for index, char in enumerate(text):
        if _word_char(char):
            if start is None:
                start = index
        elif start is not None:
            yield start, index
            start = None
    if start is not None:
        yield start, len(text)


def char_unspaced(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _UNSPACED)


def text_normalize(text: str) -> str:
    """Decomposed, without Latin/Greek/Cyrillic accents, casefolded."""
    kept: list[str] = []
    base = 0
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(char):
            if base < _ACCENTED_SCRIPTS_END:
                continue
        else:
            base = ord(char)
        kept.append(char)
    return "".join(kept).casefold()


def _word_tokens(word: str) -> Iterable[str]:
    run: list[str] = []
    spaced: list[str] = []

    def flush_run() -> Iterable[str]:
        if len(run) == 1:
            yield run[0]
        for index in range(len(run) - 1):
            yield run[index] + run[index + 1]
        run.clear()

    def flush_spaced() -> Iterable[str]:
        if len(spaced) > 1:
            yield "".join(spaced)[:TOKEN_MAX_CHARS]
        spaced.clear()

    for char in word:
        if char_unspaced(char):
            yield from flush_spaced()
            run.append(char)
        else:
            yield from flush_run()
            spaced.append(char)
    yield from flush_spaced()
    yield from flush_run()


def search_tokens(text: str, *, limit: int = TOKENS_PER_TEXT_MAX) -> list[str]:
    """The distinct tokens of `text`, in order of appearance, at most `limit`."""
    tokens: dict[str, None] = {}
    normalized = text_normalize(text)
    for start, end in word_spans(normalized):
        word = normalized[start:end]
        for token in _word_tokens(word):
            tokens.setdefault(token)
            if len(tokens) >= limit:
                return list(tokens)
    return list(tokens)


def token_matches(word: str, tokens: Iterable[str]) -> bool:
    """Does a word of a text (as written) hold one of the search `tokens`? For highlighting."""
    own = set(search_tokens(word))
    return any(token in own for token in tokens)


def token_hash(token: str) -> str:
    """What the index stores for a token: 16 hex digits of its BLAKE2b hash, so that the words
    people wrote are not spelled out in the index's keys (and every key has the same length)."""
    return hashlib.blake2b(token.encode(), digest_size=8).hexdigest()

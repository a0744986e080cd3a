"""Whether a message needs a translation at all, and the key of the shared short-text cache.

Pure functions of the text: no I/O, no settings.

**No translation needed** (`translation_needed` is False) when nothing is left to read in a
language once links (`https://…`, `www.…`), @mentions, code (``` fenced ``` or `inline`),
emoji, punctuation, symbols, numbers and whitespace are taken away: no character of Unicode
category L (letter) remains. Such a message reads the same in every language, so it is
delivered as written with no provider request. One letter is enough to need a translation:
"ok 👍", "ㅋㅋㅋ", "3 pm" and "📎 chapter3.pdf" all go on to the cache and the provider (a
short word is exactly what the shared cache is for). An e-mail address keeps its letters
(the @ in it is not a mention), since it usually comes with words around it.

**Short-text cache key** (`short_text_cache_key`): repeated short messages ("ok", "thanks",
"jajaja", "mdr", "ㅋㅋㅋ", "草") are translated once per language pair and shared by every chat.
That is only right when the conversation cannot change the translation, so a key exists only
for texts of at most two words and 24 characters (5 for Chinese or Japanese, which write a
word in one or two characters and no spaces: "ありがとう" has a key, "どういたしまして" not).
Even two words can lean on the conversation ("that one" is "ese" or "esa"), but such texts
are rare among the repeated ones and a wrong gender in two words costs less than a provider
call for every "see you". What the key folds together changes no meaning and only the style of
what a reader sees:
- Unicode compatibility forms (NFKC: full-width "ｗｗｗ" is "www") and letter case ("OK" is
  "ok"): the provider would answer both alike, up to capitals.
- Runs of whitespace, and leading and trailing whitespace.
- Runs of more than three of one character, cut to three ("jajajaaaaa", "okkkkk", "ㅋㅋㅋㅋㅋ",
  "!!!!!"): the length of a run is emphasis, not meaning, and without the cut every length
  would be its own entry. Three, not one or two: "www", "ㅋㅋㅋ" and "zzz" are words at three.
What the key keeps: punctuation and emoji ("ok?" asks, "ok" answers; "ok 👍" shows the 👍, and
the cached reply is shown as is, so a reader must never get another sender's emoji), digits,
and the pair of languages. The text is hashed into the key so no message text sits in Redis
key names (which monitoring tools and slow logs print); the version prefix retires old entries
when these rules change.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# A link runs to the next whitespace; closing punctuation stuck to it is no letter anyway.
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# Not preceded by a word character, so the @ of an e-mail address is no mention.
_MENTION = re.compile(r"(?<![\w@])@[\w.-]+")
_CODE_FENCED = re.compile(r"```.*?```", re.DOTALL)
_CODE_INLINE = re.compile(r"`[^`\n]+`")
_WHITESPACE = re.compile(r"\s+")
# Four or more of the same character (letters, emoji, punctuation alike).
_LONG_RUN = re.compile(r"(.)\1{3,}", re.DOTALL)
# Han ideographs and kana: Chinese and Japanese write without spaces.
_HAN_OR_KANA = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")

SHORT_TEXT_MAX_WORDS = 2
SHORT_TEXT_MAX_CHARS = 24
SHORT_TEXT_MAX_CHARS_HAN_OR_KANA = 5
SHORT_TEXT_KEY_PREFIX = "short-translation:v1"


def linguistic_text(*, text: str) -> str:
    """`text` without its links, mentions and code (each replaced by a space): what is left to
    read in some language. Emoji, digits and punctuation stay; they are not letters."""
    for pattern in (_CODE_FENCED, _CODE_INLINE, _URL, _MENTION):
        text = pattern.sub(" ", text)
    return text


def has_letter(text: str) -> bool:
    return any(unicodedata.category(character).startswith("L") for character in text)


def translation_needed(*, text: str) -> bool:
    """False when `text` reads the same in every language (see the module's docstring)."""
    return has_letter(linguistic_text(text=text))


def short_text_normalize(*, text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _WHITESPACE.sub(" ", text).strip()
    return _LONG_RUN.sub(lambda run: run.group(1) * 3, text)


def short_text_cache_key(*, text: str, source: str, target: str) -> str | None:
    """The shared cache's key for translating `text` from `source` to `target`, or None when
    the text is too long for the conversation not to matter, or needs no translation at all."""
    if not translation_needed(text=text):
        return None
    normalized = short_text_normalize(text=text)
    max_chars = (
        SHORT_TEXT_MAX_CHARS_HAN_OR_KANA
        if _HAN_OR_KANA.search(normalized)
        else SHORT_TEXT_MAX_CHARS
    )
    if len(normalized) > max_chars or normalized.count(" ") >= SHORT_TEXT_MAX_WORDS:
        return None
    digest = hashlib.sha256(normalized.encode()).hexdigest()
    return f"{SHORT_TEXT_KEY_PREFIX}:{source}:{target}:{digest}"

"""The language a message is actually written in, among the ten a person can choose.

A Spanish speaker writing English to an English friend wrote English: translating that "from
Spanish" gives noise, and the English reader needs no translation at all. The sender's profile
language is the fallback, used whenever the text does not say clearly enough:
- fewer than `DETECTION_MIN_LETTERS` letters in Latin script once links, mentions, code, emoji,
  digits and punctuation are set aside ("ok", "mdr", "www", "3 pm"): too little to tell;
- only Han characters from a Chinese or Japanese sender ("草", "大丈夫", "日本語上手！"): the
  two languages share them, and the detector cannot tell a Japanese phrase without kana from
  Chinese. From anyone else, the detector's answer, but never confident for
  `HAN_ONLY_GUESS_MAX_LETTERS` letters or fewer (longer Han-only text is Chinese in practice);
- the detector's highest confidence below `DETECTION_CONFIDENCE_MIN`.
Text whose letters are all in a script only one of the ten languages uses (Hangul; kana, with
or without Han; Devanagari; Arabic) is that language, without asking the detector, from the
first letter: "ㅋㅋㅋ" is Korean whoever sends it.

Only the first `DETECTION_MAX_CHARS` characters are read: the detector's work grows with the
text, and a few hundred characters settle the language of a chat message.

The detector is py3langid (langid.py's naive Bayes model over byte n-grams, with probabilities
normalised over the ten languages). `bench/language_detection.py` measured it against lingua
(lingua-language-detector, high and low accuracy modes) and langdetect on
`bench/corpus/chat_turns.json` under these same rules. It decided best (98% of turns) and
was confidently wrong least (0.4% of turns, against 2.9% for lingua's high accuracy mode):
the harmful mistake, since a reader of the wrongly detected language gets the original
untranslated, where an unsure turn only costs a request from the sender's language, as
before. Lingua's high accuracy mode got two more of the 67 turns not in the sender's language
right, with about twice the memory (160-260 MB against 90 MB per process) and twice the time;
langdetect and lingua's low accuracy mode were far less accurate. The same run chose
`DETECTION_CONFIDENCE_MIN`. It is built once per process, on first use or by
`language_detector_warm()` (under half a second), under a lock so two threads never build it
twice; once built, it only reads its model, so threads can share it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apps.accounts.languages import LANGUAGES
from apps.chats.translation_need import linguistic_text

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

DETECTION_MAX_CHARS = 400
DETECTION_MIN_LETTERS = 4
DETECTION_CONFIDENCE_MIN = 0.6
# A send trusts a detection over the sender's own language only from this confidence: a wrong
# one leaves the readers of the language detected with the untranslated original ("Hello
# all" from an English speaker reads as Spanish at 0.72). On bench/corpus/chat_turns.json it
# overrules the sender rightly on 56 turns and wrongly on 1, against 60 and 2 at 0.6.
SENDER_LANGUAGE_OVERRULE_CONFIDENCE_MIN = 0.8
HAN_ONLY_GUESS_MAX_LETTERS = 3

# Links and code are cut out before the text is bounded, from at most this much of it, so a
# long link at the start does not use up the characters the language is read from.
_DETECTION_SCAN_CHARS = 4 * DETECTION_MAX_CHARS

# Letters of a script that, among the ten, one language alone uses (Japanese writes Han with
# its kana). Text whose letters are all of one of these needs no detector.
_SCRIPTS_OF_ONE_LANGUAGE = (
    ("ko", re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af\uffa0-\uffdc]")),
    ("ja", re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("ar", re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")),
)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_LANGUAGES = frozenset({"zh", "ja"})


@dataclass(frozen=True)
class DetectedLanguage:
    code: str
    # False when `code` is the fallback, or a guess between languages the text cannot separate.
    confident: bool


_detector: LanguageIdentifier | None = None
_detector_lock = threading.Lock()


def _detector_build() -> LanguageIdentifier:
    # Imported here: numpy and the model cost nothing to a process that never detects.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    detector = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    detector.set_languages([language.code for language in LANGUAGES])
    return detector


def language_detector() -> LanguageIdentifier:
    global _detector
    detector = _detector
    if detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = _detector_build()
            detector = _detector
    return detector


def language_detector_warm() -> None:
    """Builds the detector now, so the first message does not wait for it."""
    language_detector()


def language_detector_ready() -> bool:
    """Whether the detector is built: detecting then takes microseconds, not half a second."""
    return _detector is not None


_warming: threading.Thread | None = None


def language_detector_warm_in_background() -> None:
    """Start building the detector in a thread of its own, once, and return at once: a
    warm-up step (apps/core/warmup.py) runs on the serving loop, which must not stop for the
    half second the model takes to load. Sends before it is built detect on the blocking pool
    (sending.language_written) and wait for the same build under the lock."""
    global _warming
    if _detector is not None or _warming is not None:
        return
    _warming = threading.Thread(
        target=language_detector_warm, name="language-detector-warm", daemon=True
    )
    _warming.start()


def detection_sample(*, text: str) -> str:
    """What the detector reads of `text`: no links, mentions or code, at most
    `DETECTION_MAX_CHARS` characters."""
    return linguistic_text(text=text[:_DETECTION_SCAN_CHARS])[:DETECTION_MAX_CHARS]


def _letters(text: str) -> str:
    return "".join(c for c in text if unicodedata.category(c).startswith("L"))


def _ranking(sample: str) -> list[tuple[str, float]]:
    return [(code, float(confidence)) for code, confidence in language_detector().rank(sample)]


def language_detect(
    *, text: str, fallback: str, confidence_min: float = DETECTION_CONFIDENCE_MIN
) -> DetectedLanguage:
    """The language `text` is written in, or `fallback` (the sender's language), not
    confident, when the text does not say clearly enough (see the module's docstring)."""
    return language_detect_by(
        text=text,
        fallback=fallback,
        ranking=_ranking,
        confidence_min=confidence_min,
    )


def language_detect_by(
    *,
    text: str,
    fallback: str,
    ranking: Callable[[str], list[tuple[str, float]]],
    confidence_min: float,
) -> DetectedLanguage:
    """`language_detect` with any detector: `ranking` gives (code, confidence) pairs, best
    first, for a sample of text. The benchmark runs each library it compares through this, so
    they are measured under the same rules as the one in use."""
    unsure = DetectedLanguage(code=fallback, confident=False)
    sample = detection_sample(text=text)
    letters = _letters(sample)
    if not letters:
        return unsure
    only_han = all(_HAN.match(letter) for letter in letters)
    if only_han and fallback in _HAN_LANGUAGES:
        return unsure
    for code, script in _SCRIPTS_OF_ONE_LANGUAGE:
        in_script = sum(1 for letter in letters if script.match(letter))
        if code == "ja" and in_script:
            in_script += sum(1 for letter in letters if _HAN.match(letter))
        if in_script == len(letters):
            return DetectedLanguage(code=code, confident=True)
    if not only_han and len(letters) < DETECTION_MIN_LETTERS:
        return unsure
    ranked = ranking(sample)
    if not ranked:
        return unsure
    code, confidence = ranked[0]
    if confidence < confidence_min:
        return unsure
    han_guess = only_han and len(letters) <= HAN_ONLY_GUESS_MAX_LETTERS
    return DetectedLanguage(code=code, confident=not han_guess)

"""The language a message is written in, with the real detector (py3langid), no stand-ins."""

import threading

import pytest

from apps.chats import language_detection
from apps.chats.language_detection import (
    DETECTION_MAX_CHARS,
    DetectedLanguage,
    language_detect,
    language_detector,
)

# One clear chat sentence per language; the fallback is always another language, so a pass
# means the text was read, not the sender's language returned.
CLEAR_SENTENCES = [
    ("en", "did you finish the slides for tomorrow's meeting?", "es"),
    ("es", "¿Dónde nos quedamos al final? Yo llego el viernes por la tarde", "en"),
    ("fr", "Tu viens à la soirée samedi ? Il y aura aussi ma sœur", "de"),
    ("de", "Wer hat Lust, am Samstag zusammen das Spiel zu schauen?", "fr"),
    ("pt", "Pessoal, já compraram as passagens para Lisboa?", "es"),
    ("zh", "要不要今晚一起在图书馆做作业？", "en"),
    ("ja", "新しいカフェができたから一緒に行かない？", "zh"),
    ("ko", "다들 과제 어디까지 했어?", "ja"),
    ("ar", "مين بيحضر الاجتماع اليوم؟", "en"),
    ("hi", "अगला मैच रविवार को है, साथ में देखेंगे", "en"),
]


@pytest.mark.parametrize(("written", "text", "fallback"), CLEAR_SENTENCES)
def test_a_clear_sentence_is_detected_in_each_language(written, text, fallback):
    assert language_detect(text=text, fallback=fallback) == DetectedLanguage(
        code=written, confident=True
    )


def test_a_spanish_speakers_english_is_english():
    detected = language_detect(text="did you finish the slides?", fallback="es")

    assert detected == DetectedLanguage(code="en", confident=True)


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "mdr",
        "👍",
        "😂😂😂",
        "https://maps.example.com/?q=Alfama,Lisboa",
        "@sam",
        "18:00 👌",
        "`pytest -q tests/chats`",
        "",
        "   ",
    ],
)
def test_short_or_non_linguistic_text_falls_back_to_the_senders_language(text):
    assert language_detect(text=text, fallback="pt") == DetectedLanguage(code="pt", confident=False)


def test_a_word_of_fewer_letters_than_the_minimum_is_not_trusted():
    # The detector alone would say Portuguese, confidently, of two letters of French.
    assert language_detect(text="ça", fallback="fr") == DetectedLanguage(code="fr", confident=False)


@pytest.mark.parametrize(
    ("text", "fallback"), [("no rush", "de"), ("Claro", "pt"), ("Claro", "es")]
)
def test_ambiguous_text_falls_back_and_is_not_confident(text, fallback):
    assert language_detect(text=text, fallback=fallback) == DetectedLanguage(
        code=fallback, confident=False
    )


@pytest.mark.parametrize("text", ["草", "大丈夫", "了解", "日本語上手！"])
def test_han_only_text_keeps_a_chinese_or_japanese_senders_language(text):
    assert language_detect(text=text, fallback="ja") == DetectedLanguage(code="ja", confident=False)
    assert language_detect(text=text, fallback="zh") == DetectedLanguage(code="zh", confident=False)


def test_short_han_only_text_from_anyone_else_is_a_guess_never_confident():
    assert language_detect(text="大丈夫", fallback="en") == DetectedLanguage(
        code="zh", confident=False
    )


@pytest.mark.parametrize(
    ("text", "written"),
    [("ㅋㅋㅋ", "ko"), ("ㅇㅋ", "ko"), ("はい", "ja"), ("ठीक", "hi"), ("تمام", "ar")],
)
def test_a_script_only_one_language_uses_decides_from_the_first_letter(text, written):
    assert language_detect(text=text, fallback="en") == DetectedLanguage(
        code=written, confident=True
    )


def test_links_mentions_and_code_are_not_read_as_language():
    text = (
        "@jonas schau mal hier, das ist der Fehler von gestern "
        "https://example.com/the-quick-brown-fox-jumps-over-the-lazy-dog-every-single-day "
        "`this function returns the value of the field`"
    )

    assert language_detect(text=text, fallback="en") == DetectedLanguage(code="de", confident=True)


def test_only_the_first_characters_are_read():
    english = "we are meeting at the station at ten, see you there and bring the tickets. "
    german = "Wir treffen uns um zehn am Bahnhof, bis dann und bring bitte die Fahrkarten mit. "
    text = english * (DETECTION_MAX_CHARS // len(english) + 1) + german * 20

    assert language_detect(text=text, fallback="fr") == DetectedLanguage(code="en", confident=True)


def test_the_detector_is_built_once_however_many_threads_ask(monkeypatch):
    monkeypatch.setattr(language_detection, "_detector", None)
    detectors = []
    threads = [
        threading.Thread(target=lambda: detectors.append(language_detector())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(detectors) == 8
    assert all(detector is detectors[0] for detector in detectors)


def test_the_warm_up_builds_the_detector_in_a_thread_of_its_own_once(monkeypatch):
    monkeypatch.setattr(language_detection, "_detector", None)
    monkeypatch.setattr(language_detection, "_warming", None)
    assert not language_detection.language_detector_ready()

    language_detection.language_detector_warm_in_background()
    warming = language_detection._warming
    language_detection.language_detector_warm_in_background()

    assert warming is not None
    assert warming is not threading.current_thread()
    assert language_detection._warming is warming  # started once
    warming.join(timeout=30)
    assert language_detection.language_detector_ready()


def test_the_detector_warm_up_is_a_registered_warm_up_step():
    from apps.core import warmup

    assert language_detection.language_detector_warm_in_background in warmup._warm_up_steps

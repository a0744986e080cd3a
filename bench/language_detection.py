#!/usr/bin/env python3
"""Which language detector to use: accuracy on short chat turns in the ten languages, the
"unsure" rate, time per call and memory. Prints figures.

    .venv/bin/python bench/language_detection.py
    .venv/bin/python bench/language_detection.py --repeat 5 --sweep

Reads bench/corpus/chat_turns.json and keeps the turns written in one of the ten languages
(not the mixed turns, not Hindi in Latin letters, not those with no language at all). Each
library runs in a child process of its own, so its memory is measured alone: RSS growth while
it loads (VmRSS before and after building it, warm) and peak RSS. Each library is run through
`apps.chats.language_detection.language_detect_by`, the rules the app uses (too few letters,
Han-only text from a Chinese or Japanese sender, a confidence under the threshold: the
sender's language), restricted to the ten languages, and also asked bare:
- raw: the library's best answer among the ten for every turn, no rules, no threshold;
- decided: the answer the app would use (the library's, or the sender's language when unsure);
- unsure: the share of turns where the rules or the threshold fell back to the sender;
- sure+wrong: the share decided confidently and wrongly, the harmful kind: a reader of the
  wrong language would get the original untranslated (an unsure turn only costs a request
  that reads the text as the sender's language, as today);
- µs/call: mean time of one decision (rules included), over --repeat passes of the corpus.
Chinese shows 100% unsure by design: Chinese is written in Han characters only, and Han-only
text from a Chinese or Japanese sender keeps the sender's language (correct for every Chinese
turn here). "sender" is the baseline: always the sender's profile language (what is done today).

The comparison libraries are not project dependencies (lingua alone is 96 MB installed, which
every CI run would download); install them to compare, and the bench skips any that is absent:

    .venv/bin/pip install lingua-language-detector==2.1.1 langdetect==1.0.9

Libraries: lingua (lingua-language-detector, high accuracy mode and low accuracy mode, models
preloaded), py3langid (normalised probabilities), langdetect (seeded, only the ten
languages' profiles loaded). With --sweep, prints each library's decided accuracy and unsure
rate for thresholds 0.1 to 0.9, which is how the thresholds below were chosen.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "bench" / "corpus" / "chat_turns.json"
CODES = ("en", "es", "fr", "de", "pt", "zh", "ja", "ko", "ar", "hi")
# Each library's confidence threshold, chosen with --sweep (highest decided accuracy; the
# lower threshold when two tie). py3langid's is the app's DETECTION_CONFIDENCE_MIN.
LIBRARY_MODULES = {
    "lingua": "lingua",
    "lingua-low": "lingua",
    "py3langid": "py3langid",
    "langdetect": "langdetect",
}
THRESHOLDS = {"lingua": 0.4, "lingua-low": 0.9, "py3langid": 0.6, "langdetect": 0.9}
SWEEP = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

Ranking = Callable[[str], list[tuple[str, float]]]


def turns_labelled() -> list[dict]:
    turns = json.loads(CORPUS.read_text())["turns"]
    return [
        turn
        for turn in turns
        if turn["written_language"] is not None
        and not turn.get("also_written")
        and turn.get("script") is None
    ]


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def lingua_ranking(low_accuracy: bool) -> Ranking:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in CODES]
    builder = LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models()
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    detector = builder.build()

    def ranking(sample: str) -> list[tuple[str, float]]:
        return [
            (value.language.iso_code_639_1.name.lower(), value.value)
            for value in detector.compute_language_confidence_values(sample)
        ]

    return ranking


def py3langid_ranking() -> Ranking:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(CODES))

    def ranking(sample: str) -> list[tuple[str, float]]:
        return [(code, float(p)) for code, p in identifier.rank(sample)]

    return ranking


def langdetect_ranking() -> Ranking:
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    factory = DetectorFactory()
    names = [c for c in CODES if c != "zh"] + ["zh-cn", "zh-tw"]
    factory.load_json_profile([Path(PROFILES_DIRECTORY, name).read_text() for name in names])
    factory.set_seed(0)

    def ranking(sample: str) -> list[tuple[str, float]]:
        detector = factory.create()
        detector.append(sample)
        try:
            found = detector.get_probabilities()
        except LangDetectException:
            return []
        merged: dict[str, float] = {}
        for language in found:
            code = language.lang.split("-")[0]
            merged[code] = merged.get(code, 0.0) + language.prob
        return sorted(merged.items(), key=lambda item: -item[1])

    return ranking


LIBRARIES: dict[str, Callable[[], Ranking]] = {
    "lingua": lambda: lingua_ranking(low_accuracy=False),
    "lingua-low": lambda: lingua_ranking(low_accuracy=True),
    "py3langid": py3langid_ranking,
    "langdetect": langdetect_ranking,
}


def measure(library: str, repeat: int) -> dict:
    """Runs in the child process: loads one library, decides every turn, times it."""
    from apps.chats.language_detection import detection_sample, language_detect_by

    turns = turns_labelled()
    before = rss_kib()
    started = time.perf_counter()
    ranking = LIBRARIES[library]()
    ranking("warm up: the first call may load what the build did not")
    load_seconds = time.perf_counter() - started
    growth = rss_kib() - before

    raw = [(ranking(detection_sample(text=t["text"])) or [("", 0.0)])[0] for t in turns]
    per_threshold = {}
    for threshold in sorted({THRESHOLDS[library], *SWEEP}):
        per_threshold[str(threshold)] = [
            language_detect_by(
                text=t["text"],
                fallback=t["sender_language"],
                ranking=ranking,
                confidence_min=threshold,
            )
            for t in turns
        ]
    threshold = THRESHOLDS[library]
    started = time.perf_counter()
    for _ in range(repeat):
        for t in turns:
            language_detect_by(
                text=t["text"],
                fallback=t["sender_language"],
                ranking=ranking,
                confidence_min=threshold,
            )
    microseconds = (time.perf_counter() - started) / (repeat * len(turns)) * 1e6
    return {
        "raw": [code for code, _ in raw],
        "decided": {
            key: [[d.code, d.confident] for d in decisions]
            for key, decisions in per_threshold.items()
        },
        "us_per_call": microseconds,
        "load_seconds": load_seconds,
        "rss_growth_mib": growth / 1024,
        "peak_rss_mib": peak_rss_kib() / 1024,
    }


def share(hits: int, total: int) -> str:
    return f"{100 * hits / total:5.1f}%" if total else "    - "


def report(results: dict[str, dict], sweep: bool) -> None:
    turns = turns_labelled()
    written = [t["written_language"] for t in turns]
    other = sum(t["written_language"] != t["sender_language"] for t in turns)
    print(
        f"corpus: {len(turns)} labelled turns in 10 languages "
        f"({other} not in the sender's language); {CORPUS.relative_to(ROOT)}"
    )
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print()
    header = f"{'library':<11} {'threshold':>9} {'µs/call':>8} {'load s':>6} {'RSS +MiB':>8} {'peak MiB':>8}"
    print(header)
    for library, result in results.items():
        print(
            f"{library:<11} {THRESHOLDS[library]:>9} {result['us_per_call']:>8.0f} "
            f"{result['load_seconds']:>6.2f} {result['rss_growth_mib']:>8.0f} {result['peak_rss_mib']:>8.0f}"
        )
    print()
    columns = " ".join(f"{code:>6}" for code in CODES)
    print(f"{'':<22} {columns} {'all':>6}")
    sender = [t["sender_language"] for t in turns]
    rows = [("sender", "decided", sender, None)]
    for library, result in results.items():
        decided = result["decided"][str(THRESHOLDS[library])]
        rows.append((library, "raw", result["raw"], None))
        rows.append((library, "decided", [code for code, _ in decided], None))
        rows.append((library, "unsure", None, [not confident for _, confident in decided]))
        wrong = [
            confident and code != w for (code, confident), w in zip(decided, written, strict=True)
        ]
        rows.append((library, "sure+wrong", None, wrong))
    for library, kind, answers, unsure in rows:
        cells = []
        for code in (*CODES, None):
            picked = [i for i, w in enumerate(written) if code is None or w == code]
            if answers is not None:
                cells.append(share(sum(answers[i] == written[i] for i in picked), len(picked)))
            else:
                assert unsure is not None
                cells.append(share(sum(unsure[i] for i in picked), len(picked)))
        print(f"{library:<11} {kind:<10} " + " ".join(f"{c:>6}" for c in cells))
    print()
    other_rows = [i for i, t in enumerate(turns) if t["written_language"] != t["sender_language"]]
    print(f"turns not in the sender's language ({len(other_rows)}), decided accuracy:")
    for library, result in results.items():
        decided = result["decided"][str(THRESHOLDS[library])]
        hits = sum(decided[i][0] == written[i] for i in other_rows)
        print(f"  {library:<11} {share(hits, len(other_rows))}")
    if sweep:
        print()
        print("threshold sweep: decided accuracy / unsure rate, all labelled turns")
        print(f"{'':<11} " + " ".join(f"{t:>13}" for t in SWEEP))
        for library, result in results.items():
            cells = []
            for threshold in SWEEP:
                decided = result["decided"][str(threshold)]
                hits = sum(code == w for (code, _), w in zip(decided, written, strict=True))
                unsure_count = sum(not confident for _, confident in decided)
                cells.append(f"{share(hits, len(turns))}/{share(unsure_count, len(turns))}")
            print(f"{library:<11} " + " ".join(f"{c:>13}" for c in cells))


def errors_print(results: dict[str, dict]) -> None:
    turns = turns_labelled()
    for library, result in results.items():
        decided = result["decided"][str(THRESHOLDS[library])]
        print()
        print(f"{library}: wrong decisions (written, sender -> decided)")
        for turn, (code, _) in zip(turns, decided, strict=True):
            if code != turn["written_language"]:
                print(
                    f"  {turn['written_language']} {turn['sender_language']} -> {code}  {turn['text']}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the corpus")
    parser.add_argument("--sweep", action="store_true", help="print the threshold sweep")
    parser.add_argument("--errors", action="store_true", help="print each wrong decision")
    parser.add_argument("--library", choices=sorted(LIBRARIES), help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="+", choices=sorted(LIBRARIES), help="libraries to run")
    args = parser.parse_args()
    if args.library:
        print(json.dumps(measure(args.library, args.repeat)))
        return
    results = {}
    for library in args.only or LIBRARIES:
        module = LIBRARY_MODULES[library]
        if importlib.util.find_spec(module) is None:
            print(f"{library}: not installed (the module {module!r} is missing), skipped")
            continue
        child = subprocess.run(
            [sys.executable, __file__, "--library", library, "--repeat", str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
        )
        results[library] = json.loads(child.stdout)
    report(results, args.sweep)
    if args.errors:
        errors_print(results)


if __name__ == "__main__":
    main()

"""bench/translation_corpus.py on a slice of its corpus: the figures it prints are there and
agree with each other (the whole run is the benchmark itself)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _row(output: str, label: str) -> tuple[float, ...]:
    """The numbers of a table row: with the features (cache cold, cache warm) and without, or
    one request per language and one for all."""
    match = re.search(rf"^\s+{re.escape(label)}((?:\s+[\d.]+)+)$", output, re.MULTILINE)
    assert match, f"no row {label!r} in:\n{output}"
    return tuple(float(number) for number in match.group(1).split())


@pytest.fixture(scope="module")
def output() -> str:
    finished = subprocess.run(
        [
            sys.executable,
            "bench/translation_corpus.py",
            "--turns",
            "50",
            "--multi-messages",
            "2",
            "--first-token-delay",
            "0.05",
            "--token-delay",
            "0.002",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished.stdout


@pytest.fixture
def corpus(output) -> str:
    """The corpus replay's part of the output."""
    return output.split("\na message from ", 1)[0]


@pytest.fixture
def group(output) -> str:
    """The part comparing one request per language with one for all."""
    assert "\na message from en into es/fr/de/pt" in output
    return output.split("\na message from ", 1)[1]


def test_the_features_make_fewer_requests_than_before_and_the_baseline_is_the_rule(corpus):
    assert _row(corpus, "messages") == (50, 50, 50)
    cold, warm, without = _row(corpus, "provider requests per message")
    assert 0 < warm <= cold < without
    tokens_cold, _, tokens_without = _row(corpus, "input tokens per message")
    assert tokens_cold < tokens_without
    fewer = re.search(r"^provider requests, with features, cache cold: (\d+)% fewer", corpus, re.M)
    assert fewer and int(fewer.group(1)) == round(100 * (1 - cold / without))
    # The pass without the features made exactly what one request per other language gives.
    check = re.search(r"made (\d+) requests; the rule applied to the corpus gives (\d+);", corpus)
    assert check and check.group(1) == check.group(2)
    assert round(without * 50) == int(check.group(1))


def test_cost_follows_the_tokens_at_the_list_prices(corpus):
    for column in (0, 1, 2):
        tokens_in = _row(corpus, "input tokens per message")[column]
        tokens_out = _row(corpus, "output tokens per message")[column]
        dollars = _row(corpus, "USD per 1,000 messages (gpt-4o-mini)")[column]
        assert dollars == pytest.approx((tokens_in * 0.15 + tokens_out * 0.60) / 1000, abs=1e-4)


def test_messages_needing_no_call_are_counted_and_timed(corpus):
    quiet, _, before_quiet = _row(corpus, "messages needing no provider call")
    assert quiet > 0  # emoji and the English that the Spanish speaker writes to Tom
    assert before_quiet == 0  # before issue 14 every message in these chats was translated
    p50 = re.search(r"their latency p50 ms at 10 msgs/s\s+(\d+)\s+\d+\s+-$", corpus, re.M)
    calls_p50 = _row(corpus, "messages with provider calls: latency p50 ms")[0]
    assert p50 and 0 < int(p50.group(1)) < calls_p50
    assert re.search(r"no provider call: p50 \d+ ms at 10 msgs/s \(target under 30 ms", corpus)


def test_one_request_per_language_against_one_for_all(group):
    assert _row(group, "requests per message") == (4.0, 1.0)
    per_language, one = _row(group, "input tokens per message")
    assert per_language > one  # the prompt and text go four times
    assert _row(group, "all four translations complete p50 ms")[0] > 0
    assert re.search(
        r"^better on latency: one (request per language|multi-language request)", group, re.M
    )

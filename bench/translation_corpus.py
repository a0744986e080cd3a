#!/usr/bin/env python3
"""Translation on a replayed corpus of chat turns: provider requests, tokens, cost and latency
with the translation-saving features and without them. Prints figures.

    .venv/bin/python bench/translation_corpus.py
    .venv/bin/python bench/translation_corpus.py --turns 60 --multi-messages 3

Replays bench/corpus/chat_turns.json (517 turns in 26 chats and the ten languages, with
emoji-only turns, links, turns written in another language than the sender's and repeated
short turns) over real WebSockets against Daphne + Redis + moto's DynamoDB server + the
loopback OpenAI (tests/support/fake_openai.py, served from this process so its `usage` can be
read), at `--rate` messages a second across all chats, each chat's turns in their order
(round robin over the chats: about 0.4 messages a second in each at 10 a second). Each
corpus person signs up with their profile language; every member keeps a socket open.

Three passes over the same stack, each with its own users and chats (so one pass's history
never reaches another's requests):

- **with the features, cache cold**: the corpus as written, and each person reads (their
  profile's `read_languages`) the other languages they write in the corpus: Ana, Spanish,
  writes English to Tom, so she reads English. The stack does what it does by the time this
  runs: the language actually written (a reader of it gets the original), nothing to translate
  (emoji, links, numbers: no request), the shared short-text cache, which starts empty.
- **cache warm**: the same turns again in new chats, the cache as the first pass left it:
  the bound for a cache that has seen every short text before. The cache is shared by every
  chat and keeps an entry 7 days, so "ok" and "thanks" are warm in production; a pair of
  languages' rarer short texts are not.
- **without (before issue 14)**: every message translated from the sender's profile language
  into every other member language, one request each, nobody reading a second language.
  There are no switches to turn the features off, and none are added: the app has no
  operational reason for them, and a bench must not need code paths of its own in the app.
  Nor is this baseline computed on paper alone: this pass makes the same stack do that work,
  so its tokens and latency are measured like the others'. A turn the stack would translate
  from the sender's language anyway (written in it, by the app's own detection rule, and with
  letters) is sent as written; any other turn (118 of the 517) is sent as a stand-in of the
  same number of characters, cut from the corpus's turns in the sender's language, which the
  app's detection keeps in the sender's language. The short-text cache is emptied before each
  send. The fake counts tokens by characters, so a stand-in costs the tokens its turn would
  have, and the provider's latency depends on length alone. The requests this pass makes are
  checked against the count the rule gives from the corpus (printed as "check").

Latency is send-to-delivery at each other reader: from the moment the sender's frame is
written to the moment a reader gets the `message` frame. A turn "needed no provider call" when
no request for its text reached the provider between its send and its last delivery.

Then one request per language against one multi-language request, for a message from English
into the four other languages of a group (en, es, fr, de, pt: bench/cost.py's group), on
`--multi-messages` English turns of the corpus sent through the stack: the requests the stack
made for each are replayed to a second loopback provider with the same latency model, the
four at once, and then as one request (the same messages, the system prompt extended by a note
naming the four languages and asking for a JSON object of translations; its reply is that
object). Printed: input and output tokens (a per-language request repeats the prompt and text
four times), when all four translations are complete and when an average reader's is (from
the stream: one language's part of the JSON is complete once the stream has passed its end).
The product keeps one request per language unless the multi-language request measures better
on latency.

The provider's latency model (`--first-token-delay`, `--token-delay`): the first token after
the first delay, then one streamed chunk (the fake streams a word per chunk) per token delay.
The defaults, 400 ms and 15 ms, are about gpt-4o-mini's time to first token and its 70-100
tokens a second. Cost is at gpt-4o-mini's list prices, bench/cost.py's `Prices`. Everything
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio as redis_asyncio  # noqa: E402
from aiohttp import web  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from apps.accounts.languages import LANGUAGES_BY_CODE  # noqa: E402
from apps.chats.language_detection import (  # noqa: E402
    SENDER_LANGUAGE_OVERRULE_CONFIDENCE_MIN,
    language_detect,
)
from apps.chats.translation_need import SHORT_TEXT_KEY_PREFIX, translation_needed  # noqa: E402
from bench.chat_load import percentile  # noqa: E402
from bench.cost import GROUP_LANGUAGES, Person, Prices  # noqa: E402
from bench.language_detection import CORPUS  # noqa: E402
from bench.stack import Stack, stack_running  # noqa: E402
from tests.support.fake_openai import FakeOpenAI, user_text  # noqa: E402
from tests.support.http import http_json, http_post, signup  # noqa: E402

# --- the corpus -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    chat: str
    sender: str
    sender_language: str
    written_language: str | None
    text: str
    plain: bool  # in one language, in its own script


@dataclass
class Corpus:
    members: dict[str, dict[str, str]]  # chat -> person -> profile language
    # person -> the other languages they read: those they write in the corpus
    reads: dict[str, list[str]]
    turns: list[Turn]  # the turns replayed, in corpus order
    every_turn: list[Turn]  # the whole corpus (the stand-ins are cut from it)


def corpus_load(limit: int | None) -> Corpus:
    data = json.loads(CORPUS.read_text())
    turns = [
        Turn(
            chat=turn["chat_id"],
            sender=turn["sender"],
            sender_language=turn["sender_language"],
            written_language=turn["written_language"],
            text=turn["text"],
            plain=not turn.get("also_written") and turn.get("script") is None,
        )
        for turn in data["turns"]
    ]
    members = {chat: entry["members"] for chat, entry in data["chats"].items()}
    reads: dict[str, set[str]] = {}
    for turn in data["turns"]:
        for language in (turn["written_language"], *turn.get("also_written", ())):
            if language not in (None, turn["sender_language"]):
                reads.setdefault(turn["sender"], set()).add(language)
    return Corpus(
        members=members,
        reads={person: sorted(languages) for person, languages in reads.items()},
        turns=turns[:limit],
        every_turn=turns,
    )


def round_robin(turns: list[Turn]) -> list[Turn]:
    """The turns interleaved across chats, each chat's in their order."""
    by_chat: dict[str, list[Turn]] = {}
    for turn in turns:
        by_chat.setdefault(turn.chat, []).append(turn)
    queues = list(by_chat.values())
    ordered = []
    for step in range(max(map(len, queues), default=0)):
        ordered.extend(queue[step] for queue in queues if step < len(queue))
    return ordered


def targets_before(turn: Turn, members: dict[str, str]) -> set[str]:
    """What the system did before issue 14: every other member language than the sender's."""
    return {
        language
        for person, language in members.items()
        if person != turn.sender and language != turn.sender_language
    }


def language_as_sent(text: str, sender_language: str) -> str:
    """The source language the send path takes for `text` (sending.language_written's rule)."""
    return language_detect(
        text=text,
        fallback=sender_language,
        confidence_min=SENDER_LANGUAGE_OVERRULE_CONFIDENCE_MIN,
    ).code


def translated_from_sender_language(text: str, sender_language: str) -> bool:
    return (
        translation_needed(text=text) and language_as_sent(text, sender_language) == sender_language
    )


class StandIns:
    """Texts of a given length in a given language, cut from the corpus's turns written in it,
    which the app would translate from that language. Each cut starts where the last one of
    that language ended, so the stand-ins differ."""

    def __init__(self, turns: list[Turn]) -> None:
        self.pools: dict[str, str] = {}
        for turn in turns:
            if turn.plain and turn.written_language == turn.sender_language:
                pool = self.pools.get(turn.sender_language, "")
                self.pools[turn.sender_language] = f"{pool} {turn.text}".strip()
        self.cursors: Counter[str] = Counter()

    def text(self, language: str, length: int) -> str:
        pool = self.pools[language]
        for step in range(len(pool)):
            start = (self.cursors[language] + step) % len(pool)
            cut = (pool[start:] + " " + pool)[:length]
            if start and not pool[start - 1].isspace():
                continue  # start on a word
            if cut[0].isspace() or cut[-1].isspace():
                continue
            if translated_from_sender_language(cut, language):
                self.cursors[language] = start + length
                return cut
        raise RuntimeError(f"no stand-in of {length} characters in {language}")


def texts_before(corpus: Corpus, turns: list[Turn]) -> list[str]:
    """What the pass without the features sends for each turn (see the module's docstring)."""
    stand_ins = StandIns(corpus.every_turn)
    return [
        turn.text
        if translated_from_sender_language(turn.text, turn.sender_language)
        else stand_ins.text(turn.sender_language, len(turn.text))
        for turn in turns
    ]


# --- the provider -----------------------------------------------------------------------------


class RecordingOpenAI(FakeOpenAI):
    """The loopback OpenAI, noting when each request arrived (its text and body), so that a
    request can be told apart as one turn's."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.arrivals: list[tuple[float, str, dict]] = []

    def application(self) -> web.Application:
        app = super().application()

        @web.middleware
        async def note(request: web.Request, handler):
            try:
                body = await request.json()  # read once: the handler gets the same bytes
            except ValueError:
                body = None
            if isinstance(body, dict):
                self.arrivals.append((time.perf_counter(), user_text(body), body))
            return await handler(request)

        app.middlewares.append(note)
        return app


# --- the replay -------------------------------------------------------------------------------


@dataclass
class Sent:
    turn: Turn
    text: str
    client_msg_id: str
    sender: Person
    readers: list[Person]
    at: float
    delivered: dict[str, float] = field(default_factory=dict)  # reader user_id -> time
    calls: list[dict] = field(default_factory=list)  # the request bodies for its text


@dataclass
class Replay:
    label: str
    sent: list[Sent]
    usage: dict[str, int]
    errors: Counter

    @property
    def messages(self) -> int:
        return len(self.sent)

    def latencies(self, *, calls: bool | None = None) -> list[float]:
        """Send-to-delivery in ms at every reader (of the turns that made provider calls or
        not, when `calls` says which)."""
        return [
            (moment - sent.at) * 1000
            for sent in self.sent
            if calls is None or bool(sent.calls) == calls
            for moment in sent.delivered.values()
        ]


class Cast:
    """The corpus's people as users of one pass, signed up with their profile languages, each
    with a socket open, and its chats."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.people: dict[str, Person] = {}
        self.chats: dict[str, str] = {}  # corpus chat -> chat_id

    async def make(
        self,
        stack: Stack,
        members: dict[str, dict[str, str]],
        *,
        reads: dict[str, list[str]] | None = None,
    ) -> None:
        """Sign the chats' people up (with the other languages they read, from `reads`), open
        their sockets and create the chats."""
        stamp = int(time.time())
        for chat_members in members.values():
            for name, language in chat_members.items():
                if name not in self.people:
                    username = f"{name}_{self.label}{stamp}"
                    token = signup(stack.http, username, language)
                    user_id = http_json(stack.http, "GET", "/api/auth/me", token=token)[1]
                    self.people[name] = Person(username, language, token, user_id["user_id"])
                    if reads and reads.get(name):
                        status, reply = http_json(
                            stack.http,
                            "PATCH",
                            "/api/auth/me",
                            {"read_languages": reads[name]},
                            token=token,
                        )
                        assert status == 200, reply
                    await self.people[name].connect(stack.ws)
        for chat, chat_members in members.items():
            founder, *others = [self.people[name] for name in chat_members]
            body: dict[str, Any] = (
                {"username": others[0].name}
                if len(others) == 1
                else {"title": chat, "usernames": [person.name for person in others]}
            )
            self.chats[chat] = http_post(stack.http, "/api/chats", body, token=founder.token)[
                "chat_id"
            ]

    async def close(self) -> None:
        for person in self.people.values():
            await person.close()


async def replay(
    *,
    label: str,
    cast: Cast,
    members: dict[str, dict[str, str]],
    plan: list[tuple[Turn, str]],
    rate: float,
    provider: RecordingOpenAI,
    before_send=None,
    drain: float = 30.0,
) -> Replay:
    """Send `plan` (turn, text to send) at `rate` a second and wait for every delivery."""
    await asyncio.sleep(1)
    usage_before = provider.usage_totals()
    arrivals_before = len(provider.arrivals)
    frames_before = {id(person): len(person.frames) for person in cast.people.values()}
    sent: list[Sent] = []
    started = time.perf_counter()
    for number, (turn, text) in enumerate(plan):
        delay = started + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if before_send is not None:
            await before_send()
        sender = cast.people[turn.sender]
        readers = [cast.people[name] for name in members[turn.chat] if name != turn.sender]
        client_msg_id = f"{cast.label}-{number}"
        frame = {"chat_id": cast.chats[turn.chat], "text": text, "client_msg_id": client_msg_id}
        sent.append(Sent(turn, text, client_msg_id, sender, readers, time.perf_counter()))
        await sender.socket.send(json.dumps(frame))
    by_id = {item.client_msg_id: item for item in sent}
    errors: Counter[str] = Counter()
    deadline = time.perf_counter() + drain
    while True:
        for person in cast.people.values():
            start = frames_before[id(person)]
            frames_before[id(person)] = len(person.frames)
            for frame, moment in zip(
                person.frames[start:], person.frame_times[start:], strict=False
            ):
                if "error" in frame and "type" not in frame:
                    errors[str(frame.get("code") or frame["error"])[:60]] += 1
                message = frame.get("message") if frame.get("type") == "message" else None
                item = by_id.get(message.get("client_msg_id")) if message else None
                if item is not None and person is not item.sender:
                    item.delivered.setdefault(person.user_id, moment)
        missing = sum(len(item.readers) - len(item.delivered) for item in sent)
        if not missing or time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)  # a late request (an owed translation) is counted too
    usage_after = provider.usage_totals()
    arrivals = provider.arrivals[arrivals_before:]
    for item in sent:
        until = max(item.delivered.values(), default=item.at)
        item.calls = [
            body for at, text, body in arrivals if text == item.text and item.at <= at <= until
        ]
    if missing:
        errors["not delivered"] += missing
    usage = {key: usage_after[key] - usage_before[key] for key in usage_after}
    return Replay(label, sent, usage, errors)


# --- report -----------------------------------------------------------------------------------


def dollars_per_thousand(usage: dict[str, int], messages: int, prices: Prices) -> float:
    spent = usage["prompt_tokens"] * prices.token_in + usage["completion_tokens"] * prices.token_out
    return spent / max(messages, 1) * 1000


def rows_print(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        print(
            "  "
            + row[0].ljust(widths[0])
            + "".join(
                "  " + cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
            )
        )


def ms(values: list[float], fraction: float) -> str:
    return f"{percentile(values, fraction):.0f}" if values else "-"


def corpus_report(
    passes: list[Replay],
    before: Replay,
    *,
    expected_before: int,
    stand_ins: int,
    prices: Prices,
    rate: float,
) -> None:
    """The passes with the features and the one without, side by side; `expected_before`: the
    requests the rule before issue 14 gives for the corpus, which the pass without the features
    must have made."""
    columns = [*passes, before]

    def row(label: str, figure) -> tuple[str, ...]:
        return (label, *(figure(replay) for replay in columns))

    def per_message(key: str):
        return lambda replay: f"{replay.usage[key] / max(replay.messages, 1):.2f}"

    def latency(fraction: float, calls: bool | None = None):
        return lambda replay: ms(replay.latencies(calls=calls), fraction)

    rows = [
        row("messages", lambda replay: str(replay.messages)),
        row("provider requests per message", per_message("requests")),
        row("input tokens per message", per_message("prompt_tokens")),
        row("output tokens per message", per_message("completion_tokens")),
        row(
            "USD per 1,000 messages (gpt-4o-mini)",
            lambda replay: f"{dollars_per_thousand(replay.usage, replay.messages, prices):.4f}",
        ),
        row("latency p50 ms (send to each reader)", latency(0.5)),
        row("latency p99 ms", latency(0.99)),
        row(
            "messages needing no provider call",
            lambda replay: str(sum(1 for item in replay.sent if not item.calls)),
        ),
        row(f"  their latency p50 ms at {rate:g} msgs/s", latency(0.5, calls=False)),
        row("  their latency p99 ms", latency(0.99, calls=False)),
        row("messages with provider calls: latency p50 ms", latency(0.5, calls=True)),
    ]
    print()
    rows_print(("corpus replay", *(replay.label for replay in columns)), rows)
    for replay in passes:
        fewer = 1 - replay.usage["requests"] / max(before.usage["requests"], 1)
        print(
            f"provider requests, {replay.label}: {fewer:.0%} fewer than before issue 14 "
            f"(target at least 30%: {'met' if fewer >= 0.30 else 'NOT met'})"
        )
    quiet_p50 = percentile(passes[0].latencies(calls=False), 0.5)
    print(
        f"messages needing no provider call: p50 {quiet_p50:.0f} ms at {rate:g} msgs/s "
        f"(target under 30 ms: {'met' if quiet_p50 < 30 else 'NOT met'})"
    )
    print(
        f"check: the pass without the features made {before.usage['requests']} requests; "
        f"the rule applied to the corpus gives {expected_before}"
        + ("" if before.usage["requests"] == expected_before else " (MISMATCH)")
        + f"; {stand_ins} of its {before.messages} turns were sent as stand-ins"
    )
    for replay in columns:
        if replay.errors:
            print(
                f"errors ({replay.label}): "
                + ", ".join(f"{count} x {error}" for error, count in replay.errors.most_common())
            )


# --- one request per language against one for all ---------------------------------------------

MULTI_NOTE = (
    "\nTranslate it into each of these languages instead: {labels}. Reply with one JSON object "
    "whose keys are those language codes and whose values are the translations, and nothing "
    "else."
)


def multi_body(body: dict, targets: list[str]) -> dict:
    """One request for every target: the per-language request's messages, its system prompt
    extended by a note naming the languages; room for every translation."""
    labels = ", ".join(f"{LANGUAGES_BY_CODE[code].name} ({code})" for code in targets)
    messages = [dict(message) for message in body["messages"]]
    for message in messages:
        if message["role"] == "system":
            message["content"] = f"{message['content']}{MULTI_NOTE.format(labels=labels)}"
            break
    widened = {**body, "messages": messages}
    if isinstance(body.get("max_completion_tokens"), int):
        widened["max_completion_tokens"] = body["max_completion_tokens"] * len(targets) + 64
    return widened


def multi_reply(text: str, targets: list[str]) -> tuple[str, list[int]]:
    """The fake's reply to the multi-language request, and where each language's part ends."""
    reply = json.dumps({code: f"[{code}] {text}" for code in targets}, ensure_ascii=False)
    ends = []
    for code in targets:
        value = json.dumps(f"[{code}] {text}", ensure_ascii=False)
        ends.append(reply.index(value, ends[-1] if ends else 0) + len(value))
    return reply, ends


async def streamed(client: AsyncOpenAI, body: dict) -> list[tuple[float, int]]:
    """(seconds since the request, characters so far) at each chunk of the reply."""
    started = time.perf_counter()
    stream = await client.chat.completions.create(**body)
    progress, length = [], 0
    async for chunk in stream:
        for choice in chunk.choices:
            length += len(choice.delta.content or "")
        progress.append((time.perf_counter() - started, length))
    return progress


@dataclass
class Strategy:
    label: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    all_ready: list[float] = field(default_factory=list)  # ms, per message
    reader_ready: list[float] = field(default_factory=list)  # ms, per language per message


async def strategies_measure(sent: list[Sent], side: FakeOpenAI) -> tuple[Strategy, Strategy]:
    """Replay each message's per-language requests at once, then as one request."""
    each, one = Strategy("one request per language"), Strategy("one multi-language request")
    client = AsyncOpenAI(api_key="bench-key", base_url=side.base_url, max_retries=0)
    plain_translator = side.translator
    try:
        for item in sent:
            bodies = sorted(item.calls, key=lambda body: json.dumps(body["messages"][0]))
            targets = sorted({code for code in GROUP_LANGUAGES if code != GROUP_LANGUAGES[0]})
            before = side.usage_totals()
            side.translator = plain_translator
            finished = await asyncio.gather(*(streamed(client, body) for body in bodies))
            times = [progress[-1][0] * 1000 for progress in finished]
            each.all_ready.append(max(times))
            each.reader_ready.extend(times)
            middle = side.usage_totals()
            reply, ends = multi_reply(item.text, targets)
            side.translator = lambda text, target, reply=reply: reply
            progress = await streamed(client, multi_body(bodies[0], targets))
            one.all_ready.append(progress[-1][0] * 1000)
            one.reader_ready.extend(
                next(moment for moment, length in progress if length >= end) * 1000 for end in ends
            )
            after = side.usage_totals()
            for strategy, start, end in ((each, before, middle), (one, middle, after)):
                strategy.requests += end["requests"] - start["requests"]
                strategy.prompt_tokens += end["prompt_tokens"] - start["prompt_tokens"]
                strategy.completion_tokens += end["completion_tokens"] - start["completion_tokens"]
    finally:
        side.translator = plain_translator
        await client.close()
    return each, one


def strategies_report(
    each: Strategy, one: Strategy, messages: int, through_stack: Replay, prices: Prices
) -> None:
    def per(strategy: Strategy, value: float) -> str:
        return f"{value / max(messages, 1):.1f}"

    def cost(strategy: Strategy) -> str:
        usage = {
            "prompt_tokens": strategy.prompt_tokens,
            "completion_tokens": strategy.completion_tokens,
        }
        return f"{dollars_per_thousand(usage, messages, prices):.4f}"

    rows = [
        ("requests per message", *(per(s, s.requests) for s in (each, one))),
        ("input tokens per message", *(per(s, s.prompt_tokens) for s in (each, one))),
        ("output tokens per message", *(per(s, s.completion_tokens) for s in (each, one))),
        ("USD per 1,000 messages (gpt-4o-mini)", *(cost(s) for s in (each, one))),
        ("all four translations complete p50 ms", *(ms(s.all_ready, 0.5) for s in (each, one))),
        ("  p99 ms", *(ms(s.all_ready, 0.99) for s in (each, one))),
        ("a reader's translation complete p50 ms", *(ms(s.reader_ready, 0.5) for s in (each, one))),
    ]
    print()
    targets = "/".join(GROUP_LANGUAGES[1:])
    print(
        f"a message from {GROUP_LANGUAGES[0]} into {targets} ({messages} English corpus turns; "
        "provider side, the stack's own requests replayed):"
    )
    rows_print(("group message", each.label, one.label), rows)
    print(
        "through the stack (one request per language, as sent): send to each reader p50 "
        f"{ms(through_stack.latencies(), 0.5)} ms, p99 {ms(through_stack.latencies(), 0.99)} ms"
    )
    saved = 1 - one.prompt_tokens / max(each.prompt_tokens, 1)
    each_p50, one_p50 = percentile(each.all_ready, 0.5), percentile(one.all_ready, 0.5)
    better = "one multi-language request" if one_p50 < each_p50 else "one request per language"
    print(
        f"better on latency: {better} (all complete p50 {each_p50:.0f} ms per language, "
        f"{one_p50:.0f} ms in one). One request sends the prompt and text once ({saved:.0%} fewer "
        "input tokens) but writes the translations one after another, so its last reader waits "
        "for all of them; per-language requests stream side by side, each reader waiting only "
        "for their own. "
        + (
            "The product keeps one request per language."
            if better == "one request per language"
            else "The multi-language request measures better on latency here."
        )
    )


# --- run --------------------------------------------------------------------------------------


async def run(options: argparse.Namespace) -> None:
    prices = Prices()
    corpus = corpus_load(options.turns)
    turns = round_robin(corpus.turns)
    used = {turn.chat for turn in turns}
    members = {chat: people for chat, people in corpus.members.items() if chat in used}
    plan_before = list(zip(turns, texts_before(corpus, turns), strict=True))
    expected_before = sum(len(targets_before(turn, members[turn.chat])) for turn in turns)
    model = dict(delay_seconds=options.first_token_delay, token_delay_seconds=options.token_delay)
    with stack_running() as stack:
        provider = RecordingOpenAI(**model)
        translator_url = stack.provider_in_process(provider)
        side = FakeOpenAI(**model)
        stack.provider_in_process(side)
        stack.daphne_start(
            dynamo_url=stack.dynamo.url,
            settings=dict(
                OPENAI_BASE_URL=translator_url, OPENAI_API_KEY="bench-key", LOG_LEVEL="WARNING"
            ),
            stderr=subprocess.DEVNULL,
        )
        languages = {language for people in members.values() for language in people.values()}
        print(
            f"corpus: {len(turns)} turns of {CORPUS.relative_to(ROOT)} in {len(members)} chats, "
            f"{len(languages)} languages; sent at {options.rate:g} msgs/s"
        )
        print(
            "provider latency model: first token after "
            f"{options.first_token_delay * 1000:.0f} ms, then one streamed chunk (a word) every "
            f"{options.token_delay * 1000:.0f} ms"
        )
        print(
            f"prices: gpt-4o-mini ${prices.token_in * 1e6:.2f} per 1M input tokens, "
            f"${prices.token_out * 1e6:.2f} per 1M output"
        )
        print(
            "languages read besides the profile's (the passes with the features): "
            + ", ".join(f"{name} {'/'.join(codes)}" for name, codes in sorted(corpus.reads.items()))
        )
        warm = Cast("w")
        await warm.make(stack, {"warm": {"a": "en", "b": "es"}})
        warm_turn = Turn("warm", "a", "en", "en", "warming up the server before measuring", True)
        await replay(
            label="warm",
            cast=warm,
            members={"warm": {"a": "en", "b": "es"}},
            plan=[(warm_turn, warm_turn.text)] * 3,
            rate=2,
            provider=provider,
        )
        await warm.close()

        casts = {label: Cast(label) for label in ("f", "h", "b")}
        for label, cast in casts.items():
            await cast.make(stack, members, reads=corpus.reads if label != "b" else None)
        # The cache starts empty, then the same turns again in new chats find it warm.
        passes = [
            await replay(
                label=label,
                cast=casts[short],
                members=members,
                plan=[(turn, turn.text) for turn in turns],
                rate=options.rate,
                provider=provider,
            )
            for short, label in (("f", "with features, cache cold"), ("h", "cache warm"))
        ]
        cache = redis_asyncio.Redis.from_url(stack.redis.url)

        async def cache_empty() -> None:
            keys = [key async for key in cache.scan_iter(match=f"{SHORT_TEXT_KEY_PREFIX}:*")]
            if keys:
                await cache.delete(*keys)

        try:
            before = await replay(
                label="without (before issue 14)",
                cast=casts["b"],
                members=members,
                plan=plan_before,
                rate=options.rate,
                provider=provider,
                before_send=cache_empty,
            )
        finally:
            await cache.aclose()
        for cast in casts.values():
            await cast.close()
        corpus_report(
            passes,
            before,
            expected_before=expected_before,
            stand_ins=sum(text != turn.text for turn, text in plan_before),
            prices=prices,
            rate=options.rate,
        )

        if options.multi_messages > 0:
            await group_measure(options, stack, corpus, provider, side, prices)


async def group_measure(options, stack, corpus, provider, side, prices) -> None:
    names = [f"g{code}" for code in GROUP_LANGUAGES]
    group = {"group": dict(zip(names, GROUP_LANGUAGES, strict=True))}
    cast = Cast("g")
    await cast.make(stack, group)
    english = [
        replace(turn, chat="group", sender=names[0])
        for turn in corpus.every_turn
        if turn.plain
        and turn.sender_language == turn.written_language == GROUP_LANGUAGES[0]
        and len(turn.text.split()) > 2  # longer than the shared cache's texts
        and translated_from_sender_language(turn.text, turn.sender_language)
    ][: options.multi_messages]
    through_stack = await replay(
        label="group",
        cast=cast,
        members=group,
        plan=[(turn, turn.text) for turn in english],
        rate=1,
        provider=provider,
    )
    await cast.close()
    complete = [item for item in through_stack.sent if len(item.calls) == len(GROUP_LANGUAGES) - 1]
    each, one = await strategies_measure(complete, side)
    strategies_report(each, one, len(complete), through_stack, prices)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=None, help="the corpus's first N turns")
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second in all")
    parser.add_argument(
        "--first-token-delay", type=float, default=0.4, help="provider: seconds to first token"
    )
    parser.add_argument(
        "--token-delay", type=float, default=0.015, help="provider: seconds between chunks"
    )
    parser.add_argument(
        "--multi-messages",
        type=int,
        default=20,
        help="English turns for one request per language against one for all (0: skip)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

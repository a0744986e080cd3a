#!/usr/bin/env python3
"""Cost per million messages (and per minute of push-to-talk), from what the services would
bill for measured requests. Prints figures.

    .venv/bin/python bench/cost.py
    .venv/bin/python bench/cost.py --messages 200 --turns 12 --turn-seconds 5

Runs Daphne against moto (behind a proxy that prices every DynamoDB request), redis-server
and the loopback OpenAI and ElevenLabs fakes (served from this process, so it can read what
they were asked), over real WebSockets, in five scenarios:

- a 1:1 chat (English and Spanish) and a group of five languages (en, es, fr, de, pt), each
  with the readers' chat closed (send only) and open (each reader marks each message read, as
  the web app does for the chat on screen);
- push-to-talk in a 1:1 call, `--turns` turns of `--turn-seconds` seconds of speech.

For each it prints, per message (per minute of push-to-talk): DynamoDB write and read request
units by table, Redis commands by name and bytes through Redis, translation tokens in and
out, speech-to-text seconds and text-to-speech characters, and then dollars per million
messages (per million minutes) at the list prices printed with them.

DynamoDB units are computed here, from the items as the proxy sees them, by DynamoDB's
on-demand rules: moto answers ReturnConsumedCapacity with fixed placeholders (0.5 or 1 per
request, whatever the size), so it is not asked. A write costs 1 WRU per started KB of the
larger of the item before and after it (the proxy reads both from moto, unbilled); a write in
TransactWriteItems costs twice that; a table's local secondary index (ALL projection) costs
one more write of the item's size when the item enters, leaves or changes in the index and two
when its index sort key changes (doubled too in a transaction); a global secondary index that
projects keys only costs the same for its small entry of keys (counted like the local one,
doubled in a transaction, which may overstate it). A read costs 1 RRU per started
4 KB (a Query: of the items returned, summed), half that eventually consistent, twice that
transactional. A refused conditional write is billed as if made. Work that goes by the clock,
not by messages (the owed-translation sweep, one Query per shard every 5 s; each open socket's
re-check every 60 s: its place in Redis, its account in DynamoDB) is measured in a quiet window
first, printed per process-hour and per socket-hour, and subtracted from the scenarios.

Redis commands are redis-server's INFO commandstats: a script's EVALSHA and every command it
runs, as Upstash bills them (its rate-limit cost tables count the commands inside scripts).

Translation tokens are the fake's `usage` (about 4 characters a token plus the chat format's
overhead, tests/support/fake_openai.py). Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402
from aiohttp import web  # noqa: E402

from bench.chat_load import CountingProxy  # noqa: E402
from bench.stack import stack_running  # noqa: E402
from tests.support.fake_elevenlabs import FakeElevenLabs  # noqa: E402
from tests.support.fake_openai import FakeOpenAI  # noqa: E402
from tests.support.http import http_json, http_post, signup  # noqa: E402

# --- list prices ------------------------------------------------------------------------------

PRICES_AS_OF = "2026-11-27"


@dataclass(frozen=True)
class Prices:
    wru: float = 0.625 / 1e6  # DynamoDB on-demand, us-east-1, Standard table class
    rru: float = 0.125 / 1e6
    redis_command: float = 0.20 / 100_000  # Upstash Redis pay as you go
    redis_gb: float = 0.03  # Upstash bandwidth past 200 GB a month free
    token_in: float = 0.15 / 1e6  # gpt-4o-mini
    token_out: float = 0.60 / 1e6
    tts_char: float = 0.05 / 1000  # ElevenLabs Flash v2.5, API pay as you go (assumed)
    stt_hour: float = 0.40  # ElevenLabs Scribe, API pay as you go (assumed)

    def lines(self) -> list[str]:
        return [
            f"list prices used (USD, as stated on {PRICES_AS_OF}; check before relying on them):",
            "  DynamoDB on-demand us-east-1: $0.625 per million WRU, $0.125 per million RRU "
            "(aws.amazon.com/dynamodb/pricing/on-demand, after the Nov 2024 halving; the unit "
            "rules are checked against that page, the figures from memory of it)",
            "  Upstash Redis pay as you go: $0.20 per 100K commands, bandwidth free to 200 GB a "
            "month then $0.03/GB (upstash.com/pricing/redis, as transcribed 2026-09/11)",
            "  OpenAI gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output "
            "(openai.com/api/pricing; assumed unchanged)",
            "  ElevenLabs: text-to-speech Flash v2.5 $0.05 per 1K characters, speech-to-text "
            "Scribe $0.40 per hour of audio (elevenlabs.io/pricing/api; ASSUMED, not verified "
            "here: resellers list Flash v2.5 at $0.02-0.06/1K and Scribe v2 at $0.60/h)",
        ]


# --- DynamoDB item sizes and request units ----------------------------------------------------


def number_size(text: str) -> int:
    """Bytes DynamoDB counts for a number: about one per two significant digits, plus one."""
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value in its wire form ({"S": ...} etc.)."""
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return number_size(content)
    if kind == "B":
        return len(base64.b64decode(content))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(item.encode()) for item in content)
    if kind == "NS":
        return sum(number_size(item) for item in content)
    if kind == "BS":
        return sum(len(base64.b64decode(item)) for item in content)
    if kind == "L":
        return 3 + sum(1 + value_size(item) for item in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(item) for name, item in content.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes DynamoDB counts for an item: every attribute's name and value."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


@dataclass
class TableSchema:
    keys: list[str]
    # index name -> the index's sort key attribute (local secondary indexes, ALL projection)
    local_indexes: dict[str, str] = field(default_factory=dict)
    # index name -> the index's key attributes (global secondary indexes, KEYS_ONLY projection)
    global_indexes: dict[str, list[str]] = field(default_factory=dict)


def index_writes(
    before: dict[str, Any] | None, after: dict[str, Any] | None, sort_key: str
) -> list[int]:
    """The sizes of the index writes a change from `before` to `after` makes in a local
    secondary index with ALL projection on `sort_key`."""
    was = before is not None and sort_key in before
    now = after is not None and sort_key in after
    if was and now:
        if before[sort_key] != after[sort_key]:
            return [item_size(before), item_size(after)]  # the old entry out, the new one in
        return [item_size(after)] if before != after else []
    if now:
        return [item_size(after)]
    if was:
        return [item_size(before)]
    return []


def keys_only_index_writes(
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    index_keys: list[str],
    table_keys: list[str],
) -> list[int]:
    """The sizes of the index writes a change from `before` to `after` makes in a global
    secondary index projecting keys only: an item is in it while it has every index key, as
    the table's and the index's keys alone."""

    def entry(item: dict[str, Any] | None) -> dict[str, Any] | None:
        if item is None or any(key not in item for key in index_keys):
            return None
        return {key: item[key] for key in (*table_keys, *index_keys) if key in item}

    was, now = entry(before), entry(after)
    if was is not None and now is not None:
        return [] if was == now else [item_size(was), item_size(now)]
    if now is not None:
        return [item_size(now)]
    if was is not None:
        return [item_size(was)]
    return []


def item_write_units(
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    schema: TableSchema,
    *,
    transactional: bool,
) -> tuple[float, float]:
    """(table WRU, index WRU) of one item written from `before` to `after`."""
    factor = 2 if transactional else 1
    table = write_units(max(item_size(before), item_size(after))) * factor
    index = sum(
        write_units(size) * factor
        for sort_key in schema.local_indexes.values()
        for size in index_writes(before, after, sort_key)
    ) + sum(
        write_units(size) * factor
        for index_keys in schema.global_indexes.values()
        for size in keys_only_index_writes(
            before, after, index_keys=index_keys, table_keys=schema.keys
        )
    )
    return table, index


# --- the pricing proxy ------------------------------------------------------------------------

TARGET_PREFIX = "DynamoDB_20120810."
READ_OPERATIONS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITE_OPERATIONS = {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
}


@dataclass
class Units:
    wru: Counter = field(default_factory=Counter)  # by table (an index as "table/index")
    rru: Counter = field(default_factory=Counter)
    requests: Counter = field(default_factory=Counter)  # by operation
    refused: int = 0

    def copy(self) -> Units:
        return Units(Counter(self.wru), Counter(self.rru), Counter(self.requests), self.refused)

    def __sub__(self, other: Units) -> Units:
        return Units(
            self.wru - other.wru,
            self.rru - other.rru,
            self.requests - other.requests,
            self.refused - other.refused,
        )


class PricingProxy(CountingProxy):
    """Forwards DynamoDB requests to moto and adds up the request units each would cost."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.units = Units()
        self.schemas: dict[str, TableSchema] = {}

    def snapshot(self) -> Units:
        return self.units.copy()

    async def _call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """A request straight to moto, not billed."""
        async with self.session.post(
            self.upstream + "/",
            data=json.dumps(body),
            headers={
                "X-Amz-Target": TARGET_PREFIX + operation,
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            },
        ) as reply:
            return json.loads(await reply.read())

    async def _schema(self, table: str) -> TableSchema:
        schema = self.schemas.get(table)
        if schema is None:
            described = (await self._call("DescribeTable", {"TableName": table}))["Table"]
            schema = TableSchema(keys=[key["AttributeName"] for key in described["KeySchema"]])
            for index in described.get("LocalSecondaryIndexes") or ():
                sort = [k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "RANGE"]
                schema.local_indexes[index["IndexName"]] = sort[0]
            for index in described.get("GlobalSecondaryIndexes") or ():
                if index["Projection"]["ProjectionType"] != "KEYS_ONLY":
                    raise ValueError(f"{index['IndexName']}: only KEYS_ONLY is priced here")
                keys = [k["AttributeName"] for k in index["KeySchema"]]
                schema.global_indexes[index["IndexName"]] = keys
            self.schemas[table] = schema
        return schema

    async def _item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        reply = await self._call(
            "GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}
        )
        return reply.get("Item")

    async def _writes(self, operation: str, body: dict[str, Any]) -> list[tuple[str, dict, bool]]:
        """(table, key, transactional) of every item the request writes."""
        touched: list[tuple[str, dict[str, Any], bool]] = []

        async def add(table: str, action: dict[str, Any], transactional: bool) -> None:
            schema = await self._schema(table)
            if "Key" in action:
                key = action["Key"]
            else:
                key = {name: action["Item"][name] for name in schema.keys}
            touched.append((table, key, transactional))

        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            await add(body["TableName"], body, False)
        elif operation == "TransactWriteItems":
            for entry in body["TransactItems"]:
                (kind, action), *_ = entry.items()
                await add(action["TableName"], action, True)
        elif operation == "BatchWriteItem":
            for table, requests in body["RequestItems"].items():
                for request in requests:
                    (kind, action), *_ = request.items()
                    await add(table, action, False)
        return touched

    async def handle(self, request: web.Request) -> web.Response:
        operation = request.headers.get("X-Amz-Target", "?").split(".")[-1]
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        touched = await self._writes(operation, body) if operation in WRITE_OPERATIONS else []
        before = [await self._item(table, key) for table, key, _ in touched]
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        async with self.session.post(
            self.upstream + request.path_qs, data=raw, headers=headers
        ) as reply:
            payload = await reply.read()
            status = reply.status
            content_type = reply.headers.get("Content-Type", "application/json")
        self.units.requests[operation] += 1
        if touched:
            if status != 200:
                self.units.refused += 1
            for (table, key, transactional), old in zip(touched, before, strict=True):
                new = await self._item(table, key) if status == 200 else old
                if status != 200 and old is None:
                    new = {"?": {"S": ""}}  # a refused write of a new item: at least 1 WRU
                schema = await self._schema(table)
                table_units, index_units = item_write_units(
                    old, new, schema, transactional=transactional
                )
                self.units.wru[table] += table_units
                if index_units:
                    self.units.wru[f"{table}/index"] += index_units
        elif operation in READ_OPERATIONS and status == 200:
            self._reads(operation, body, json.loads(payload))
        return web.Response(body=payload, status=status, headers={"Content-Type": content_type})

    def _reads(self, operation: str, body: dict[str, Any], reply: dict[str, Any]) -> None:
        consistent = bool(body.get("ConsistentRead"))
        if operation == "GetItem":
            self.units.rru[body["TableName"]] += read_units(
                item_size(reply.get("Item")), consistent=consistent
            )
        elif operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in reply.get("Items") or ())
            self.units.rru[body["TableName"]] += read_units(size, consistent=consistent)
        elif operation == "TransactGetItems":
            for entry, response in zip(body["TransactItems"], reply.get("Responses") or ()):
                table = entry["Get"]["TableName"]
                self.units.rru[table] += 2 * read_units(
                    item_size(response.get("Item")), consistent=True
                )
        elif operation == "BatchGetItem":
            for table, items in (reply.get("Responses") or {}).items():
                asked = body["RequestItems"][table]
                for item in items:
                    self.units.rru[table] += read_units(
                        item_size(item), consistent=bool(asked.get("ConsistentRead"))
                    )


# --- Redis ------------------------------------------------------------------------------------


@dataclass
class RedisUse:
    commands: Counter
    bytes: int

    def __sub__(self, other: RedisUse) -> RedisUse:
        return RedisUse(self.commands - other.commands, self.bytes - other.bytes)


class RedisMeter:
    """Commands Redis served, by name (INFO commandstats), and bytes in and out."""

    def __init__(self, url: str) -> None:
        import redis as redis_client

        self.connection = redis_client.Redis.from_url(url)
        self.connection.ping()

    def read(self) -> RedisUse:
        stats = self.connection.info("commandstats")
        network = self.connection.info("stats")
        commands = Counter(
            {
                name.removeprefix("cmdstat_"): value["calls"]
                for name, value in stats.items()
                if name not in ("cmdstat_info", "cmdstat_ping")
            }
        )
        moved = network["total_net_input_bytes"] + network["total_net_output_bytes"]
        return RedisUse(commands, moved)


# --- the clients ------------------------------------------------------------------------------


class Person:
    def __init__(self, name: str, language: str, token: str, user_id: str) -> None:
        self.name = name
        self.language = language
        self.token = token
        self.user_id = user_id
        self.socket: Any = None
        self.frames: list[dict] = []
        self.frame_times: list[float] = []  # time.perf_counter() at each frame's arrival
        self.arrived = asyncio.Event()
        self.reader: asyncio.Task | None = None
        # chat_id -> whether this person marks what arrives as read (the chat is on screen)
        self.reading: dict[str, bool] = {}

    async def connect(self, ws_base: str) -> None:
        self.socket = await websockets.connect(
            f"{ws_base}/api/ws/chat?token={self.token}", max_queue=None
        )
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.socket:
            if isinstance(raw, bytes):
                continue
            frame = json.loads(raw)
            self.frames.append(frame)
            self.frame_times.append(time.perf_counter())
            self.arrived.set()
            message = frame.get("message") if frame.get("type") == "message" else None
            if (
                message
                and message["from_user_id"] != self.user_id
                and self.reading.get(frame["chat_id"])
            ):
                await self.socket.send(
                    json.dumps({"type": "read", "chat_id": frame["chat_id"], "seq": message["seq"]})
                )

    async def wait_for(self, predicate, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for frame in self.frames[seen:]:
                if predicate(frame):
                    return frame
            seen = len(self.frames)
            self.arrived.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.name}: no matching frame; last {self.frames[-5:]}")
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                pass

    async def close(self) -> None:
        await self.socket.close()


def people_make(base: str, stamp: int, prefix: str, languages: list[str]) -> list[Person]:
    people = []
    for index, language in enumerate(languages):
        name = f"{prefix}{index}{language}_{stamp}"
        token = signup(base, name, language)
        user_id = http_json(base, "GET", "/api/auth/me", token=token)[1]["user_id"]
        people.append(Person(name, language, token, user_id))
    return people


# Filler in each sender's own language: a text written in another would be detected as that
# one and need fewer translations than a chat's messages do.
FILLER_BY_LANGUAGE = {
    "en": "the quick brown fox jumps over the lazy dog and then it says hello to everyone",
    "es": "el rápido zorro marrón salta sobre el perro perezoso y luego saluda a todos",
    "fr": "le renard brun rapide saute par-dessus le chien paresseux et dit bonjour à tous",
    "de": "der schnelle braune Fuchs springt über den faulen Hund und grüßt dann alle",
    "pt": "a rápida raposa marrom pula sobre o cão preguiçoso e depois cumprimenta todos",
}


def message_text(number: int, chars: int, *, tag: str = "", language: str = "en") -> str:
    words = FILLER_BY_LANGUAGE.get(language, FILLER_BY_LANGUAGE["en"])
    text = f"cost-{tag}{number} "
    while len(text) < chars:
        text += words + " "
    return text[:chars].strip()


# --- scenarios --------------------------------------------------------------------------------


@dataclass
class Measured:
    label: str
    count: float  # messages, or minutes of push-to-talk
    unit: str  # "message", "minute of push-to-talk"
    units: str  # its plural
    seconds: float
    dynamo: Units
    redis: RedisUse
    tokens: dict[str, int]
    stt_seconds: float = 0.0
    tts_chars: int = 0


class Meters:
    def __init__(self, proxy: PricingProxy, redis: RedisMeter, openai: FakeOpenAI, eleven):
        self.proxy, self.redis, self.openai, self.eleven = proxy, redis, openai, eleven

    def read(self) -> tuple:
        return (
            time.monotonic(),
            self.proxy.snapshot(),
            self.redis.read(),
            self.openai.usage_totals(),
            len(self.eleven.received("tts")),
        )


async def settle(seconds: float = 1.0) -> None:
    await asyncio.sleep(seconds)


async def chat_scenario(
    label, meters, base, people, chat_id, *, messages, chars, reading
) -> Measured:
    run_id = uuid.uuid4().hex[:8]
    for person in people:
        person.reading[chat_id] = reading
    await settle()
    started = meters.read()
    for number in range(messages):
        sender = people[number % len(people)]
        text = message_text(number, chars, tag=run_id, language=sender.language)
        client_msg_id = f"{run_id}-{number}"
        await sender.socket.send(
            json.dumps({"chat_id": chat_id, "text": text, "client_msg_id": client_msg_id})
        )
        seqs = []
        for reader in people:
            if reader is not sender:
                frame = await reader.wait_for(
                    lambda frame, text=text: (
                        frame.get("type") == "message"
                        and frame["message"].get("original_text") == text
                    )
                )
                seqs.append((reader, frame["message"]["seq"]))
        if reading:
            # Every reader's read mark has reached the sender before the next message.
            for reader, seq in seqs:
                await sender.wait_for(
                    lambda frame, reader=reader, seq=seq: (
                        frame.get("type") == "read"
                        and frame.get("user_id") == reader.user_id
                        and frame.get("seq", 0) >= seq
                    )
                )
    await settle()
    ended = meters.read()
    return measured(label, messages, "message", started, ended)


def measured(
    label, count, unit, started, ended, *, units=None, stt_seconds=0.0, tts_chars=0
) -> Measured:
    tokens = {key: ended[3][key] - started[3][key] for key in ended[3]}
    return Measured(
        label=label,
        count=count,
        unit=unit,
        units=units or f"{unit}s",
        seconds=ended[0] - started[0],
        dynamo=ended[1] - started[1],
        redis=ended[2] - started[2],
        tokens=tokens,
        stt_seconds=stt_seconds,
        tts_chars=tts_chars,
    )


def speech_recording(number: int, seconds: float) -> bytes:
    """`seconds` of speech as the fake transcribes it: about 15 characters a second (150 words
    a minute), padded to Opus at 32 kbit/s (4,000 bytes a second)."""
    said = message_text(number, round(15 * seconds))
    audio = f"say:{said}".encode()
    return audio + b"\x00" * max(0, round(4000 * seconds) - len(audio))


async def ptt_scenario(label, meters, eleven, speaker, listener, chat_id, *, turns, seconds):
    await speaker.socket.send(json.dumps({"type": "call_start", "chat_id": chat_id}))
    incoming = await listener.wait_for(lambda f: f.get("type") == "call_incoming")
    await listener.socket.send(
        json.dumps({"type": "call_accept", "chat_id": chat_id, "call_id": incoming["call_id"]})
    )
    await speaker.wait_for(lambda f: f.get("type") == "call_accepted")
    await settle()
    tts_before = len(eleven.received("tts"))
    started = meters.read()
    for number in range(turns):
        mark = len(speaker.frames), len(listener.frames)
        await speaker.socket.send(json.dumps({"type": "ptt_start", "chat_id": chat_id}))
        await speaker.wait_for(
            lambda f, m=mark[0]: (
                f.get("type") == "voice_turn"
                and f["state"] == "recording"
                and speaker.frames.index(f) >= m
            )
        )
        audio = speech_recording(number, seconds)
        step = max(1, len(audio) // 20)
        for offset in range(0, len(audio), step):
            await speaker.socket.send(audio[offset : offset + step])
        await speaker.socket.send(json.dumps({"type": "ptt_stop", "chat_id": chat_id}))
        idle = await listener.wait_for(
            lambda f, m=mark[1]: (
                f.get("type") == "voice_turn"
                and f["state"] == "idle"
                and listener.frames.index(f) >= m
            )
        )
        if idle.get("reason") != "complete":
            raise RuntimeError(f"turn {number} failed: {idle}")
    await settle()
    ended = meters.read()
    tts = eleven.received("tts")[tts_before:]
    minutes = turns * seconds / 60
    return measured(
        label,
        minutes,
        "minute of push-to-talk",
        started,
        ended,
        units="minutes of push-to-talk",
        stt_seconds=turns * seconds,
        tts_chars=sum(len(request["json"]["text"]) for request in tts),
    )


# --- report -----------------------------------------------------------------------------------


def background_subtract(result: Measured, background: Measured) -> Measured:
    """`result` less what the quiet window's rate would have cost over its duration."""
    scale = result.seconds / background.seconds
    dynamo = Units(
        Counter({k: v - background.dynamo.wru[k] * scale for k, v in result.dynamo.wru.items()}),
        Counter({k: v - background.dynamo.rru[k] * scale for k, v in result.dynamo.rru.items()}),
        result.dynamo.requests,
        result.dynamo.refused,
    )
    commands = Counter(
        {k: v - background.redis.commands[k] * scale for k, v in result.redis.commands.items()}
    )
    redis = RedisUse(commands, round(result.redis.bytes - background.redis.bytes * scale))
    return Measured(**{**result.__dict__, "dynamo": dynamo, "redis": redis})


def dollars(result: Measured, prices: Prices) -> dict[str, float]:
    n = result.count
    return {
        "DynamoDB": (
            sum(result.dynamo.wru.values()) * prices.wru
            + sum(result.dynamo.rru.values()) * prices.rru
        )
        / n,
        "Upstash": (
            sum(result.redis.commands.values()) * prices.redis_command
            + result.redis.bytes / 1e9 * prices.redis_gb
        )
        / n,
        "OpenAI": (
            result.tokens["prompt_tokens"] * prices.token_in
            + result.tokens["completion_tokens"] * prices.token_out
        )
        / n,
        "ElevenLabs": (
            result.tts_chars * prices.tts_char + result.stt_seconds / 3600 * prices.stt_hour
        )
        / n,
    }


def report(result: Measured, prices: Prices) -> None:
    n = result.count
    per = f"per {result.unit}"
    print(f"\n== {result.label}: {n:g} {result.units} in {result.seconds:.1f} s")
    wru, rru = result.dynamo.wru, result.dynamo.rru
    print(
        f"DynamoDB {per}: {sum(wru.values()) / n:.2f} WRU ("
        + ", ".join(f"{table} {units / n:.2f}" for table, units in sorted(wru.items()) if units)
        + f"), {sum(rru.values()) / n:.2f} RRU ("
        + ", ".join(f"{table} {units / n:.2f}" for table, units in sorted(rru.items()) if units)
        + "); requests: "
        + ", ".join(f"{op} {count / n:.2f}" for op, count in result.dynamo.requests.most_common())
        + (f"; {result.dynamo.refused} refused" if result.dynamo.refused else "")
    )
    commands = result.redis.commands
    print(
        f"Redis {per}: {sum(commands.values()) / n:.2f} commands ("
        + ", ".join(
            f"{name} {count / n:.2f}" for name, count in commands.most_common() if count / n >= 0.01
        )
        + f"), {result.redis.bytes / n / 1024:.1f} KB in and out"
    )
    tokens = result.tokens
    print(
        f"translation {per}: {tokens['requests'] / n:.2f} requests, "
        f"{tokens['prompt_tokens'] / n:.1f} tokens in, {tokens['completion_tokens'] / n:.1f} out"
    )
    if result.stt_seconds or result.tts_chars:
        print(
            f"speech {per}: speech-to-text {result.stt_seconds / n:.0f} s of audio, "
            f"text-to-speech {result.tts_chars / n:.0f} characters"
        )
    cost = dollars(result, prices)
    print(
        f"USD per million {result.units}: "
        + ", ".join(f"{name} {value * 1e6:,.2f}" for name, value in cost.items())
        + f"; total {sum(cost.values()) * 1e6:,.2f}"
    )


def background_report(background: Measured, prices: Prices, sockets: int) -> None:
    """What costs by the hour, messages or not: the owed-translation sweep (per process) and
    each open socket's minutely re-check (its place in Redis, its account in DynamoDB)."""
    hours = background.seconds / 3600
    rru = background.dynamo.rru
    sweep = rru["owed_translations"] / hours
    socket_rru = (sum(rru.values()) - rru["owed_translations"]) / hours / sockets
    commands = background.redis.commands
    socket_commands = sum(commands.values()) / hours / sockets
    print(
        f"background (quiet window of {background.seconds:.0f} s, {sockets} sockets open, "
        "subtracted from the scenarios below):"
    )
    print(
        f"  per process-hour: owed-translation sweep {sweep:.0f} RRU "
        f"({background.dynamo.requests['Query'] / hours:.0f} Queries); "
        f"USD per process-month {sweep * prices.rru * 730:.3f}"
    )
    print(
        f"  per open socket-hour: {socket_commands:.0f} Redis commands ("
        + ", ".join(
            f"{name} {count / hours / sockets:.0f}" for name, count in commands.most_common()
        )
        + f"), {socket_rru:.0f} RRU (account re-read); USD per socket-month always connected "
        f"{(socket_commands * prices.redis_command + socket_rru * prices.rru) * 730:.3f}"
    )


# --- run --------------------------------------------------------------------------------------

GROUP_LANGUAGES = ["en", "es", "fr", "de", "pt"]


async def run(options: argparse.Namespace) -> None:
    prices = Prices()
    with stack_running() as stack:
        openai = FakeOpenAI()
        translator_url = stack.provider_in_process(openai)
        eleven = FakeElevenLabs(
            # Speech as long as it was said, MP3 at 128 kbit/s, streamed in 4 KB chunks.
            tts_min_bytes=round(16_000 * options.turn_seconds),
            tts_chunks=max(1, round(16_000 * options.turn_seconds / 4096)),
        )
        speech_url = stack.provider_in_process(eleven)
        proxy = PricingProxy(stack.dynamo.url)
        proxy_url = proxy.start_in_thread()
        try:
            stack.daphne_start(
                dynamo_url=proxy_url,
                settings=dict(
                    OPENAI_BASE_URL=translator_url,
                    OPENAI_API_KEY="bench-key",
                    ELEVENLABS_BASE_URL=speech_url,
                    ELEVENLABS_API_KEY="bench-key",
                    LOG_LEVEL="WARNING",
                ),
                stderr=subprocess.DEVNULL,
            )
            await measure(options, stack, proxy, openai, eleven, prices)
        finally:
            # Daphne first, so that nothing it sends at shutdown meets a closed proxy.
            if stack.daphne is not None and stack.daphne.poll() is None:
                stack.daphne.terminate()
                stack.daphne.wait(10)
            proxy.stop_in_thread()


async def measure(options, stack, proxy, openai, eleven, prices) -> None:
    base = stack.http
    stamp = int(time.time())
    pair = people_make(base, stamp, "p", ["en", "es"])
    group = people_make(base, stamp, "g", GROUP_LANGUAGES)
    caller = people_make(base, stamp, "v", ["en", "es"])
    direct = http_post(base, "/api/chats", {"username": pair[1].name}, token=pair[0].token)
    group_chat = http_post(
        base,
        "/api/chats",
        {"title": "cost", "usernames": [person.name for person in group[1:]]},
        token=group[0].token,
    )
    call_chat = http_post(base, "/api/chats", {"username": caller[1].name}, token=caller[0].token)
    for person in [*pair, *group, *caller]:
        await person.connect(stack.ws)
    meters = Meters(proxy, RedisMeter(stack.redis.url), openai, eleven)
    print(
        f"setup: {options.messages} messages of {options.chars} characters per chat scenario; "
        f"{options.turns} push-to-talk turns of {options.turn_seconds:g} s; translator and speech "
        "providers answer at once",
        flush=True,
    )
    for line in prices.lines():
        print(line)

    await settle(2)
    quiet_start = meters.read()
    await asyncio.sleep(options.quiet_seconds)
    background = measured("background", 1, "window", quiet_start, meters.read())
    background_report(background, prices, sockets=len([*pair, *group, *caller]))

    results = []
    for label, people, chat in (
        ("1:1 en-es, send only", pair, direct),
        ("1:1 en-es, reader marks read", pair, direct),
        (f"group of 5 ({'/'.join(GROUP_LANGUAGES)}), send only", group, group_chat),
        (f"group of 5 ({'/'.join(GROUP_LANGUAGES)}), readers mark read", group, group_chat),
    ):
        chat_id = chat["chat_id"]
        reading = "read" in label
        results.append(
            await chat_scenario(
                label,
                meters,
                base,
                people,
                chat_id,
                messages=options.messages,
                chars=options.chars,
                reading=reading,
            )
        )
    results.append(
        await ptt_scenario(
            f"push-to-talk 1:1 en->es, {options.turn_seconds:g} s turns",
            meters,
            eleven,
            caller[0],
            caller[1],
            call_chat["chat_id"],
            turns=options.turns,
            seconds=options.turn_seconds,
        )
    )
    for person in [*pair, *group, *caller]:
        await person.close()
    for result in results:
        report(background_subtract(result, background), prices)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100, help="messages per chat scenario")
    parser.add_argument("--chars", type=int, default=60, help="characters per message")
    parser.add_argument("--turns", type=int, default=12, help="push-to-talk turns")
    parser.add_argument("--turn-seconds", type=float, default=5.0, help="speech per turn")
    parser.add_argument(
        "--quiet-seconds",
        type=float,
        default=125.0,
        help="quiet window for background work (sockets re-check every 60 s)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

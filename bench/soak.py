#!/usr/bin/env python3
"""Soak under faults: a steady chat load for a few minutes while the faults of issue 11 are
done to the real processes, then what every message went through. Prints figures.

    .venv/bin/python bench/soak.py                      # 10 pairs, 4 msg/s, 240 s, every fault
    .venv/bin/python bench/soak.py --duration 60 --faults redis,dynamo

Two Daphne instances share moto's DynamoDB server, one redis-server and a loopback
OpenAI-compatible translator (in this process, so it can be made to fail). Each pair is an
English and a Spanish user in a 1:1 chat, each on a different instance. The clients are
careful, as the front end is: a `client_msg_id` per send; on any close they reconnect (to the
other instance when theirs is gone), `resume` from the last sequence number they saw and
resend what was not acknowledged.

The faults, in this order, spread over the run (`--faults` picks some):
- sockets: a random client's TCP connection is cut every few seconds, all run long but
  while another fault is under way (and 5 s after), so each message meets one fault;
- instance: `kill -9` of one Daphne, restarted on its port 5 s later;
- redis: redis-server killed and restarted empty on its port 5 s later;
- dynamo: moto paused (SIGSTOP) for 10 s;
- translator: every translation fails (HTTP 503) for 20 s;
- translator+restart: the same, and 10 s into it one instance is killed (`kill -9`) and
  restarted 5 s later: the translations its messages owe must not die with it.

At the end every message sent is looked up in a raw scan of the messages table and in what
its reader received:
- sent: distinct messages the clients wrote (resends not counted);
- stored: those in the table; duplicated: stored more than once;
- delivered live: reached the reader's open socket as a live `message` frame;
- delivered after resume: reached the reader only in answer to its `resume`;
- lost: stored or acknowledged but never reached the reader, or never stored at all;
- untranslated at the end: stored, and still without the reader's language after the drain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import websockets  # noqa: E402

from tests.support.fake_openai import FakeOpenAI  # noqa: E402
from tests.support.http import http_json, http_post, signup  # noqa: E402
from tests.support.servers import (  # noqa: E402
    daphne_command,
    dynamo_server_start,
    free_port,
    wait_for_port,
)

FAULTS = ("sockets", "instance", "redis", "dynamo", "translator", "translator+restart")
RECONNECT_DELAY_SECONDS = 0.5
ACK_TIMEOUT_SECONDS = 15.0


def log(started: float, text: str) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {text}", flush=True)


# --- processes ------------------------------------------------------------------------------


class RedisProcess:
    """redis-server on a fixed loopback port, so a restart comes back where clients look."""

    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="commonality-soak-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, process=self.process)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Instance:
    """One Daphne serving the app, on a fixed port so it can be killed and brought back."""

    def __init__(self, name: str, environment: dict[str, str]) -> None:
        self.name = name
        self.environment = environment
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = open(Path(tempfile.gettempdir()) / f"soak-{name}.log", "w")  # noqa: SIM115

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            daphne_command(self.port),
            cwd=ROOT,
            env=self.environment,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        wait_for_port(self.port, timeout=30, process=self.process)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


# --- the careful client ---------------------------------------------------------------------


@dataclass
class Sent:
    client_msg_id: str
    chat_id: str
    sender: str  # user id
    reader: str  # user id
    text: str
    acked_seq: int | None = None
    ack_duplicate: bool = False
    attempts: int = 0
    last_attempt_at: float = 0.0
    written_at: float = 0.0  # monotonic, when the client first wrote it


@dataclass
class Person:
    username: str
    language: str
    token: str
    user_id: str
    home: int  # index of the instance it connects to first
    chat_id: str = ""
    last_seen: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, Sent] = field(default_factory=dict)  # not yet acknowledged
    socket: object | None = None
    resuming: bool = True
    # (chat_id, seq) -> how it first arrived: "live" or "resume"
    received: dict[tuple[str, int], str] = field(default_factory=dict)
    # client_msg_id -> seqs it arrived under (more than one means stored twice)
    received_ids: dict[str, set[int]] = field(default_factory=dict)
    received_at: dict[str, float] = field(default_factory=dict)  # client_msg_id -> monotonic
    # client_msg_ids of others' messages this reader has been shown in its own language
    translated: set[str] = field(default_factory=set)
    message_ids: dict[str, str] = field(default_factory=dict)  # message_id -> client_msg_id
    repeats: int = 0  # a seq this socket had already delivered, delivered again
    connects: int = 0
    refused: Counter = field(default_factory=Counter)  # close codes seen


class Soak:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.started = time.monotonic()
        self.instances: list[Instance] = []
        self.people: list[Person] = []
        self.sent: dict[str, Sent] = {}
        self.stopping = False
        self.errors = Counter()
        # (fault, began, ended), monotonic: the report groups messages by the fault they met
        self.windows: list[tuple[str, float, float]] = []
        self.active: set[str] = set()

    def say(self, text: str) -> None:
        log(self.started, text)

    # --- the client's socket ------------------------------------------------------------

    async def session(self, person: Person) -> None:
        """Keep a socket open for `person` until the soak ends, as the front end does."""
        failures = 0
        while not self.stopping:
            # Home first, the other instance after a failed try (as a load balancer would).
            instance = self.instances[(person.home + failures) % len(self.instances)]
            failures += 1
            try:
                async with websockets.connect(
                    f"{instance.ws}/api/ws/chat?token={person.token}",
                    open_timeout=10,
                    max_queue=None,
                    ping_interval=None,
                ) as socket:
                    person.socket = socket
                    person.connects += 1
                    failures = 0
                    person.resuming = True
                    await socket.send(
                        json.dumps({"type": "resume", "chats": dict(person.last_seen)})
                    )
                    async for raw in socket:
                        await self.on_frame(person, json.loads(raw))
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else 1006
                person.refused[code] += 1
            except (TimeoutError, OSError, websockets.InvalidHandshake, websockets.InvalidURI):
                person.refused["connect failed"] += 1
            finally:
                person.socket = None
            await asyncio.sleep(RECONNECT_DELAY_SECONDS)

    async def on_frame(self, person: Person, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "resume_complete":
            person.resuming = False
            for seq_chat, seq in (frame.get("chats") or {}).items():
                person.last_seen[seq_chat] = max(person.last_seen.get(seq_chat, 0), seq)
            for sent in list(person.outbox.values()):
                await self.transmit(person, sent)
        elif kind == "message":
            message = frame["message"]
            chat_id, seq = frame["chat_id"], int(message["seq"])
            key = (chat_id, seq)
            if key in person.received:
                person.repeats += 1
            else:
                person.received[key] = "resume" if person.resuming else "live"
            person.last_seen[chat_id] = max(person.last_seen.get(chat_id, 0), seq)
            client_msg_id = message.get("client_msg_id")
            if client_msg_id and message.get("from_user_id") != person.user_id:
                person.received_ids.setdefault(client_msg_id, set()).add(seq)
                person.received_at.setdefault(client_msg_id, time.monotonic())
                person.message_ids[message["message_id"]] = client_msg_id
                if message.get("translated"):
                    person.translated.add(client_msg_id)
        elif kind == "message_updated":
            message = frame["message"]
            client_msg_id = person.message_ids.get(message.get("message_id"))
            if client_msg_id and message.get("translated"):
                person.translated.add(client_msg_id)
        elif kind == "ack":
            sent = person.outbox.pop(frame.get("client_msg_id"), None)
            if sent is not None:
                sent.acked_seq = frame.get("seq")
                sent.ack_duplicate = bool(frame.get("duplicate"))
        elif "error" in frame:
            self.errors[frame["error"][:60]] += 1
            sent = person.outbox.get(frame.get("client_msg_id"))
            retry_after = frame.get("retry_after")
            if sent is not None and isinstance(retry_after, (int, float)):
                # As the front end does: the same client_msg_id again once told to.
                asyncio.get_running_loop().call_later(
                    retry_after, lambda: asyncio.ensure_future(self.transmit(person, sent))
                )

    async def transmit(self, person: Person, sent: Sent) -> None:
        socket = person.socket
        if socket is None or person.resuming:
            return  # sent after the next resume
        sent.attempts += 1
        sent.last_attempt_at = time.monotonic()
        try:
            await socket.send(
                json.dumps(
                    {
                        "chat_id": sent.chat_id,
                        "text": sent.text,
                        "client_msg_id": sent.client_msg_id,
                    }
                )
            )
        except websockets.ConnectionClosed:
            pass

    async def resend_unacknowledged(self) -> None:
        """An error frame or a send lost with its socket: try again, as the front end does."""
        while not self.stopping:
            await asyncio.sleep(2)
            now = time.monotonic()
            for person in self.people:
                for sent in list(person.outbox.values()):
                    if now - sent.last_attempt_at > ACK_TIMEOUT_SECONDS:
                        await self.transmit(person, sent)

    # --- load and faults ----------------------------------------------------------------

    async def load(self) -> None:
        pairs = [(self.people[i], self.people[i + 1]) for i in range(0, len(self.people), 2)]
        total = int(self.options.rate * self.options.duration)
        begin = time.monotonic()
        for number in range(total):
            english, spanish = pairs[number % len(pairs)]
            sender, reader = (
                (english, spanish) if (number // len(pairs)) % 2 == 0 else (spanish, english)
            )
            await asyncio.sleep(max(0.0, begin + number / self.options.rate - time.monotonic()))
            sent = Sent(
                client_msg_id=f"soak-{number}",
                chat_id=sender.chat_id,
                sender=sender.user_id,
                reader=reader.user_id,
                text=f"soak message {number} from {sender.username}",
                written_at=time.monotonic(),
            )
            self.sent[sent.client_msg_id] = sent
            sender.outbox[sent.client_msg_id] = sent
            await self.transmit(sender, sent)

    async def faults(self) -> None:
        chosen = self.options.faults
        duration = self.options.duration
        plan = [name for name in FAULTS if name in chosen and name != "sockets"]
        tasks = []
        if "sockets" in chosen:
            tasks.append(asyncio.create_task(self.socket_kills()))
        for index, name in enumerate(plan):
            at = duration * (index + 1) / (len(plan) + 1)
            tasks.append(asyncio.create_task(self.fault_at(name, at)))
        await asyncio.gather(*tasks)

    def fault_recent(self) -> bool:
        """Whether another fault is under way or ended within 5 s: socket kills wait, so that
        what a message met is one fault, not two."""
        now = time.monotonic()
        return bool(self.active) or any(now - ended < 5 for _, _, ended in self.windows)

    async def socket_kills(self) -> None:
        while not self.stopping:
            await asyncio.sleep(self.options.socket_kill_every)
            if self.fault_recent():
                continue
            open_ones = [person for person in self.people if person.socket is not None]
            if open_ones:
                victim = random.choice(open_ones)
                victim.socket.transport.abort()
                self.kills += 1

    async def fault_at(self, name: str, at: float) -> None:
        await asyncio.sleep(max(0.0, self.started + self.load_began + at - time.monotonic()))
        if self.stopping:
            return
        began = time.monotonic()
        self.active.add(name)
        try:
            await self.fault_do(name)
        finally:
            self.active.discard(name)
            self.windows.append((name, began, time.monotonic()))

    async def fault_do(self, name: str) -> None:
        if name == "instance":
            victim = self.instances[-1]
            self.say(f"fault: kill -9 instance {victim.name}")
            victim.kill()
            await asyncio.sleep(5)
            await asyncio.to_thread(victim.start)
            self.say(f"fault over: instance {victim.name} restarted")
        elif name == "redis":
            self.say("fault: redis-server killed")
            self.redis.kill()
            await asyncio.sleep(5)
            await asyncio.to_thread(self.redis.start)
            self.say("fault over: redis-server restarted (empty)")
        elif name == "dynamo":
            self.say("fault: DynamoDB (moto) paused")
            os.kill(self.dynamo.process.pid, signal.SIGSTOP)
            await asyncio.sleep(10)
            os.kill(self.dynamo.process.pid, signal.SIGCONT)
            self.say("fault over: DynamoDB resumed")
        elif name == "translator":
            self.say("fault: the translator answers 503")
            self.translator.fail_status = 503
            await asyncio.sleep(20)
            self.translator.fail_status = None
            self.say("fault over: the translator answers again")
        elif name == "translator+restart":
            victim = self.instances[-1]
            self.say("fault: the translator answers 503")
            self.translator.fail_status = 503
            await asyncio.sleep(10)
            self.say(f"fault: kill -9 instance {victim.name} while translations are owed")
            victim.kill()
            await asyncio.sleep(5)
            await asyncio.to_thread(victim.start)
            self.say(f"instance {victim.name} restarted")
            await asyncio.sleep(5)
            self.translator.fail_status = None
            self.say("fault over: the translator answers again")

    # --- the run ------------------------------------------------------------------------

    async def run(self) -> None:
        self.kills = 0
        self.dynamo = dynamo_server_start()
        self.redis = RedisProcess()
        self.redis.start()
        self.translator = FakeOpenAI()
        translator_url = self.translator.start()
        try:
            await self.run_against_stack(translator_url)
        finally:
            for instance in self.instances:
                instance.stop()
            self.translator.stop()
            self.redis.stop()
            self.dynamo.stop()

    def environment(self, translator_url: str) -> dict[str, str]:
        return dict(
            os.environ,
            ENVIRONMENT="development",
            DEBUG="false",
            LOG_LEVEL="WARNING",
            DYNAMODB_ENDPOINT=self.dynamo.url,
            AWS_ACCESS_KEY_ID="soak",
            AWS_SECRET_ACCESS_KEY="soak",
            REDIS_URL=self.redis.url,
            OPENAI_BASE_URL=translator_url,
            OPENAI_API_KEY="soak-key",
            MESSAGE_RATE_LIMIT_COUNT="1000",
            SIGNUP_RATE_LIMIT_PER_ADDRESS_COUNT="100000",
            SOCKET_RESUME_RATE_LIMIT_COUNT="1000",
        )

    async def run_against_stack(self, translator_url: str) -> None:
        options = self.options
        environment = self.environment(translator_url)
        subprocess.run(
            [sys.executable, "manage.py", "create_dynamo_tables"],
            cwd=ROOT,
            env=environment,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.instances = [Instance("a", environment), Instance("b", environment)]
        for instance in self.instances:
            instance.start()
        base = self.instances[0].http
        stamp = int(time.time())
        for index in range(options.pairs):
            pair = []
            for language in ("en", "es"):
                username = f"{language}{index}_{stamp}"
                token = signup(base, username, language)
                user_id = http_json(base, "GET", "/api/auth/me", token=token)[1]["user_id"]
                pair.append(Person(username, language, token, user_id, home=len(pair)))
            english, spanish = pair
            chat_id = http_post(
                base, "/api/chats", {"username": spanish.username}, token=english.token
            )["chat_id"]
            for person in pair:
                person.chat_id = chat_id
                person.last_seen[chat_id] = 0
            self.people += pair
        self.say(
            f"setup: {options.pairs} pairs on 2 instances, {options.rate}/s for "
            f"{options.duration:.0f} s, faults: {', '.join(options.faults) or 'none'}"
        )
        sessions = [asyncio.create_task(self.session(person)) for person in self.people]
        resender = asyncio.create_task(self.resend_unacknowledged())
        await asyncio.sleep(2)
        self.load_began = time.monotonic() - self.started
        faults = asyncio.create_task(self.faults())
        await self.load()
        self.say("sending done; draining")
        await self.drain()
        self.stopping = True
        faults.cancel()
        resender.cancel()
        await self.final_resume()
        for task in sessions:
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)
        self.report()

    async def drain(self) -> None:
        deadline = time.monotonic() + self.options.drain
        while time.monotonic() < deadline:
            pending = sum(len(person.outbox) for person in self.people)
            undelivered = [sent for sent in self.sent.values() if not self.reader_has(sent)]
            if not pending and not undelivered and self.untranslated_at_readers() == 0:
                return
            await asyncio.sleep(1)

    def reader_has(self, sent: Sent) -> bool:
        reader = self.person(sent.reader)
        return sent.client_msg_id in reader.received_ids

    def person(self, user_id: str) -> Person:
        return next(person for person in self.people if person.user_id == user_id)

    def untranslated_at_readers(self) -> int:
        return len(self.untranslated())

    def untranslated(self) -> list[str]:
        """Messages delivered to their reader that never reached it translated, neither in the
        `message` frame nor in a `message_updated` (what the reader's screen shows; history
        would translate on demand and hide what the sockets missed)."""
        return [
            sent.client_msg_id
            for sent in self.sent.values()
            if self.reader_has(sent)
            and sent.client_msg_id not in self.person(sent.reader).translated
        ]

    def live_instance(self) -> Instance:
        return next(instance for instance in self.instances if instance.alive())

    async def final_resume(self) -> None:
        """What a reader gets by reconnecting at the end: counted as delivered after resume."""
        for person in self.people:
            async with websockets.connect(
                f"{self.live_instance().ws}/api/ws/chat?token={person.token}",
                max_queue=None,
            ) as socket:
                person.resuming = True
                await socket.send(json.dumps({"type": "resume", "chats": dict(person.last_seen)}))
                async for raw in socket:
                    frame = json.loads(raw)
                    if frame.get("type") == "resume_complete":
                        break
                    await self.on_frame(person, frame)

    def stored(self) -> tuple[Counter, set[str]]:
        """client_msg_id -> messages stored under it, from a raw scan of the table; and the
        client_msg_ids of messages stored without a translation (every pair is English and
        Spanish, so a message owes exactly one)."""
        client = boto3.client(
            "dynamodb",
            endpoint_url=self.dynamo.url,
            region_name="us-east-1",
            aws_access_key_id="soak",
            aws_secret_access_key="soak",
        )
        counts: Counter = Counter()
        untranslated: set[str] = set()
        for page in client.get_paginator("scan").paginate(TableName="messages"):
            for item in page["Items"]:
                if item["sk"]["S"].startswith("m#") and "client_msg_id" in item:
                    counts[item["client_msg_id"]["S"]] += 1
                    if not item.get("translations", {}).get("M"):
                        untranslated.add(item["client_msg_id"]["S"])
        return counts, untranslated

    def report(self) -> None:
        stored, untranslated_stored = self.stored()
        live = after_resume = lost = not_stored = 0
        for sent in self.sent.values():
            reader = self.person(sent.reader)
            seqs = reader.received_ids.get(sent.client_msg_id)
            if not seqs:
                lost += 1
                not_stored += stored[sent.client_msg_id] == 0
                continue
            how = reader.received[(sent.chat_id, min(seqs))]
            live += how == "live"
            after_resume += how == "resume"
        duplicated = sum(1 for count in stored.values() if count > 1)
        seen_twice = sum(
            1 for person in self.people for seqs in person.received_ids.values() if len(seqs) > 1
        )
        resends = sum(max(0, sent.attempts - 1) for sent in self.sent.values())
        acked_duplicate = sum(1 for sent in self.sent.values() if sent.ack_duplicate)
        untranslated = self.untranslated()
        closes = Counter()
        for person in self.people:
            closes.update(person.refused)
        print()
        print(
            f"sent {len(self.sent)}  stored {sum(1 for cid in self.sent if stored[cid])}  "
            f"duplicated {duplicated}"
        )
        print(
            f"delivered live {live}  delivered after resume {after_resume}  lost {lost} "
            f"(never stored {not_stored})"
        )
        print(
            f"untranslated at the end: in storage {len(untranslated_stored & set(self.sent))}, "
            f"on the reader's socket {len(untranslated)}  "
            f"frames repeated on one socket {sum(person.repeats for person in self.people)}  "
            f"seen under two seqs {seen_twice}"
        )
        print(
            f"client resends {resends}  acks saying duplicate {acked_duplicate}  "
            f"socket kills {self.kills}  reconnects {sum(person.connects for person in self.people) - len(self.people)}"
        )
        print(
            "closes and refusals seen by clients: "
            + (", ".join(f"{code}: {count}" for code, count in closes.most_common()) or "none")
        )
        print(
            "error frames: "
            + (
                ", ".join(f"{text!r}: {count}" for text, count in self.errors.most_common(6))
                or "none"
            )
        )
        self.report_by_fault()

    def fault_met(self, sent: Sent) -> str:
        """The fault under way when the message was written (or ended within 5 s before)."""
        for name, began, ended in self.windows:
            if began <= sent.written_at <= ended + 5:
                return name
        return "no fault but socket kills" if "sockets" in self.options.faults else "no fault"

    def report_by_fault(self) -> None:
        groups: dict[str, list[Sent]] = {}
        for sent in self.sent.values():
            groups.setdefault(self.fault_met(sent), []).append(sent)
        print("by the fault a message met (written during it or within 5 s after):")
        for name, group in sorted(groups.items()):
            live, resumed, latencies = 0, 0, []
            for sent in group:
                reader = self.person(sent.reader)
                seqs = reader.received_ids.get(sent.client_msg_id)
                if not seqs:
                    continue
                if reader.received[(sent.chat_id, min(seqs))] == "live":
                    live += 1
                    latencies.append(
                        (reader.received_at[sent.client_msg_id] - sent.written_at) * 1000
                    )
                else:
                    resumed += 1
            latencies.sort()
            tail = (
                (
                    f"live latency ms p50 {latencies[len(latencies) // 2]:.0f} "
                    f"max {latencies[-1]:.0f}"
                )
                if latencies
                else "no live latency"
            )
            print(
                f"  {name:<26} sent {len(group):4d}  live {live:4d}  after resume {resumed:3d}  "
                f"lost {len(group) - live - resumed:3d}  {tail}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--rate", type=float, default=4.0, help="messages per second in all")
    parser.add_argument("--duration", type=float, default=240, help="seconds of sending")
    parser.add_argument(
        "--drain",
        type=float,
        default=90,
        help="seconds to wait after sending for deliveries and owed translations",
    )
    parser.add_argument("--socket-kill-every", type=float, default=4.0)
    parser.add_argument(
        "--faults",
        type=lambda text: [name for name in text.split(",") if name],
        default=list(FAULTS),
        help=f"comma-separated, of {','.join(FAULTS)}",
    )
    parser.add_argument("--seed", type=int, default=11)
    options = parser.parse_args()
    unknown = set(options.faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    random.seed(options.seed)
    asyncio.run(Soak(options).run())


if __name__ == "__main__":
    main()

"""Owed translations outlive the Daphne process that owed them: it is killed (SIGKILL) while
the provider is down, and the instances that are alive when the provider returns make each
translation once, and the reader gets `message_updated`."""

import asyncio
import json

import websockets

from apps.chats.owed_translations import owed_translation_get
from tests.support.daphne import daphne_running
from tests.support.fake_openai import target_language, user_text
from tests.support.http import http_json, http_post, signup

TEXTS = ("Good morning", "Are you coming tonight?", "Bring the map")


def _socket_url(base: str, token: str) -> str:
    return f"{base.replace('http', 'ws')}/api/ws/chat?token={token}"


async def _frames(socket, kind: str, count: int, timeout: float) -> list[dict]:
    found = []
    async with asyncio.timeout(timeout):
        while len(found) < count:
            frame = json.loads(await socket.recv())
            if frame.get("type") == kind:
                found.append(frame)
    return found


def _asked(translator, text: str) -> list[str]:
    return [target_language(body) for body in translator.received() if user_text(body) == text]


def test_owed_translations_survive_the_sending_instance_being_killed(dynamo_tables, translator):
    environment = {
        "DYNAMODB_TABLE_PREFIX": dynamo_tables,
        "OPENAI_BASE_URL": translator.base_url,
        "OPENAI_API_KEY": "test-key",
        "TRANSLATION_RETRY_SCALE": "0.02",  # the whole schedule in about 18 s
        "TRANSLATION_TIMEOUT_SECONDS": "1",  # a claim's lease: 3 s
        "TRANSLATION_FIRST_TOKEN_TIMEOUT_SECONDS": "1",
        "OWED_TRANSLATION_SWEEP_SECONDS": "0.2",
    }
    translator.fail_status = 500

    with daphne_running(environment) as doomed:
        ana = signup(doomed.url, "ana", "es")
        bob = signup(doomed.url, "bob", "en")
        chat_id = http_post(doomed.url, "/api/chats", {"username": "bob"}, token=ana)["chat_id"]

        async def send_untranslated() -> list[dict]:
            async with (
                websockets.connect(_socket_url(doomed.url, ana)) as ana_socket,
                websockets.connect(_socket_url(doomed.url, bob)) as bob_socket,
            ):
                for text in TEXTS:
                    await bob_socket.send(json.dumps({"chat_id": chat_id, "text": text}))
                return await _frames(ana_socket, "message", len(TEXTS), timeout=15)

        delivered = asyncio.run(send_untranslated())
        assert [frame["message"]["translated"] for frame in delivered] == [False] * len(TEXTS)
        doomed.process.kill()  # mid-schedule: its retries, in memory, die with it
        doomed.process.wait(timeout=10)
    translator.fail_status = None
    asked_before = {text: len(_asked(translator, text)) for text in TEXTS}

    with daphne_running(environment) as second, daphne_running(environment) as third:

        async def read_on_fresh_instances() -> list[dict]:
            # Each socket's handshake starts its instance's sweeper; both sweep from then on.
            async with (
                websockets.connect(_socket_url(second.url, ana)) as ana_socket,
                websockets.connect(_socket_url(third.url, bob)),
            ):
                return await _frames(ana_socket, "message_updated", len(TEXTS), timeout=30)

        updated = asyncio.run(read_on_fresh_instances())

        assert sorted(frame["message"]["text"] for frame in updated) == sorted(
            f"[es] {text}" for text in TEXTS
        )
        assert all(frame["message"]["translated"] for frame in updated)
        status, history = http_json(second.url, "GET", f"/api/chats/{chat_id}/messages", token=ana)
        assert status == 200
        assert sorted(message["text"] for message in history["messages"]) == sorted(
            f"[es] {text}" for text in TEXTS
        )
    # Two instances swept at once, yet each translation was asked for once after recovery.
    for text in TEXTS:
        assert len(_asked(translator, text)) == asked_before[text] + 1, text
    for seq in range(1, len(TEXTS) + 1):
        assert owed_translation_get(chat_id=chat_id, seq=seq) is None

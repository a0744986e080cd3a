"""Presence across two Daphne processes on one Redis: Bob's socket on one instance, Ana
watching from the other. His close reaches her through the channel layer; when his instance
is killed (no close at all), his lease runs out and her watch turns him offline, last seen."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal

import websockets

from tests.support.daphne import daphne_running
from tests.support.http import http_json, http_post, signup


async def _presence(socket, user_id: str, *, online: bool, timeout: float = 10.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.recv())
            if (
                frame.get("type") == "presence"
                and frame["user_id"] == user_id
                and frame["online"] is online
            ):
                return frame


def _user_id(url: str, token: str) -> str:
    status, me = http_json(url, "GET", "/api/auth/me", token=token)
    assert status == 200 and isinstance(me, dict)
    return me["user_id"]


def test_presence_crosses_instances_and_a_killed_instance_goes_offline(dynamo_tables):
    environment = {"DYNAMODB_TABLE_PREFIX": dynamo_tables, "SOCKET_RECHECK_SECONDS": "0.5"}
    with daphne_running(environment) as bobs, daphne_running(environment) as anas:
        bob = signup(bobs.url, "bob", "en")
        ana = signup(anas.url, "ana", "es")
        chat_id = http_post(anas.url, "/api/chats", {"username": "bob"}, token=ana)["chat_id"]
        bob_id = _user_id(bobs.url, bob)
        bob_url = f"{bobs.url.replace('http', 'ws')}/api/ws/chat?token={bob}"
        ana_url = f"{anas.url.replace('http', 'ws')}/api/ws/chat?token={ana}"

        async def watch() -> None:
            async with websockets.connect(ana_url) as ana_socket:
                bob_socket = await websockets.connect(bob_url)
                await bob_socket.send(json.dumps({"type": "ping"}))
                await bob_socket.recv()
                await ana_socket.send(json.dumps({"type": "presence_watch", "chat_id": chat_id}))
                await _presence(ana_socket, bob_id, online=True)

                await bob_socket.close()
                closed = await _presence(ana_socket, bob_id, online=False)
                assert closed["last_seen"] is not None

                bob_socket = await websockets.connect(bob_url)
                await _presence(ana_socket, bob_id, online=True)
                # Bob's instance dies: nothing closes his socket, nothing is published.
                bobs.process.send_signal(signal.SIGKILL)
                lapsed = await _presence(ana_socket, bob_id, online=False, timeout=10)
                assert lapsed["last_seen"] is not None
                assert lapsed["last_seen"] > closed["last_seen"]
                with contextlib.suppress(Exception):
                    await bob_socket.close()

        asyncio.run(watch())

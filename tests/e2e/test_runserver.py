"""`manage.py runserver` is Daphne's runserver, serving HTTP and the chat socket."""

import asyncio
import subprocess
import sys

import pytest
import websockets

from tests.support.daphne import ROOT
from tests.support.http import http_json
from tests.support.servers import RunningServer, child_environment, free_port, wait_for_port


@pytest.fixture
def runserver(dynamo_tables):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=child_environment({"DYNAMODB_TABLE_PREFIX": dynamo_tables}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = RunningServer(url=f"http://127.0.0.1:{port}", process=process)
    try:
        wait_for_port(port, timeout=30, process=process)
        yield server
    finally:
        server.stop()


def test_runserver_serves_http_and_the_chat_socket(runserver):
    assert http_json(runserver.url, "GET", "/api/health") == (200, {"status": "ok"})

    async def socket_closes_with_1008():
        url = runserver.url.replace("http://", "ws://") + "/api/ws/chat?token=bad"
        async with websockets.connect(url) as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
            return closed.value.rcvd.code

    assert asyncio.run(socket_closes_with_1008()) == 1008
    runserver.stop()
    assert "daphne" in runserver.process.stderr.read().lower()

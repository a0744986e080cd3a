"""The serving half of the loopback provider servers (fake_openai, fake_elevenlabs): an aiohttp
application on a free loopback port, either on the running event loop or on a thread of its
own, so synchronous tests and child processes can reach it too."""

from __future__ import annotations

import asyncio
import signal
import threading

from aiohttp import web


class LoopbackServer:
    #: Appended to http://host:port to make base_url (what an SDK is given).
    base_path = ""
    name = "loopback server"

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def application(self) -> web.Application:
        raise NotImplementedError

    async def open(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on the running loop; returns the base URL."""
        self._runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, backlog=1024)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}{self.base_path}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> str:
        """Serve from a background thread with its own event loop; returns the base URL."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.open())
            except BaseException as err:  # reported to start()'s caller
                failure.append(err)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.close())
            loop.close()

        thread = threading.Thread(target=run, name=self.name, daemon=True)
        thread.start()
        if not started.wait(10):
            raise RuntimeError(f"the {self.name} did not start")
        if failure:
            raise failure[0]
        self._loop, self._thread = loop, thread
        return self.base_url

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    async def serve_until_signalled(self, host: str, port: int) -> None:
        """Standalone use: print the base URL, then serve until SIGINT or SIGTERM."""
        base_url = await self.open(host, port)
        print(f"listening on {base_url}", flush=True)
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        await stopped.wait()
        await self.close()

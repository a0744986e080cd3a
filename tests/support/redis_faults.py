"""A redis-server of one test's own, to kill, pause or restart while clients use it."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

import redis

from tests.support.servers import RunningServer, redis_server_restart, redis_server_start


class FaultyRedis:
    def __init__(self) -> None:
        self.server: RunningServer = redis_server_start()
        self.url = self.server.url

    def kill(self) -> None:
        """As a crash: no shutdown, nothing saved; clients see their connections reset."""
        self.server.process.kill()
        self.server.process.wait()

    def restart(self) -> None:
        """Killed if still running, then a new empty server on the same port (same URL)."""
        self.server = redis_server_restart(self.server)

    def pause(self) -> None:
        """Connections stay open and nothing answers (SIGSTOP)."""
        os.kill(self.server.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.server.process.pid, signal.SIGCONT)

    def subscribers(self, *channels: str) -> dict[str, int]:
        """PUBSUB NUMSUB: how many connections subscribe to each pub/sub channel."""
        client = redis.Redis.from_url(self.url, decode_responses=True)
        try:
            return dict(client.pubsub_numsub(*channels))
        finally:
            client.close()

    def stop(self) -> None:
        if self.server.process.poll() is None:
            self.resume()
        self.server.stop()


@contextlib.contextmanager
def channel_layer_on_own_redis(settings, *, keyvalue_too: bool = False) -> Iterator[RunningServer]:
    """A redis-server of this test's own under the channel layer (the reconnecting pub/sub
    one) and, with `keyvalue_too`, under the key-value store, so that pausing or stopping it
    harms no other test. Afterwards it is resumed if paused, and stopped."""
    from channels.layers import channel_layers

    server = redis_server_start()
    if keyvalue_too:
        settings.REDIS_URL = server.url
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "apps.core.channel_layer.ReconnectingPubSubChannelLayer",
            "CONFIG": {"hosts": [server.url]},
        }
    }
    channel_layers.backends.clear()
    try:
        yield server
    finally:
        if server.process.poll() is None:
            os.kill(server.process.pid, signal.SIGCONT)
        channel_layers.backends.clear()
        server.stop()

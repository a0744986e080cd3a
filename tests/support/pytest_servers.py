"""pytest plugin (loaded with `-p` in pytest.ini): starts the real servers the tests use and
exports their addresses before pytest-django reads Django's settings. Each process running
tests gets servers of its own: under pytest-xdist, each worker."""

import os

import pytest

from tests.support.servers import dynamo_server_start, redis_server_start

_servers = []


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # A wrapper's first half runs before every plain implementation, pytest-django's included,
    # and pytest-django imports the settings there.
    os.environ.setdefault("ENVIRONMENT", "development")
    # No sweeper for owed translations (apps/chats/owed_sweeper.py) in the app the tests run,
    # nor in the Daphne processes they start, unless a test asks for one.
    os.environ.setdefault("OWED_TRANSLATION_SWEEP_SECONDS", "0")
    dynamo = dynamo_server_start()
    _servers.append(dynamo)
    os.environ["DYNAMODB_ENDPOINT"] = dynamo.url
    os.environ["AWS_ACCESS_KEY_ID"] = "test"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "test"
    # A REDIS_URL given to the run is used by every process of it. Otherwise each process
    # that runs tests (each pytest-xdist worker, which inherits the controller's environment)
    # starts a redis-server of its own: tests empty key patterns and stop servers, which must
    # never reach another worker's tests.
    redis_given = os.environ.setdefault(
        "TESTS_REDIS_URL_GIVEN", "1" if os.environ.get("REDIS_URL") else "0"
    )
    if redis_given != "1":
        redis = redis_server_start()
        _servers.append(redis)
        os.environ["REDIS_URL"] = redis.url
    return (yield)


def pytest_unconfigure(config):
    while _servers:
        _servers.pop().stop()


def _loopback_only(connect):
    import ipaddress
    import socket

    def guarded(sock, address, *args):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                is_loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
            except ValueError:
                is_loopback = host == "localhost"
            if not is_loopback:
                raise ConnectionRefusedError(f"tests may only reach loopback, not {host}")
        return connect(sock, address, *args)

    return guarded


def pytest_sessionstart(session):
    # The tests must never reach beyond this machine, whatever a misconfiguration says.
    import socket

    socket.socket.connect = _loopback_only(socket.socket.connect)
    socket.socket.connect_ex = _loopback_only(socket.socket.connect_ex)

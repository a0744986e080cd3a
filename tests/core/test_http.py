"""The client address per-address limits count by (apps.core.http.client_address)."""

from __future__ import annotations

from django.test import RequestFactory

from apps.core.http import client_address


def _request(remote_addr: str = "10.0.0.9", forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/api/auth/me", REMOTE_ADDR=remote_addr, headers=headers)


def test_without_trusted_proxies_the_socket_peer_counts_and_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_HOPS = 0

    assert client_address(_request()) == "10.0.0.9"
    assert client_address(_request(forwarded="198.51.100.1")) == "10.0.0.9"


def test_behind_one_proxy_the_last_entry_counts_and_earlier_ones_are_the_clients_own(settings):
    settings.TRUSTED_PROXY_HOPS = 1

    assert client_address(_request(forwarded="203.0.113.7")) == "203.0.113.7"
    # A client that sends its own X-Forwarded-For only adds entries before the edge's.
    for spoofed in ("198.51.100.1, 203.0.113.7", "1.1.1.1,2.2.2.2 , 203.0.113.7"):
        assert client_address(_request(forwarded=spoofed)) == "203.0.113.7"


def test_behind_two_proxies_the_second_last_entry_counts(settings):
    settings.TRUSTED_PROXY_HOPS = 2

    assert client_address(_request(forwarded="6.6.6.6, 203.0.113.7, 10.1.1.1")) == "203.0.113.7"


def test_a_missing_or_short_header_falls_back_to_the_socket_peer(settings):
    settings.TRUSTED_PROXY_HOPS = 2

    assert client_address(_request()) == "10.0.0.9"
    assert client_address(_request(forwarded="203.0.113.7")) == "10.0.0.9"
    assert client_address(_request(forwarded=" , ")) == "10.0.0.9"


def test_ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4(settings):
    settings.TRUSTED_PROXY_HOPS = 1

    first = client_address(_request(forwarded="2001:db8:1:2:aaaa::1"))
    second = client_address(_request(forwarded="2001:db8:1:2:bbbb::2"))
    other = client_address(_request(forwarded="2001:db8:1:3::1"))
    assert first == second == "2001:db8:1:2::/64"
    assert other != first
    assert client_address(_request(forwarded="::ffff:203.0.113.7")) == "203.0.113.7"


def test_something_that_is_not_an_address_counts_as_one_unknown_client(settings):
    settings.TRUSTED_PROXY_HOPS = 1

    assert client_address(_request(forwarded="not-an-address")) == "unknown"
    settings.TRUSTED_PROXY_HOPS = 0
    assert client_address(_request(remote_addr="")) == "unknown"

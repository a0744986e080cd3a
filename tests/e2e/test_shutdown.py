"""A deploy stops an instance with SIGTERM: what it holds only in memory is finished first
(apps/core/shutdown.py: the search index's queue), and it exits well within the 10 s the
container check allows."""

import signal
import time

from apps.chats.models import SearchToken
from apps.chats.search_index import found_key_parse
from tests.support.daphne import daphne_running
from tests.support.http import http_post, signup

TEXTS = ("Nos vemos en el museo", "Llevo el mapa", "Hasta mañana")


def _indexed_seqs(chat_id: str) -> set[int]:
    """The seqs of the chat's messages that have search index items (the test's own Scan)."""
    seqs = set()
    for item in SearchToken.scan(consistent_read=True):
        found = found_key_parse(item.found)
        if found is not None and found.chat_id == chat_id:
            seqs.add(found.seq)
    return seqs


def test_an_instance_told_to_stop_writes_the_search_entries_it_still_holds(
    dynamo_tables, translator
):
    environment = {
        "DYNAMODB_TABLE_PREFIX": dynamo_tables,
        "OPENAI_BASE_URL": translator.base_url,
        "OPENAI_API_KEY": "test-key",
    }
    with daphne_running(environment) as server:
        ana = signup(server.url, "ana", "es")
        signup(server.url, "bob", "en")
        chat_id = http_post(server.url, "/api/chats", {"username": "bob"}, token=ana)["chat_id"]
        for text in TEXTS:
            http_post(server.url, f"/api/chats/{chat_id}/messages", {"text": text}, token=ana)
        # At once: the last message's entries are still in the queue, which lingers 0.25 s.
        told = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=15)
        stopped_after = time.monotonic() - told
    assert stopped_after < 10
    assert _indexed_seqs(chat_id) == {1, 2, 3}

"""Who a socket's typing and read frames go to: the chat's members from the one per-process
copy (apps/chats/chat_snapshots.py), which a roster change seen on a socket forgets."""

from __future__ import annotations

import pytest

from apps.chats import actions
from apps.chats.chat_snapshots import chat_snapshots
from apps.core.concurrency import run_blocking
from apps.realtime.chat_handlers import roster_change_note
from tests.support.accounts import user_create
from tests.support.channel_layers import recording_channel_layer


@pytest.fixture
def layer():
    with recording_channel_layer() as recording:
        yield recording


async def test_the_lookup_reads_a_chat_once_and_a_roster_change_forgets_it(layer):
    amy, eva, joe = [await run_blocking(user_create)() for _ in range(3)]
    created = await actions.do_create_group_chat(
        user=amy, title="Team", usernames=[eva.username, joe.username]
    )
    chat_id = created.membership.chat_id
    chat_snapshots.forget(chat_id)

    assert await actions.chat_member_ids_recent(chat_id) == {amy.user_id, eva.user_id, joe.user_id}
    assert chat_snapshots.get(chat_id) is not None

    roster_change_note({"type": "member_added", "chat_id": chat_id, "user_id": "someone"})
    assert chat_snapshots.get(chat_id) is None
    roster_change_note({"type": "typing", "chat_id": chat_id, "user_id": amy.user_id})


async def test_a_chat_that_is_not_there_has_nobody_to_tell(layer):
    assert await actions.chat_member_ids_recent("f" * 32) == frozenset()

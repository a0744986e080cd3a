"""Presence over the chat socket (apps/realtime/presence_handlers.py): a member who opens a
chat watches the other members, sees them online, offline with when they were last seen,
hidden when they hide it, and offline when their instance dies without closing anything."""

from __future__ import annotations

import asyncio
from datetime import datetime

from django.test import AsyncClient

from apps.accounts.presence import presence_arrive, presence_last_seen
from apps.chats import services
from apps.core.concurrency import run_blocking
from apps.core.keyvalue import keyvalue_store
from tests.support.accounts import user_create, user_token


async def _user(language="en"):
    return await run_blocking(user_create)(language=language)


async def _direct_chat(user, other) -> str:
    created = await run_blocking(services.chat_direct_create)(
        user=user, other_username=other.username
    )
    return created.membership.chat_id


def _presence_of(user, **fields):
    def matches(frame):
        return (
            frame.get("type") == "presence"
            and frame.get("user_id") == user.user_id
            and all(frame.get(name) == value for name, value in fields.items())
        )

    return matches


async def _watch(socket, chat_id, user, **fields) -> dict:
    await socket.send({"type": "presence_watch", "chat_id": chat_id})
    return (await socket.until(_presence_of(user, **fields)))[-1]


async def _watched(user) -> bool:
    """Whether any socket is registered as watching `user`."""
    _, watched = await presence_arrive(user_id=user.user_id)
    return watched


async def _switch(user, visible: bool) -> None:
    response = await AsyncClient().patch(
        "/api/auth/me",
        {"presence_visible": visible},
        content_type="application/json",
        headers={"Authorization": f"Bearer {user_token(user)}"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["presence_visible"] is visible


async def test_a_watcher_sees_the_other_member_online_then_last_seen_when_they_leave(
    translator, sockets
):
    ana, bob = await _user("es"), await _user("en")
    chat_id = await _direct_chat(ana, bob)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)

    online = await _watch(ana_socket, chat_id, bob)
    assert online == {"type": "presence", "user_id": bob.user_id, "online": True, "last_seen": None}

    before = datetime.now().astimezone()
    await bob_socket.close()
    offline = (await ana_socket.until(_presence_of(bob, online=False)))[-1]
    last_seen = datetime.fromisoformat(offline["last_seen"])
    assert abs((last_seen - before).total_seconds()) < 5

    # Back on another tab: online again, at once.
    await sockets.open(bob)
    await ana_socket.until(_presence_of(bob, online=True, last_seen=None))


async def test_a_second_tab_closing_leaves_the_user_online(translator, sockets):
    ana, bob = await _user("es"), await _user("en")
    chat_id = await _direct_chat(ana, bob)
    first = await sockets.open(bob)
    await sockets.open(bob)
    ana_socket = await sockets.open(ana)
    await _watch(ana_socket, chat_id, bob, online=True)
    await first.close()
    assert not [f for f in await ana_socket.drain() if f.get("type") == "presence"]


async def test_someone_never_connected_is_offline_with_no_last_seen(translator, sockets):
    ana, bob = await _user("es"), await _user("en")
    chat_id = await _direct_chat(ana, bob)
    ana_socket = await sockets.open(ana)
    frame = await _watch(ana_socket, chat_id, bob)
    assert frame["online"] is False and frame["last_seen"] is None


async def test_a_chat_one_is_not_in_is_refused_like_a_missing_one_and_the_socket_stays(
    translator, sockets
):
    ana, bob, eve = await _user("es"), await _user("en"), await _user("fr")
    chat_id = await _direct_chat(ana, bob)
    eve_socket = await sockets.open(eve)
    for asked in (chat_id, "0" * 32):
        await eve_socket.send({"type": "presence_watch", "chat_id": asked})
        refused = (await eve_socket.until(lambda f: "error" in f))[-1]
        assert refused == {"error": "Chat not found", "chat_id": asked}
    await eve_socket.send({"type": "presence_watch"})
    assert (await eve_socket.until(lambda f: "error" in f))[-1] == {"error": "chat_id is required"}
    await eve_socket.ping()
    # Nothing was registered for the refused watches.
    assert not await _watched(ana)


async def test_watches_are_rate_limited(translator, sockets, settings):
    settings.PRESENCE_WATCH_RATE_LIMIT_COUNT = 2
    ana, bob = await _user("es"), await _user("en")
    chat_id = await _direct_chat(ana, bob)
    ana_socket = await sockets.open(ana)
    await _watch(ana_socket, chat_id, bob)
    await _watch(ana_socket, chat_id, bob)
    await ana_socket.send({"type": "presence_watch", "chat_id": chat_id})
    refused = (await ana_socket.until(lambda f: "error" in f))[-1]
    assert refused["error"].startswith("too many presence watches")
    assert refused["retry_after"] >= 1 and refused["chat_id"] == chat_id
    await ana_socket.ping()


async def test_after_unwatching_nothing_more_arrives(translator, sockets):
    ana, bob = await _user("es"), await _user("en")
    chat_id = await _direct_chat(ana, bob)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)
    await _watch(ana_socket, chat_id, bob, online=True)
    await ana_socket.send({"type": "presence_unwatch"})
    await ana_socket.drain()
    await bob_socket.close()
    assert not [f for f in await ana_socket.drain() if f.get("type") == "presence"]
    # Nobody watches Bob any more.
    assert not await _watched(bob)


async def test_a_hidden_member_shows_neither_online_nor_last_seen_and_a_switch_applies_at_once(
    translator, sockets
):
    ana, bob = await _user("es"), await _user("en")
    chat_id = await _direct_chat(ana, bob)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)
    await _watch(ana_socket, chat_id, bob, online=True)

    await _switch(bob, False)
    await ana_socket.until(_presence_of(bob, online=False, last_seen=None))
    # A new watch sees the same.
    frame = await _watch(ana_socket, chat_id, bob)
    assert frame["online"] is False and frame["last_seen"] is None
    # Bob leaving tells Ana nothing.
    await bob_socket.close()
    assert not [f for f in await ana_socket.drain() if f.get("type") == "presence"]

    await _switch(bob, True)
    shown = (await ana_socket.until(_presence_of(bob, online=False)))[-1]
    assert shown["last_seen"] is not None


async def test_a_watcher_who_hides_their_own_sees_others_online_but_not_their_last_seen(
    translator, sockets
):
    ana, bob = await _user("es"), await _user("en")
    chat_id = await _direct_chat(ana, bob)
    bob_socket = await sockets.open(bob)
    await bob_socket.close()
    ana_socket = await sockets.open(ana)
    frame = await _watch(ana_socket, chat_id, bob, online=False)
    assert frame["last_seen"] is not None

    await _switch(ana, False)
    await ana_socket.until(_presence_of(bob, online=False, last_seen=None))
    await sockets.open(bob)
    await ana_socket.until(_presence_of(bob, online=True))


async def test_a_member_whose_instance_died_goes_offline_after_their_lease_with_a_last_seen(
    translator, sockets, settings
):
    """Bob's socket lives on an instance that died: its lease is never renewed nor released.
    Ana's watch finds him offline once it runs out, and records when he was last seen."""
    settings.SOCKET_RECHECK_SECONDS = 0.2
    ana, bob = await _user("es"), await _user("en")
    chat_id = await _direct_chat(ana, bob)
    await keyvalue_store().lease_acquire(
        f"wsocks:{bob.user_id}", "dead-instance-channel", limit=5, ttl_seconds=0.6
    )
    ana_socket = await sockets.open(ana)
    await _watch(ana_socket, chat_id, bob, online=True)
    offline = (await ana_socket.until(_presence_of(bob, online=False), timeout=3))[-1]
    assert offline["last_seen"] is not None
    recorded = await presence_last_seen(user_id=bob.user_id)
    assert recorded is not None
    assert datetime.fromisoformat(offline["last_seen"]).timestamp() == recorded / 1000


async def test_a_group_watch_covers_each_other_member_and_a_new_watch_replaces_the_last(
    translator, sockets
):
    ana, bob, cid = await _user("es"), await _user("en"), await _user("fr")
    group = await run_blocking(services.chat_group_create)(
        user=ana, title="Group", usernames=[bob.username, cid.username]
    )
    group_id = group.membership.chat_id
    direct_id = await _direct_chat(ana, bob)
    cid_socket = await sockets.open(cid)
    ana_socket = await sockets.open(ana)
    await ana_socket.send({"type": "presence_watch", "chat_id": group_id})
    frames = await ana_socket.until(_presence_of(cid))
    if not any(_presence_of(bob)(f) for f in frames):
        frames += await ana_socket.until(_presence_of(bob))
    assert {f["user_id"]: f["online"] for f in frames if f.get("type") == "presence"} == {
        bob.user_id: False,
        cid.user_id: True,
    }
    # Watching the 1:1 instead: Cid is no longer watched, and his leaving reaches nobody.
    await _watch(ana_socket, direct_id, bob)
    assert not await _watched(cid)
    await cid_socket.close()
    assert not [f for f in await ana_socket.drain() if _presence_of(cid)(f)]


async def test_a_deleted_account_leaves_no_presence_behind_its_open_socket_or_its_watchers(
    translator, sockets, settings
):
    from apps.chats import actions

    settings.SOCKET_RECHECK_SECONDS = 0.3
    ana, bob = await _user("es"), await _user("en")
    chat_id = await _direct_chat(ana, bob)
    bob_socket = await sockets.open(bob)
    ana_socket = await sockets.open(ana)
    await _watch(ana_socket, chat_id, bob, online=True)

    await actions.do_delete_user(user=bob)

    # Bob's socket is closed (its close would record him as last seen, after the deletion
    # forgot it); Ana's watch of him ends, and she is told he is offline with nothing to show.
    assert await bob_socket.close_code() == 1008
    await bob_socket.close()
    await ana_socket.until(_presence_of(bob, online=False, last_seen=None))
    await asyncio.sleep(3 * settings.SOCKET_RECHECK_SECONDS)  # Ana's watch would renew by now
    assert await presence_last_seen(user_id=bob.user_id) is None
    assert not await _watched(bob)

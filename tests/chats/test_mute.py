"""Muting a chat for oneself on every device (`PUT /api/chats/{id}/mute`,
actions.do_set_chat_muted): stored on the member's inbox row, shown in their chat summaries,
and sent to their own sockets as `chat_muted`. The push side is in test_push_notifications.py.
"""

from apps.chats import actions, services
from apps.chats.models import ChatMembership
from apps.core.concurrency import run_blocking
from tests.support.accounts import user_create, user_token

CHATS = "/api/chats"


def _auth(token):
    return {"headers": {"Authorization": f"Bearer {token}"}} if token is not None else {}


async def _put(client, path, body, token=None):
    return await client.put(path, body, content_type="application/json", **_auth(token))


async def _pair():
    ana = await run_blocking(user_create)(language="es")
    ben = await run_blocking(user_create)(language="en")
    created = await run_blocking(services.chat_direct_create)(user=ana, other_username=ben.username)
    return ana, ben, created.membership.chat_id


async def _summary(client, token, chat_id):
    response = await client.get(CHATS, **_auth(token))
    assert response.status_code == 200
    [summary] = [chat for chat in response.json() if chat["chat_id"] == chat_id]
    return summary


async def test_a_member_mutes_and_unmutes_a_chat_for_themselves(async_client):
    ana, ben, chat_id = await _pair()
    path = f"{CHATS}/{chat_id}/mute"
    assert (await _summary(async_client, user_token(ben), chat_id))["muted"] is False

    muted = await _put(async_client, path, {"muted": True}, user_token(ben))
    assert muted.status_code == 200 and muted.json() == {"chat_id": chat_id, "muted": True}
    assert (await _summary(async_client, user_token(ben), chat_id))["muted"] is True
    detail = await async_client.get(f"{CHATS}/{chat_id}", **_auth(user_token(ben)))
    assert detail.json()["muted"] is True
    # Only the one who muted it: the other member's summary is unchanged.
    assert (await _summary(async_client, user_token(ana), chat_id))["muted"] is False

    unmuted = await _put(async_client, path, {"muted": False}, user_token(ben))
    assert unmuted.status_code == 200 and unmuted.json() == {"chat_id": chat_id, "muted": False}
    assert (await _summary(async_client, user_token(ben), chat_id))["muted"] is False
    # Unmuted is the attribute's absence, as on rows that never had it.
    row = await run_blocking(ChatMembership.get)(ben.user_id, chat_id, consistent_read=True)
    assert row.muted is None


async def test_muting_refuses_bad_bodies_strangers_and_the_anonymous(async_client):
    ana, ben, chat_id = await _pair()
    stranger = await run_blocking(user_create)(language="fr")
    path = f"{CHATS}/{chat_id}/mute"

    for bad in ({"muted": "yes"}, {"muted": 1}, {"muted": None}, {}, {"muted": True, "x": 1}):
        refused = await _put(async_client, path, bad, user_token(ben))
        assert refused.status_code == 422, bad
        assert refused.json()["detail"]
    assert (await _summary(async_client, user_token(ben), chat_id))["muted"] is False

    not_member = await _put(async_client, path, {"muted": True}, user_token(stranger))
    assert not_member.status_code == 404
    unknown = await _put(async_client, f"{CHATS}/nope/mute", {"muted": True}, user_token(ben))
    assert unknown.status_code == 404
    # The stranger's attempt made no row for them.
    assert await run_blocking(ChatMembership.count)(stranger.user_id) == 0

    anonymous = await _put(async_client, path, {"muted": True})
    assert anonymous.status_code == 401
    assert (await _summary(async_client, user_token(ben), chat_id))["muted"] is False


async def test_mute_changes_are_rate_limited(async_client, settings):
    settings.CHAT_MUTE_RATE_LIMIT_COUNT = 2
    _, ben, chat_id = await _pair()
    path = f"{CHATS}/{chat_id}/mute"
    for muted in (True, False):
        assert (
            await _put(async_client, path, {"muted": muted}, user_token(ben))
        ).status_code == 200
    refused = await _put(async_client, path, {"muted": True}, user_token(ben))
    assert refused.status_code == 429 and "Retry-After" in refused
    assert (await _summary(async_client, user_token(ben), chat_id))["muted"] is False


async def test_the_members_other_sockets_hear_of_the_mute(sockets):
    ana, ben, chat_id = await _pair()
    bens_phone = await sockets.open(ben)
    bens_laptop = await sockets.open(ben)
    anas_socket = await sockets.open(ana)

    await actions.do_set_chat_muted(user=ben, chat_id=chat_id, muted=True)

    for socket in (bens_phone, bens_laptop):
        frame = await socket.wait_for(lambda frame: frame.get("type") == "chat_muted")
        assert frame == {"type": "chat_muted", "chat_id": chat_id, "muted": True}
    # Nobody else learns who muted what.
    assert not [f for f in await anas_socket.drain() if f.get("type") == "chat_muted"]

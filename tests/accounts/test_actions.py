"""The accounts use cases (apps/accounts/actions.py): what each stores and who hears of it,
through a channel layer that records every group send."""

from __future__ import annotations

import pytest

from apps.accounts import actions
from apps.accounts.selectors import user_get, user_public_profile
from apps.core.concurrency import run_blocking
from apps.core.delivery import user_group
from apps.core.errors import InvalidInput, Unauthorized
from tests.support.accounts import user_create
from tests.support.channel_layers import RecordingChannelLayer, recording_channel_layer

PASSWORD = "correct horse battery"  # tests.support.accounts' password


@pytest.fixture
def layer() -> RecordingChannelLayer:
    with recording_channel_layer() as recording:
        yield recording


async def _user(**fields):
    return await run_blocking(user_create)(**fields)


async def test_a_profile_update_tells_only_the_users_own_sockets(layer):
    ana = await _user(username="ana")
    await _user(username="bob")

    update = await actions.do_update_profile(user=ana, changes={"first_name": "Anabel"})

    stored = await run_blocking(user_get)(user_id=ana.user_id)
    assert stored.first_name == "Anabel"
    assert update.profile == user_public_profile(user=stored)
    assert update.language_updates == 0
    assert [group for group, _ in layer.group_sends] == [user_group(ana.user_id)]
    assert layer.frames_to(ana.user_id) == [{"type": "profile_updated", "user": update.profile}]


async def test_a_language_change_reaches_the_users_chats_before_the_broadcast(layer):
    from apps.chats.selectors import chat_get, map_as_dict
    from apps.chats.services import chat_direct_create

    ana = await _user(username="ana", language="es")
    await _user(username="bob", language="en")
    chat = (await run_blocking(chat_direct_create)(user=ana, other_username="bob")).membership
    seen_by_the_broadcast = []
    record = layer.group_send

    async def group_send(group, message):
        stored = await run_blocking(chat_get)(chat_id=chat.chat_id)
        seen_by_the_broadcast.append(map_as_dict(stored.member_languages)[ana.user_id])
        await record(group, message)

    layer.group_send = group_send

    update = await actions.do_set_language(user=ana, language="fr")

    assert update.language_updates == 1
    assert seen_by_the_broadcast == ["fr"]
    [frame] = layer.frames_to(ana.user_id)
    assert frame["type"] == "profile_updated"
    assert frame["user"]["native_language"] == "fr"


async def test_a_refused_profile_update_stores_and_sends_nothing(layer):
    ana = await _user(username="ana")
    with pytest.raises(InvalidInput):
        await actions.do_set_language(user=ana, language="xx")
    assert (await run_blocking(user_get)(user_id=ana.user_id)).native_language == "en"
    assert layer.group_sends == []


@pytest.mark.parametrize(
    ("revoke", "arguments"),
    [
        (actions.do_logout_all, {}),
        (actions.do_disable_user, {}),
        (actions.do_reset_password, {"password": "a new passphrase"}),
    ],
)
async def test_revocations_tell_the_users_sockets_their_new_token_version(layer, revoke, arguments):
    ana = await _user(username="ana")
    await _user(username="bob")

    updated = await revoke(user=ana, **arguments)

    assert updated.token_version == 1  # was 0
    assert layer.group_sends == [
        (user_group(ana.user_id), {"type": "session.revoked", "token_version": 1})
    ]


async def test_enabling_a_user_sends_nothing(layer):
    ana = await _user(username="ana")
    await actions.do_disable_user(user=ana)
    layer.group_sends.clear()
    enabled = await actions.do_enable_user(user=ana)
    assert enabled.is_active is True
    assert layer.group_sends == []


async def test_a_revocation_stands_when_the_sockets_cannot_be_told(layer):
    ana = await _user(username="ana")

    async def unreachable(group, message):
        raise ConnectionError("Redis is down")

    layer.group_send = unreachable
    await actions.do_disable_user(user=ana)
    stored = await run_blocking(user_get)(user_id=ana.user_id)
    assert (stored.is_active, stored.token_version) == (False, 1)


async def test_signup_and_login_send_nothing(layer):
    user = await actions.do_signup(
        username="carol",
        password=PASSWORD,
        first_name="Carol",
        last_name="Example",
        native_language="de",
        client_address="192.0.2.1",
    )
    assert (await run_blocking(user_get)(user_id=user.user_id)).username == "carol"
    logged_in = await actions.do_login(
        username="Carol", password=PASSWORD, client_address="192.0.2.1"
    )
    assert logged_in.user_id == user.user_id
    with pytest.raises(Unauthorized):
        await actions.do_login(username="carol", password="wrong guess", client_address="192.0.2.1")
    assert layer.group_sends == []

"""The shared short-translation cache on the send path (apps/chats/short_translations.py)."""

from __future__ import annotations

from apps.chats import actions, services
from apps.chats.selectors import map_as_dict, message_history
from apps.chats.short_translations import SHORT_TRANSLATION_MAX_CHARS, short_translation_keep
from apps.chats.translation_need import short_text_cache_key
from apps.core.concurrency import run_blocking
from apps.core.keyvalue import keyvalue_store
from tests.support.accounts import user_create
from tests.support.fake_openai import target_language


async def _user(language):
    return await run_blocking(user_create)(language=language)


async def _group(owner, *others) -> str:
    created = await run_blocking(services.chat_group_create)(
        user=owner, title="Team", usernames=[other.username for other in others]
    )
    return created.membership.chat_id


async def _translations(chat_id) -> dict[str, str]:
    page = await run_blocking(message_history)(chat_id=chat_id, limit=10, before_seq=None)
    (message,) = page.messages
    return map_as_dict(message.translations)


async def test_a_second_gracias_in_another_chat_makes_no_provider_request(translator):
    eva = await _user("es")
    first_chat = await _group(eva, await _user("en"), await _user("en"))
    pia = await _user("es")
    other_chat = await _group(pia, await _user("en"), await _user("en"))

    await actions.do_send_message(user=eva, chat_id=first_chat, text="gracias")
    await actions.do_send_message(user=pia, chat_id=other_chat, text="Gracias")

    assert [target_language(body) for body in translator.received()] == ["en"]
    assert await _translations(first_chat) == {"en": "[en] gracias"}
    assert await _translations(other_chat) == {"en": "[en] gracias"}


async def test_a_text_too_long_to_share_is_translated_each_time(translator):
    eva = await _user("es")
    text = "nos vemos mañana en la estación"
    chats = [await _group(eva, await _user("en"), await _user("en")) for _ in range(2)]

    for chat_id in chats:
        await actions.do_send_message(user=eva, chat_id=chat_id, text=text)

    assert len(translator.received()) == 2
    assert short_text_cache_key(text=text, source="es", target="en") is None


async def test_a_runaway_reply_to_a_short_text_is_not_kept():
    await short_translation_keep(
        text="ok", source="en", target="es", translation="x" * (SHORT_TRANSLATION_MAX_CHARS + 1)
    )
    await short_translation_keep(text="vale", source="es", target="en", translation="okay")

    store = keyvalue_store()
    assert await store.get(short_text_cache_key(text="ok", source="en", target="es")) is None
    kept = await store.get(short_text_cache_key(text="vale", source="es", target="en"))
    assert kept == "okay"


async def test_a_late_reader_of_a_short_text_gets_the_shared_translation_with_no_request(
    translator,
):
    eva = await _user("es")
    await actions.do_send_message(
        user=eva, chat_id=await _group(eva, await _user("en"), await _user("en")), text="vale"
    )
    chat_id = await _group(eva, await _user("es"), await _user("es"))
    await actions.do_send_message(user=eva, chat_id=chat_id, text="vale")
    ana = await _user("en")
    await run_blocking(services.chat_member_add)(user=eva, chat_id=chat_id, username=ana.username)

    page = await actions.do_read_history(user=ana, chat_id=chat_id, limit=10, before_seq=None)

    assert [map_as_dict(m.translations) for m in page.messages] == [{"en": "[en] vale"}]
    assert len(translator.received()) == 1  # the first chat's, only

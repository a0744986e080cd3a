"""The shared cache of short translations: "ok", "thanks", "jajaja", "ㅋㅋㅋ" are translated once
per language pair and every chat after that gets the same translation with no provider request
(which texts qualify, and the key: translation_need.short_text_cache_key).

It lives in the key-value store (Redis), so every instance shares it. Bounded: only texts short
enough that the conversation cannot change them have a key, each entry expires after
`SHORT_TRANSLATION_TTL_SECONDS`, and a reply longer than `SHORT_TRANSLATION_MAX_CHARS` (a
runaway answer to a two-word text) is not kept. The cache only saves requests: when the store
is down, a look-up is a miss and a store is skipped, and the message is translated as before.

The key holds nothing of any chat, so a translation that had to follow a chat's own rules is
neither taken from it nor kept in it: when the text holds one of the chat's glossary terms or
a member's name, or the target language's readers in that chat chose a formality
(`TranslationContext.constrains`), the provider is asked, with them. A translation that is
the cache's (`short_translation_shared`) is asked for without the chat's turns: it is shared
with every chat, so nothing of one chat's conversation may shape it.
"""

from __future__ import annotations

import logging

from apps.chats.translation import NO_CONTEXT, TranslationContext
from apps.chats.translation_need import short_text_cache_key
from apps.core.keyvalue import keyvalue_store
from apps.core.outages import outage_caused

logger = logging.getLogger(__name__)

SHORT_TRANSLATION_TTL_SECONDS = 7 * 24 * 3600
SHORT_TRANSLATION_MAX_CHARS = 200


def short_translation_shared(
    *, text: str, source: str, target: str, context: TranslationContext = NO_CONTEXT
) -> bool:
    """Whether this translation is the shared cache's: then it is asked for with no context
    at all. Other chats get the reply, so no chat's turns may shape it (a turn that talked
    the model into another answer would otherwise reach every chat for a week)."""
    return (
        not context.constrains
        and short_text_cache_key(text=text, source=source, target=target) is not None
    )


async def short_translation_cached(
    *, text: str, source: str, target: str, context: TranslationContext = NO_CONTEXT
) -> str | None:
    """The translation kept for this short text and language pair, or None (always, for a
    translation the chat's glossary, names or formality constrain)."""
    if context.constrains:
        return None
    key = short_text_cache_key(text=text, source=source, target=target)
    if key is None:
        return None
    try:
        return await keyvalue_store().get(key)
    except Exception as error:
        if not outage_caused(error):
            raise
        logger.warning("short translation cache unavailable (%s); asking the provider", error)
        return None


async def short_translation_keep(
    *,
    text: str,
    source: str,
    target: str,
    translation: str,
    context: TranslationContext = NO_CONTEXT,
) -> None:
    """Keep a translation just made, when the text is short enough to share it and nothing
    of its chat's own constrained it."""
    if context.constrains:
        return
    key = short_text_cache_key(text=text, source=source, target=target)
    if key is None or not translation or len(translation) > SHORT_TRANSLATION_MAX_CHARS:
        return
    try:
        await keyvalue_store().put(key, translation, ttl_seconds=SHORT_TRANSLATION_TTL_SECONDS)
    except Exception as error:
        if not outage_caused(error):
            raise
        logger.warning("short translation cache unavailable (%s); not kept", error)

"""Translating a message while its readers watch, before it is stored.

Every other language present among the members is translated at once, each as a stream, with
the message's context (translation_context.py: the chat's last turns, its glossary terms and
names found in the text, the readers' formality); a reply that drops a kept term or a fixed
rendering is asked for once more, whole (translation.translation_glossary_enforce), and
readers get the better reply in the `message` frame. A short text another chat had translated
into the same language comes from the shared cache (short_translations.py), with no request,
unless the chat's glossary, names or formality bear on it.
Once the translation has taken longer than `PARTIAL_INTERVAL_SECONDS`, readers get
`message_started` (the original) and then partial translations, at most one per interval and
language; a quicker translation reaches them only as the finished `message`. How each of
these reaches readers is the caller's (`actions.do_send_message`): this module only decides
when.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from apps.chats.short_translations import (
    short_translation_cached,
    short_translation_keep,
    short_translation_shared,
)
from apps.chats.translation import (
    NO_CONTEXT,
    TranslationUnavailable,
    translation_glossary_enforce,
    translation_stream,
)
from apps.chats.translation_context import NO_MESSAGE_CONTEXT, MessageContext

logger = logging.getLogger(__name__)

# Partial translations go out at most this often per language, to spare the channel layer.
PARTIAL_INTERVAL_SECONDS = 0.08


class Clock(Protocol):
    """Monotonic time in seconds, and a wait on it."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The running event loop's clock (monotonic)."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


LOOP_CLOCK = LoopClock()

# Sends one partial translation (its language, the readers of that language, the text).
PartialSend = Callable[[str, list[str], str], Awaitable[None]]


class Announcement:
    """`message_started` for the readers, sent once, and only when the translation takes
    long enough to be worth showing the original meanwhile: a translation done within
    `delay` reaches them whole in the `message` frame, which saves a broadcast per message.
    `delay` None: never (nothing to translate)."""

    def __init__(
        self, send: Callable[[], Coroutine[Any, Any, None]], *, delay: float | None
    ) -> None:
        self._send = send
        self._task: asyncio.Task | None = None
        self._timer = (
            asyncio.get_running_loop().call_later(delay, self._start) if delay is not None else None
        )

    @property
    def sent(self) -> bool:
        return self._task is not None

    def _start(self) -> asyncio.Task:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._send())
        return self._task

    async def now(self) -> None:
        """Make sure it has gone out (before a partial translation refers to it)."""
        await asyncio.shield(self._start())

    async def settle(self) -> None:
        """No announcement from now on; one already under way finishes first, so readers
        get it before the message."""
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            await asyncio.shield(self._task)


async def translations_stream(
    *,
    text: str,
    source: str,
    member_languages: dict[str, str],
    announcement: Announcement,
    partial_send: PartialSend,
    context: MessageContext = NO_MESSAGE_CONTEXT,
) -> dict[str, str | None]:
    """Translate into every other member language at once; None where the provider failed."""
    targets = sorted({lang for lang in member_languages.values() if lang != source})
    results = await asyncio.gather(
        *(
            _translation_stream_one(
                text=text,
                source=source,
                target=target,
                readers=[member for member, lang in member_languages.items() if lang == target],
                announcement=announcement,
                partial_send=partial_send,
                context=context,
            )
            for target in targets
        )
    )
    return dict(zip(targets, results, strict=True))


async def _translation_stream_one(
    *,
    text: str,
    source: str,
    target: str,
    readers: list[str],
    announcement: Announcement,
    partial_send: PartialSend,
    context: MessageContext,
) -> str | None:
    request_context = context.for_target(target)
    if short_translation_shared(text=text, source=source, target=target, context=request_context):
        cached = await short_translation_cached(text=text, source=source, target=target)
        if cached is not None:
            return cached
        request_context = NO_CONTEXT
    partials = PartialSender(
        send=lambda partial: partial_send(target, readers, partial), announcement=announcement
    )
    translated = None
    try:
        async for partial in translation_stream(
            text=text, source_language=source, target_language=target, context=request_context
        ):
            translated = partial
            partials.offer(partial)
    except TranslationUnavailable as error:
        logger.warning(
            "translation %s->%s unavailable (%s); delivering untranslated", source, target, error
        )
        return None
    finally:
        await partials.close()
    if not translated:
        return None
    # No partial of a retry: readers keep the first reply's last partial until the message.
    translated = await translation_glossary_enforce(
        text=text,
        source_language=source,
        target_language=target,
        context=request_context,
        translation=translated,
    )
    await short_translation_keep(
        text=text, source=source, target=target, translation=translated, context=request_context
    )
    return translated


class PartialSender:
    """Sends the latest partial translation at most once per `interval`, from a task of its
    own. The stream only offers each new value; values that arrive together go out as one,
    so a loaded server (whose reads of the reply are spread out) sends fewer partials, not
    more. The first waits one interval too: a translation done by then reaches readers whole
    in the `message` frame."""

    def __init__(
        self,
        *,
        send: Callable[[str], Awaitable[None]],
        announcement: Announcement,
        interval: float | None = None,
        clock: Clock = LOOP_CLOCK,
    ) -> None:
        self._send = send
        self._announcement = announcement
        self._interval = PARTIAL_INTERVAL_SECONDS if interval is None else interval
        self._clock = clock
        self._last_sent_at = clock.now()
        self._latest: str | None = None
        self._sent: str | None = None
        self._offered = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._sending = False
        self._closed = False

    def offer(self, partial: str) -> None:
        self._latest = partial
        self._offered.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            wait = self._last_sent_at + self._interval - self._clock.now()
            if wait > 0:
                await self._clock.sleep(wait)
            latest = self._latest
            if latest is None or latest == self._sent:
                self._offered.clear()
                await self._offered.wait()
                continue
            self._sending = True
            try:
                await self._announcement.now()
                await self._send(latest)
            finally:
                self._sending = False
            self._sent = latest
            self._last_sent_at = self._clock.now()
            if self._closed:
                return

    async def close(self) -> None:
        """No partial after this one returns (the message follows). A partial being
        broadcast is let finish rather than cut off inside the channel layer."""
        self._closed = True
        task = self._task
        if task is None or task.done():
            return
        if not self._sending:
            task.cancel()  # it is only waiting: for the interval, or for a value
        await asyncio.wait([task])

"""Voice notes in text chat, and any message read aloud in the reader's language: the size
rule a note's upload is held to, and the streamed answer a reader gets. The use cases are
apps.voice.actions `do_store_voice_note` and `do_open_message_audio`.

A voice note is the push-to-talk pipeline, one-shot and asynchronous: the recording is
transcribed in the sender's language, then sent like a typed message (kind "voice_note")
through the chat's own send path, so it is translated into every member's language when
written, streams to readers, counts against the send rate limit, and a resent
`client_msg_id` never makes a second one. The recording itself is not kept.

Any member can then fetch a message as speech in their own language: the text they read is
synthesized and streamed (the first bytes go out while the provider is still synthesizing),
once: later requests for it are served from the cache (apps.voice.speech_cache). Both are
limited per user (apps.voice.limits).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from django.conf import settings

from apps.core.errors import PayloadTooLarge
from apps.voice.speech import SpeechUnavailable


def voice_note_size_check(*, size: int) -> None:
    if size > settings.VOICE_NOTE_MAX_BYTES:
        raise PayloadTooLarge(f"A voice note is at most {settings.VOICE_NOTE_MAX_BYTES} bytes")


@dataclass
class MessageAudio:
    """Speech for one message in one reader's language; `chunks` streams it."""

    language: str
    content_type: str
    first_chunk: bytes
    rest: AsyncIterator[bytes]

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self.first_chunk
        try:
            async for chunk in self.rest:
                yield chunk
        except SpeechUnavailable:
            # The headers are gone already: the audio just ends early.
            return

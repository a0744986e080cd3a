"""Voice notes in text chat, and any message read aloud in the reader's language.

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

from apps.accounts.models import User
from apps.chats import actions, late_translations, sending
from apps.chats.presenters import message_text_for
from apps.chats.selectors import message_get
from apps.core.concurrency import run_blocking
from apps.core.errors import InvalidInput, NotFound, ServiceError, Unavailable
from apps.voice import limits
from apps.voice.selectors import voice_chat_get
from apps.voice.speech import SpeechUnavailable, speech_transcribe, synthesized_content_type
from apps.voice.speech_cache import speech_cached_stream

VOICE_NOTE_KIND = "voice_note"


class PayloadTooLarge(ServiceError):
    status = 413


def voice_note_size_check(*, size: int) -> None:
    if size > settings.VOICE_NOTE_MAX_BYTES:
        raise PayloadTooLarge(f"A voice note is at most {settings.VOICE_NOTE_MAX_BYTES} bytes")


async def voice_note_send(
    *, user: User, chat_id: str, audio: bytes, audio_format: str, client_msg_id: str | None = None
) -> sending.SendOutcome:
    """Transcribe the recording and send its text as the sender's voice note."""
    client_msg_id = sending.client_msg_id_validate(client_msg_id)
    await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user.user_id)
    if client_msg_id is not None:
        # A resend of a note already stored: no second transcription.
        resent = await actions.do_resend_message(
            chat_id=chat_id, user=user, client_msg_id=client_msg_id
        )
        if resent is not None:
            return resent
    if not audio:
        raise InvalidInput("The voice note is empty")
    voice_note_size_check(size=len(audio))
    # Before speech-to-text, which is what costs; the send limit comes after it.
    await limits.voice_note_limit_check(user_id=user.user_id)
    try:
        transcript = await speech_transcribe(
            audio=audio, language=user.native_language, audio_format=audio_format
        )
    except SpeechUnavailable as error:
        raise Unavailable("Speech recognition is unavailable; try again later") from error
    if not transcript.text:
        raise InvalidInput("No speech was recognised in the voice note")
    return await actions.do_send_message(
        user=user,
        chat_id=chat_id,
        text=transcript.text,
        client_msg_id=client_msg_id,
        kind=VOICE_NOTE_KIND,
    )


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


async def message_audio_open(*, user: User, chat_id: str, seq: int) -> MessageAudio:
    """The message as speech in the reader's language, once its first bytes are in: 429 over
    the reader's limits (requests; new syntheses a day), 404 "Chat not found" for anyone not
    a member, 404 for no such message, 503 when synthesis fails before it starts. Audio is
    bought once per message, language and text (apps.voice.speech_cache)."""
    await limits.speech_limit_check(user_id=user.user_id)
    await run_blocking(voice_chat_get)(chat_id=chat_id, user_id=user.user_id)
    message = await run_blocking(message_get)(chat_id=chat_id, seq=seq)
    if message is None:
        raise NotFound("Message not found")
    language = user.native_language
    # A message written before this reader had their language is translated now, once.
    (message,) = await late_translations.messages_in_language(messages=[message], language=language)
    text, text_language, _ = message_text_for(message=message, language=language)
    stream = speech_cached_stream(
        chat_id=chat_id, seq=seq, text=text, language=text_language, user_id=user.user_id
    )
    try:
        first = await anext(stream)
    except (SpeechUnavailable, StopAsyncIteration) as error:
        await stream.aclose()
        raise Unavailable("Speech synthesis is unavailable; try again later") from error
    return MessageAudio(
        language=text_language,
        content_type=synthesized_content_type(),
        first_chunk=first,
        rest=stream,
    )

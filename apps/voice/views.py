from django.http import HttpRequest, JsonResponse, StreamingHttpResponse

from apps.accounts.http import authenticated
from apps.accounts.models import User
from apps.chats.protocol import MessageCreateReply
from apps.core.errors import InvalidInput
from apps.core.http import endpoint, id_field, json_body, json_response
from apps.voice import actions
from apps.voice.notes import voice_note_size_check
from apps.voice.speech import AUDIO_FORMATS, audio_format_from_content_type

# A reader's speech for a message never changes once written; their browser may keep it.
AUDIO_CACHE_CONTROL = "private, max-age=86400"


@authenticated
async def _token(request: HttpRequest, *, user: User) -> JsonResponse:
    body = json_body(request)
    issued = await actions.do_issue_voice_token(user=user, chat_id=id_field(body, "chat_id"))
    return json_response(issued)


@authenticated
async def _voice_note_create(request: HttpRequest, *, user: User, chat_id: str) -> JsonResponse:
    """The body is the recording itself (Content-Type: audio/webm, audio/ogg, audio/wav...)."""
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    # Refused before the body is read.
    voice_note_size_check(size=declared)
    audio_format = request.GET.get("format") or audio_format_from_content_type(request.content_type)
    if audio_format not in AUDIO_FORMATS:
        raise InvalidInput(
            "Content-Type must be an audio type (audio/webm, audio/ogg, audio/wav, audio/mpeg, "
            "audio/mp4, audio/flac) or format one of " + ", ".join(AUDIO_FORMATS)
        )
    outcome = await actions.do_store_voice_note(
        user=user,
        chat_id=chat_id,
        audio=request.body,
        audio_format=audio_format,
        client_msg_id=request.GET.get("client_msg_id") or None,
    )
    return json_response(
        MessageCreateReply(chat_id=chat_id, message=outcome.message, duplicate=outcome.duplicate),
        status=200 if outcome.duplicate else 201,
    )


@authenticated
async def _message_audio(request: HttpRequest, *, user: User, chat_id: str, seq: int):
    audio = await actions.do_open_message_audio(user=user, chat_id=chat_id, seq=seq)
    response = StreamingHttpResponse(audio.chunks(), content_type=audio.content_type)
    response["Cache-Control"] = AUDIO_CACHE_CONTROL
    response["Content-Language"] = audio.language
    return response


token = endpoint(post=_token)
voice_notes = endpoint(post=_voice_note_create)
message_audio = endpoint(get=_message_audio)

"""What one reader chooses about a chat's translations into their language: formality.

Stored on the reader's own inbox row (ChatMembership.formality), which only they write, so
it needs no version: the last choice stands. Languages that mark formality in the second
person (FORMALITY_LANGUAGES) use it; for the others it is kept and has no effect.
"""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from apps.chats.models import ChatMembership
from apps.chats.selectors import CHAT_NOT_FOUND, chat_id_plausible
from apps.core.errors import InvalidInput, NotFound

FORMALITIES = ("formal", "informal")
# tu/vous, tú/usted, du/Sie, tu/você (o senhor), 你/您, plain/です・ます, 해체/해요체, तुम/आप;
# English and Arabic have no such pair of pronouns.
FORMALITY_LANGUAGES = frozenset({"es", "fr", "de", "pt", "zh", "ja", "ko", "hi"})


def formality_validate(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value in FORMALITIES):
        return value
    raise InvalidInput('formality must be "formal", "informal" or null')


def chat_formality_set(*, user_id: str, chat_id: str, formality: str | None) -> str | None:
    """Set (None: clear) how the reader wants translations addressed in this chat; 404
    unless they are a member."""
    if not chat_id_plausible(chat_id):
        raise NotFound(CHAT_NOT_FOUND)
    row = ChatMembership(user_id, chat_id)
    action = (
        ChatMembership.formality.remove()
        if formality is None
        else ChatMembership.formality.set(formality)
    )
    try:
        # The row exists exactly while the user is a member.
        row.update(actions=[action], condition=ChatMembership.chat_id.exists())
    except UpdateError as error:
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise NotFound(CHAT_NOT_FOUND) from error
        raise
    return formality

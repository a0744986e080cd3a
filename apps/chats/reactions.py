"""Reactions to a message: its rules, its one write and how they look (the use case with its
event: actions.do_toggle_reaction).

A reaction is one emoji per person per message, kept on the Message item itself as the map
`reactions` (user_id -> emoji), so history and live frames carry them with no extra read.
Reacting with the emoji one already has takes it away (a toggle); another emoji replaces it.

The write is one UpdateItem that sets only `reactions` and `reactions_version`: the
translations other writers add to the same item at the same moment are never rewritten. It is
conditional on `reactions_version` being the one read, so two people reacting at once cannot
both pass the bound on distinct emoji (`REACTIONS_DISTINCT_MAX`): the second is refused by
DynamoDB, reads the item again and decides again, a few times at most.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.operand import Path

from apps.chats import protocol
from apps.chats.models import SEQ_DIGITS, Message, message_deleted
from apps.chats.selectors import chat_get_for_member, map_as_dict, message_get
from apps.core.errors import Conflict, InvalidInput, NotFound

# The longest emoji in use (a family or a couple with skin tones, a subdivision flag) is
# 10 or so code points; anything much longer is not one emoji.
REACTION_MAX_CODE_POINTS = 32
# A write refused because someone else's reaction landed first reads again and retries; as
# many people reacting to one message in the same few milliseconds is rare.
REACTION_WRITE_ATTEMPTS = 8
MESSAGE_NOT_FOUND = "Message not found"
NOT_ONE_EMOJI = "emoji must be a single emoji"
DELETED_MESSAGE = "a deleted message takes no reactions"
REACTIONS_BUSY = "the reactions to this message changed meanwhile; try again"
# Written by the helper that deletes messages (a tombstone); absent on every other message.
TOMBSTONE_ATTRIBUTE = Message.deleted_at.attr_name

_ZWJ = 0x200D
_VARIATION_SELECTORS = (0xFE0E, 0xFE0F)
_KEYCAP = 0x20E3
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
_BLACK_FLAG = 0x1F3F4
_TAGS = range(0xE0020, 0xE007F)
_CANCEL_TAG = 0xE007F
_KEYCAP_BASES = frozenset("0123456789#*")
# Unicode's Extended_Pictographic code points below the emoji planes (emoji-data.txt), and the
# emoji planes themselves (less the regional indicators and skin tones, handled on their own).
_PICTOGRAPHS_BMP = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x2199),
    (0x21A9, 0x21AA),
    (0x231A, 0x231B),
    (0x2328, 0x2328),
    (0x2388, 0x2388),
    (0x23CF, 0x23CF),
    (0x23E9, 0x23F3),
    (0x23F8, 0x23FA),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25AB),
    (0x25B6, 0x25B6),
    (0x25C0, 0x25C0),
    (0x25FB, 0x25FE),
    (0x2600, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
)


def _is_pictograph(code: int) -> bool:
    if 0x1F000 <= code <= 0x1FAFF:
        return code not in _REGIONAL_INDICATORS and code not in _SKIN_TONES
    return any(low <= code <= high for low, high in _PICTOGRAPHS_BMP)


def _is_emoji_element(codes: list[int]) -> bool:
    """One pictograph, optionally with a variation selector and a skin tone (in either
    order, as keyboards write them), as joined by ZWJ into a sequence."""
    if not codes or not _is_pictograph(codes[0]):
        return False
    rest = codes[1:]
    if rest and rest[0] in _VARIATION_SELECTORS:
        rest = rest[1:]
    if rest and rest[0] in _SKIN_TONES:
        rest = rest[1:]
    if rest and rest[0] in _VARIATION_SELECTORS:
        rest = rest[1:]
    return not rest


def is_single_emoji(text: str) -> bool:
    """Whether `text` is exactly one emoji: a pictograph (with a variation selector or skin
    tone), a ZWJ sequence of them, a flag (two regional indicators), a subdivision flag (tag
    sequence) or a keycap. Letters, digits alone, spaces, several emoji: False."""
    codes = [ord(char) for char in text]
    if not codes or len(codes) > REACTION_MAX_CODE_POINTS:
        return False
    if len(codes) == 2 and all(code in _REGIONAL_INDICATORS for code in codes):
        return True
    if text[0] in _KEYCAP_BASES:
        return codes[1:] in ([_KEYCAP], [0xFE0F, _KEYCAP])
    if codes[0] == _BLACK_FLAG and len(codes) > 2 and codes[-1] == _CANCEL_TAG:
        tags = codes[1:-1]
        if all(code in _TAGS for code in tags):
            return True
    elements: list[list[int]] = [[]]
    for code in codes:
        if code == _ZWJ:
            elements.append([])
        else:
            elements[-1].append(code)
    return all(_is_emoji_element(element) for element in elements)


def reaction_emoji_validate(emoji: object) -> str:
    """The emoji of a reaction, normalised (NFC); anything but one emoji is InvalidInput."""
    if not isinstance(emoji, str):
        raise InvalidInput(NOT_ONE_EMOJI)
    cleaned = unicodedata.normalize("NFC", emoji)
    if not is_single_emoji(cleaned):
        raise InvalidInput(NOT_ONE_EMOJI)
    return cleaned


_SEQ_MAX = 10**SEQ_DIGITS - 1


def reaction_seq_validate(seq: object) -> int:
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= _SEQ_MAX:
        raise InvalidInput("seq must be a message's sequence number, a whole number from 1")
    return seq


def reactions_distinct_max() -> int:
    return int(settings.REACTIONS_DISTINCT_MAX)


def reactions_of(message: Message) -> dict[str, str]:
    """user_id -> emoji, as stored on the message (none on most)."""
    return {
        str(user_id): str(emoji)
        for user_id, emoji in map_as_dict(getattr(message, "reactions", None)).items()
    }


def reactions_summary(reactions: Mapping[str, str]) -> list[protocol.ReactionSummary]:
    """Each emoji once, with how many reacted with it and who: the most used first (ties in
    code point order, so chips keep their places while counts stay equal)."""
    by_emoji: dict[str, list[str]] = {}
    for user_id, emoji in reactions.items():
        by_emoji.setdefault(emoji, []).append(user_id)
    ordered = sorted(by_emoji.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        {"emoji": emoji, "count": len(user_ids), "user_ids": sorted(user_ids)}
        for emoji, user_ids in ordered
    ]


def message_reactions_view(message: Message) -> list[protocol.ReactionSummary]:
    return reactions_summary(reactions_of(message))


@dataclass(frozen=True)
class ReactionToggled:
    # The message as stored after the write (translations included).
    message: Message
    # The reacting person's emoji now; None when the toggle took it away.
    emoji: str | None
    member_ids: frozenset[str]


def _reactions_after(
    *, current: dict[str, str], user_id: str, emoji: str, distinct_max: int
) -> tuple[dict[str, str], str | None]:
    after = dict(current)
    if current.get(user_id) == emoji:
        del after[user_id]
        return after, None
    after[user_id] = emoji
    distinct_after = len(set(after.values()))
    if distinct_after > distinct_max and distinct_after > len(set(current.values())):
        raise Conflict(
            f"a message takes at most {distinct_max} different emoji; "
            "react with one that is already there"
        )
    return after, emoji


def reaction_toggle(*, chat_id: str, seq: int, user_id: str, emoji: str) -> ReactionToggled:
    """Toggle `user_id`'s `emoji` on message `seq` (404 unless a member and the message
    exists; 409 for a deleted message, or a new emoji past the bound). Reads the chat and the
    message, then one conditional UpdateItem (again, from a fresh read, when another reaction
    landed in between)."""
    chat = chat_get_for_member(chat_id=chat_id, user_id=user_id)
    distinct_max = reactions_distinct_max()
    for _ in range(REACTION_WRITE_ATTEMPTS):
        message = message_get(chat_id=chat_id, seq=seq)
        if message is None:
            raise NotFound(MESSAGE_NOT_FOUND)
        if message_deleted(message):
            raise Conflict(DELETED_MESSAGE)
        after, now = _reactions_after(
            current=reactions_of(message), user_id=user_id, emoji=emoji, distinct_max=distinct_max
        )
        version = int(getattr(message, "reactions_version", None) or 0)
        unchanged = (
            Message.reactions_version.does_not_exist()
            if version == 0
            else Message.reactions_version == version
        )
        try:
            message.update(
                actions=[
                    Message.reactions.set(after) if after else Message.reactions.remove(),
                    Message.reactions_version.set(version + 1),
                ],
                condition=(
                    Message.sk.exists() & Path(TOMBSTONE_ATTRIBUTE).does_not_exist() & unchanged
                ),
            )
        except UpdateError as error:
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            continue
        return ReactionToggled(message=message, emoji=now, member_ids=frozenset(chat.member_ids))
    raise Conflict(REACTIONS_BUSY)

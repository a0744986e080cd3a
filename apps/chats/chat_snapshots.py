"""Recent copies of chat items, per process, so that a send needs no read before its write.

A send needs the chat's members, their languages and its last sequence number. Reading them
from DynamoDB before every message costs a request (and its CPU) on the hot path; a copy
kept here from the last send or delivery in the same chat is nearly always right. It never
has to be: the commit's conditions (`last_seq`, `roster_version`, membership) catch a stale
copy, and the commit then reads the chat again (services.message_commit).

Copies are replaced, never changed in place: threads committing a message read them.
"""

from __future__ import annotations

from apps.chats.models import Chat
from apps.core.recent_copies import RecentCopies

# A copy is trusted this long; a member who left in another process is refused at commit
# regardless, and the copy is read again after this.
SNAPSHOT_SECONDS = 30.0
SNAPSHOTS_KEPT = 20_000


class ChatSnapshots:
    def __init__(self, *, seconds: float = SNAPSHOT_SECONDS, kept: int = SNAPSHOTS_KEPT) -> None:
        self._copies: RecentCopies[Chat] = RecentCopies(seconds=seconds, kept=kept)

    def get(self, chat_id: str) -> Chat | None:
        return self._copies.get(chat_id)

    def put(self, chat: Chat) -> None:
        self._copies.put(chat.chat_id, chat)

    def seq_seen(self, chat_id: str, seq: int) -> None:
        """A message with this sequence number exists: the next send in the chat takes the
        one after it."""
        self._copies.replace(
            chat_id,
            lambda chat: None if int(chat.last_seq) >= seq else chat_with_last_seq(chat, seq),
        )

    def forget(self, chat_id: str) -> None:
        self._copies.forget(chat_id)

    def clear(self) -> None:
        self._copies.clear()


def chat_with_last_seq(chat: Chat, seq: int) -> Chat:
    copy = Chat(chat.chat_id)
    copy.attribute_values = dict(chat.attribute_values)
    copy.last_seq = seq
    return copy


chat_snapshots = ChatSnapshots()

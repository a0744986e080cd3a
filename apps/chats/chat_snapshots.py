"""Recent copies of chat items, per process, so that a send needs no read before its write.

A send needs the chat's members, their languages and its last sequence number. Reading them
from DynamoDB before every message costs a request (and its CPU) on the hot path; a copy
kept here from the last send or delivery in the same chat is nearly always right. It never
has to be: the commit's conditions (`last_seq`, `roster_version`, membership) catch a stale
copy, and the commit then reads the chat again (services.message_commit).

Copies are replaced, never changed in place: threads committing a message read them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from apps.chats.models import Chat

# A copy is trusted this long; a member who left in another process is refused at commit
# regardless, and the copy is read again after this.
SNAPSHOT_SECONDS = 30.0
SNAPSHOTS_KEPT = 20_000


class ChatSnapshots:
    def __init__(self, *, seconds: float = SNAPSHOT_SECONDS, kept: int = SNAPSHOTS_KEPT) -> None:
        self._seconds = seconds
        self._kept = kept
        self._lock = threading.Lock()
        self._copies: OrderedDict[str, tuple[Chat, float]] = OrderedDict()

    def get(self, chat_id: str) -> Chat | None:
        with self._lock:
            entry = self._copies.get(chat_id)
            if entry is None:
                return None
            if entry[1] < time.monotonic():
                del self._copies[chat_id]
                return None
            return entry[0]

    def put(self, chat: Chat) -> None:
        with self._lock:
            self._copies[chat.chat_id] = (chat, time.monotonic() + self._seconds)
            self._copies.move_to_end(chat.chat_id)
            while len(self._copies) > self._kept:
                self._copies.popitem(last=False)

    def seq_seen(self, chat_id: str, seq: int) -> None:
        """A message with this sequence number exists: the next send in the chat takes the
        one after it."""
        with self._lock:
            entry = self._copies.get(chat_id)
            if entry is None or int(entry[0].last_seq) >= seq:
                return
            self._copies[chat_id] = (chat_with_last_seq(entry[0], seq), entry[1])

    def forget(self, chat_id: str) -> None:
        with self._lock:
            self._copies.pop(chat_id, None)

    def clear(self) -> None:
        with self._lock:
            self._copies.clear()


def chat_with_last_seq(chat: Chat, seq: int) -> Chat:
    copy = Chat(chat.chat_id)
    copy.attribute_values = dict(chat.attribute_values)
    copy.last_seq = seq
    return copy


chat_snapshots = ChatSnapshots()

"""Chat items: the `chats`, `user_chats` and `messages` tables.

| table        | keys                                  | index                                   | access pattern |
|--------------|---------------------------------------|-----------------------------------------|----------------|
| `chats`      | `chat_id`                             |                                         | GetItem / UpdateItem a chat by id: members, sequence counter |
| `user_chats` | `user_id` + `chat_id`                 | LSI `activity_index`: `user_id` + `activity_at` | inbox: Query newest activity first; membership check: GetItem |
| `messages`   | `chat_id` + `sk` (`m#<seq, 12 digits>`) |                                        | history: Query newest first from a cursor; resume: Query after a sequence number |

Non-key attributes grow with the chat features; changing them needs no table change.
"""

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from apps.core.dynamo import dynamo_table


@dynamo_table("chats")
class Chat(Model):
    class Meta:
        table_name = "chats"

    chat_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="direct")
    member_ids = UnicodeSetAttribute(default=set)
    last_seq = NumberAttribute(default=0)


class ActivityIndex(LocalSecondaryIndex):
    class Meta:
        index_name = "activity_index"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    activity_at = UnicodeAttribute(range_key=True)


@dynamo_table("user_chats")
class ChatMembership(Model):
    class Meta:
        table_name = "user_chats"

    user_id = UnicodeAttribute(hash_key=True)
    chat_id = UnicodeAttribute(range_key=True)
    activity_at = UnicodeAttribute()
    activity_index = ActivityIndex()


@dynamo_table("messages")
class Message(Model):
    class Meta:
        table_name = "messages"

    chat_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)

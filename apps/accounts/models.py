"""Account items in the `users` table.

The table's only key is the string `pk`, and it holds two kinds of item:

| item            | pk                          | read by                                   |
|-----------------|-----------------------------|-------------------------------------------|
| User            | `USER#<user_id>`            | GetItem on every authenticated request    |
| UsernameClaim   | `USERNAME#<username lower>` | GetItem at login and chat creation        |

A signup writes both in one transaction, each on condition that its key is new, so two
concurrent signups for one username cannot both succeed. Usernames are unique regardless of
case. New ones are lower-case ASCII (apps/core/text.py); accounts made before that keep the
spelling they chose on the User item and still log in by their case-folded claim.
"""

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from apps.core.dynamo import dynamo_table

USER_KEY_PREFIX = "USER#"
USERNAME_KEY_PREFIX = "USERNAME#"


@dynamo_table("users")
class User(Model):
    class Meta:
        table_name = "users"

    pk = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    username = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    native_language = UnicodeAttribute()
    # Other languages the person reads (codes of languages.LANGUAGES, in that order): a
    # message written in one of them reaches them untranslated. Absent on older accounts.
    read_languages = ListAttribute(of=UnicodeAttribute, null=True)
    password_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    is_active = BooleanAttribute(default=True)
    # False: others see neither when this user is online nor when they were last seen
    # (apps/accounts/presence.py). Absent (older accounts) means shown.
    presence_visible = BooleanAttribute(null=True)
    # Raised whenever existing tokens must stop working (password reset, disabling).
    token_version = NumberAttribute(default=0)

    @staticmethod
    def key_for(user_id: str) -> str:
        return f"{USER_KEY_PREFIX}{user_id}"


@dynamo_table("users", owns_schema=False)
class UsernameClaim(Model):
    class Meta:
        table_name = "users"

    pk = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()

    @staticmethod
    def key_for(username: str) -> str:
        return f"{USERNAME_KEY_PREFIX}{username.casefold()}"

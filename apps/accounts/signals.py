"""Hooks other apps attach to, so that accounts never imports them.

`user_language_changed` is sent (with `asend`, awaited) by `do_update_profile` after a new
native language, or a new list of languages the user also reads (`read_languages`), is
stored and before the profile is broadcast: keyword `user` is the stored account. A receiver
may be async; it returns how many of its records took up the new languages (the chats app:
the chats whose member languages it updated).
"""

from django.dispatch import Signal

user_language_changed = Signal()

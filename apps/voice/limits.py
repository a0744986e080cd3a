"""How often one user may make voice cost something: ring people, take push-to-talk turns,
have voice notes transcribed, and have messages read aloud (settings "Voice: per-user
limits", `<setting>_COUNT` every `<setting>_WINDOW_SECONDS`). Each is a sliding window in
Redis (apps.core.ratelimit), shared by every instance; over it, RateLimited (429) carries
how long to wait.

Each check is made before anything is written, rung or bought, so a refused request leaves
no trace but the refusal.
"""

from __future__ import annotations

from apps.core.ratelimit import SettingsRateLimit


def _limit(name: str, setting: str, counted: str) -> SettingsRateLimit:
    detail = f"too many {counted}: at most {{count}} every {{window_seconds}} seconds"
    return SettingsRateLimit(name=name, setting=setting, detail=detail)


# Per caller.
CALL_START = _limit("call_start", "VOICE_CALL_START_LIMIT", "calls")
# Per chat: several accounts together cannot ring a chat's members more often than this.
# Checked only once the caller is known to be a member, so outsiders cannot use up a chat's
# calls.
CHAT_CALL_START = _limit("chat_call_start", "VOICE_CHAT_CALL_START_LIMIT", "calls in this chat")
TURN_START = _limit("turn_start", "VOICE_TURN_START_LIMIT", "push-to-talk turns")
VOICE_NOTE = _limit("voice_note", "VOICE_NOTE_LIMIT", "voice notes")
# Every request for message audio, cached or not.
SPEECH = _limit("speech", "VOICE_SPEECH_LIMIT", "audio requests")
# Only what is bought: a request that needs a new synthesis (not cached, none under way).
# Bounds a reader's speech bill at this many messages a day.
SPEECH_SYNTHESIS = _limit("speech_synthesis", "VOICE_SPEECH_DAILY_LIMIT", "audio syntheses today")

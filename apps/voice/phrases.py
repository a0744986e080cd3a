"""What a call leaves in the chat history, in each language offered at signup.

A call's outcome is a message like any other (kind "call"), so it carries its text in every
member's language. These few fixed phrases need no translation provider: they are written
here once. A language missing from the table falls back to English.
"""

from __future__ import annotations

CALL_MISSED = "missed"  # nobody answered in time
CALL_DECLINED = "declined"
CALL_CANCELLED = "cancelled"  # the caller hung up before anyone answered
CALL_ENDED = "ended"  # answered, then over; the text carries its duration
# Not an outcome: what a push says to someone away while a call rings for them.
CALL_INCOMING = "incoming"

FALLBACK_LANGUAGE = "en"

_PHRASES: dict[str, dict[str, str]] = {
    CALL_INCOMING: {
        "en": "Incoming call",
        "es": "Llamada entrante",
        "fr": "Appel entrant",
        "de": "Eingehender Anruf",
        "pt": "Chamada recebida",
        "zh": "来电",
        "ja": "着信",
        "ko": "수신 전화",
        "ar": "مكالمة واردة",
        "hi": "इनकमिंग कॉल",
    },
    CALL_MISSED: {
        "en": "Missed call",
        "es": "Llamada perdida",
        "fr": "Appel manqué",
        "de": "Verpasster Anruf",
        "pt": "Chamada perdida",
        "zh": "未接来电",
        "ja": "不在着信",
        "ko": "부재중 전화",
        "ar": "مكالمة فائتة",
        "hi": "मिस्ड कॉल",
    },
    CALL_DECLINED: {
        "en": "Call declined",
        "es": "Llamada rechazada",
        "fr": "Appel refusé",
        "de": "Anruf abgelehnt",
        "pt": "Chamada recusada",
        "zh": "通话已拒绝",
        "ja": "通話が拒否されました",
        "ko": "거절된 통화",
        "ar": "مكالمة مرفوضة",
        "hi": "कॉल अस्वीकार की गई",
    },
    CALL_CANCELLED: {
        "en": "Call cancelled",
        "es": "Llamada cancelada",
        "fr": "Appel annulé",
        "de": "Anruf abgebrochen",
        "pt": "Chamada cancelada",
        "zh": "通话已取消",
        "ja": "通話がキャンセルされました",
        "ko": "취소된 통화",
        "ar": "مكالمة ملغاة",
        "hi": "कॉल रद्द की गई",
    },
    CALL_ENDED: {
        "en": "Call ended · {duration}",
        "es": "Llamada finalizada · {duration}",
        "fr": "Appel terminé · {duration}",
        "de": "Anruf beendet · {duration}",
        "pt": "Chamada encerrada · {duration}",
        "zh": "通话结束 · {duration}",
        "ja": "通話終了 · {duration}",
        "ko": "통화 종료 · {duration}",
        "ar": "انتهت المكالمة · {duration}",
        "hi": "कॉल समाप्त · {duration}",
    },
}


def call_duration_label(seconds: int) -> str:
    """1:05, or 1:02:05 past an hour."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def call_phrase(*, outcome: str, language: str, duration_seconds: int | None = None) -> str:
    phrases = _PHRASES[outcome]
    template = phrases.get(language) or phrases[FALLBACK_LANGUAGE]
    return template.format(duration=call_duration_label(duration_seconds or 0))

"""Settings, read from the environment (twelve-factor) with django-environ.

Every variable is listed in README.md's configuration table. Outside development the
process refuses to start when a secret is missing, weak or left at a known default; an unset
ENVIRONMENT means production, so a forgotten variable fails closed.
"""

import hashlib
from pathlib import Path

import environ

from apps.core.config_errors import ConfigurationError
from commonality.secret_strength import SECRET_MIN_LENGTH, secret_weakness

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a developer convenience; real deployments set the environment directly.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

# --- Fail-closed configuration -----------------------------------------------------------

ENVIRONMENTS = ("development", "staging", "production")
# Unset means production: development (DEBUG pages, a public JWT secret, open hosts) is only
# ever chosen explicitly, by scripts/dev.py, docker-compose.yml, the tests, or .env.
ENVIRONMENT_SET = bool(env.str("ENVIRONMENT", default="").strip())
ENVIRONMENT = env.str("ENVIRONMENT", default="").strip().lower() or "production"


def configuration_refused(message: str) -> ConfigurationError:
    """The error for a refused setting; when ENVIRONMENT was left unset it also says that
    production's rules applied and how to run locally instead."""
    if not ENVIRONMENT_SET:
        message += (
            " (ENVIRONMENT is unset, so production rules apply; "
            "for a local run set ENVIRONMENT=development)"
        )
    return ConfigurationError(message)


if ENVIRONMENT not in ENVIRONMENTS:
    raise configuration_refused(
        f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)} (got {ENVIRONMENT!r})"
    )
IS_DEVELOPMENT = ENVIRONMENT == "development"

DEBUG = IS_DEVELOPMENT and env.bool("DEBUG", default=True)
# The debug page and error reports never show a credential, not even REDIS_URL's password
# (apps/core/exception_reporter.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = (
    "apps.core.exception_reporter.CredentialHidingExceptionReporterFilter"
)
DEFAULT_EXCEPTION_REPORTER = "apps.core.exception_reporter.CredentialHidingExceptionReporter"

# --- Secrets -----------------------------------------------------------------------------

DEVELOPMENT_JWT_SECRET = "commonality-development-only-jwt-secret-do-not-deploy"
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        DEVELOPMENT_JWT_SECRET,
        "change-me",
        "changeme",
        "change_me",
        "secret",
        "jwt-secret",
        "jwt_secret",
        "your-secret-key",
        "your_secret_key",
        "supersecret",
        "dev",
        "development",
        "test",
        "password",
    }
)
JWT_SECRET_MIN_LENGTH = SECRET_MIN_LENGTH
SECRET_ADVICE = "generate one with `openssl rand -base64 32`"

JWT_SECRET = env.str("JWT_SECRET", default="").strip()
if not IS_DEVELOPMENT:
    if not JWT_SECRET:
        raise configuration_refused(
            f"JWT_SECRET is required when ENVIRONMENT={ENVIRONMENT}; {SECRET_ADVICE}"
        )
    # commonality/secret_strength.py: known defaults, 32 characters, 128 estimated bits, and
    # no 10-character run typed twice.
    weakness = secret_weakness(JWT_SECRET, known_defaults=KNOWN_DEFAULT_SECRETS)
    if weakness:
        raise configuration_refused(f"JWT_SECRET {weakness}; {SECRET_ADVICE}")
elif not JWT_SECRET:
    JWT_SECRET = DEVELOPMENT_JWT_SECRET

JWT_ALGORITHM = "HS256"
JWT_EXPIRATION_MINUTES = env.int("JWT_EXPIRATION_MINUTES", default=1440)
if JWT_EXPIRATION_MINUTES < 1:
    raise ConfigurationError("JWT_EXPIRATION_MINUTES must be a positive number of minutes")

# Django signs nothing we rely on (no sessions or cookies), but it requires a key; derive one
# from JWT_SECRET unless DJANGO_SECRET_KEY is given, so a deploy needs one secret, not two.
DJANGO_SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="").strip()
if DJANGO_SECRET_KEY and not IS_DEVELOPMENT:
    weakness = secret_weakness(DJANGO_SECRET_KEY, known_defaults=KNOWN_DEFAULT_SECRETS)
    if weakness:
        raise configuration_refused(
            f"DJANGO_SECRET_KEY {weakness}; {SECRET_ADVICE}, or leave it unset to derive "
            "one from JWT_SECRET"
        )
SECRET_KEY = (
    DJANGO_SECRET_KEY or hashlib.sha256(f"commonality-django:{JWT_SECRET}".encode()).hexdigest()
)

PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=8)
PASSWORD_MAX_LENGTH = 256

# --- HTTP --------------------------------------------------------------------------------

BACKEND_PORT = env.int("BACKEND_PORT", default=8000)
PORT = env.int("PORT", default=BACKEND_PORT)

ALLOWED_HOSTS = [
    host.strip()
    for host in env.list(
        "ALLOWED_HOSTS",
        default=["localhost", "127.0.0.1", "[::1]", "testserver"] if IS_DEVELOPMENT else [],
    )
    if host.strip()
]
if not IS_DEVELOPMENT and not ALLOWED_HOSTS:
    raise configuration_refused(
        "ALLOWED_HOSTS is required outside development (for example your-app.up.railway.app)"
    )
# "*" would let any Host header through, and with it poisoned absolute URLs and redirects.
if not IS_DEVELOPMENT and "*" in ALLOWED_HOSTS:
    raise configuration_refused(
        "ALLOWED_HOSTS must not contain * outside development; list the host names "
        "(for example your-app.up.railway.app)"
    )

CORS_ORIGINS = [
    origin.rstrip("/")
    for origin in env.list(
        "CORS_ORIGINS",
        default=["http://localhost:3000", "http://127.0.0.1:3000"] if IS_DEVELOPMENT else [],
    )
]
CORS_ALLOWED_ORIGINS = CORS_ORIGINS
CORS_ALLOW_HEADERS = ("authorization", "content-type", "x-request-id")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=CORS_ORIGINS)

INSTALLED_APPS = [
    "daphne",
    "corsheaders",
    "channels",
    "apps.core",
    "apps.accounts",
    "apps.chats",
    "apps.voice",
]

MIDDLEWARE = [
    # First: every response (errors, redirects) carries the request id, and liveness probes
    # are answered before host validation and the HTTPS redirect (apps/core/middleware.py).
    "apps.core.middleware.request_id_middleware",
    "apps.core.middleware.health_middleware",
    # Outside everything else, so redirects and refusals (400, 401, 404, 429) are covered too.
    "apps.core.middleware.api_no_store_middleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "commonality.urls"
ASGI_APPLICATION = "commonality.asgi.application"
APPEND_SLASH = False
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
USE_I18N = False

# No relational database: every request reads and writes DynamoDB through PynamoDB. Django's
# own database-backed apps (auth, sessions, admin, contenttypes) are not installed; accounts
# live in DynamoDB and requests authenticate with JWTs. An empty DATABASES makes any accidental
# ORM use fail loudly instead of silently creating a SQLite file.
DATABASES: dict = {}


TEMPLATES: list = []

# --- DynamoDB ----------------------------------------------------------------------------

DYNAMODB_EMBEDDED = "embedded"
DYNAMODB_ENDPOINT = env.str("DYNAMODB_ENDPOINT", default="").strip() or None
if DYNAMODB_ENDPOINT == DYNAMODB_EMBEDDED and not IS_DEVELOPMENT:
    raise configuration_refused(
        "DYNAMODB_ENDPOINT=embedded keeps data in memory and is for development only; "
        "omit DYNAMODB_ENDPOINT to use AWS DynamoDB"
    )
DYNAMODB_TABLE_PREFIX = env.str("DYNAMODB_TABLE_PREFIX", default="")
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_SESSION_TOKEN = env.str("AWS_SESSION_TOKEN", default="") or None

# --- Channel layer -----------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="").strip() or None
if REDIS_URL is None and not IS_DEVELOPMENT:
    raise configuration_refused(
        "REDIS_URL is required outside development "
        "(rediss://default:PASSWORD@HOST:6379 for Upstash)"
    )
# Redis pub/sub by default: README.md ("Channel layer") gives the measurements behind it.
# channels-redis's layers, made to reconnect and resubscribe by themselves after Redis goes
# down or restarts (apps/core/channel_layer.py).
REDIS_CHANNEL_LAYERS = {
    "pubsub": "apps.core.channel_layer.ReconnectingPubSubChannelLayer",
    "core": "apps.core.channel_layer.ReconnectingRedisChannelLayer",
}
REDIS_CHANNEL_LAYER = env.str("REDIS_CHANNEL_LAYER", default="pubsub")
if REDIS_CHANNEL_LAYER not in REDIS_CHANNEL_LAYERS:
    raise ConfigurationError(
        f"REDIS_CHANNEL_LAYER must be one of {', '.join(REDIS_CHANNEL_LAYERS)}"
    )
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": REDIS_CHANNEL_LAYERS[REDIS_CHANNEL_LAYER],
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    # Development without Redis: one process only, nothing crosses instances.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Providers ---------------------------------------------------------------------------

OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="") or None
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
OPENAI_TRANSLATION_MODEL = env.str("OPENAI_TRANSLATION_MODEL", default="gpt-4o-mini")
# A translation fails (apps.chats.translation.TranslationUnavailable) after this long in all,
# or sooner if the provider has sent no token within the first-token timeout.
TRANSLATION_TIMEOUT_SECONDS = env.float("TRANSLATION_TIMEOUT_SECONDS", default=8.0)
TRANSLATION_FIRST_TOKEN_TIMEOUT_SECONDS = env.float(
    "TRANSLATION_FIRST_TOKEN_TIMEOUT_SECONDS", default=4.0
)
ELEVENLABS_API_KEY = env.str("ELEVENLABS_API_KEY", default="") or None
ELEVENLABS_BASE_URL = env.str("ELEVENLABS_BASE_URL", default="") or None
ELEVENLABS_TTS_VOICE_ID = env.str("ELEVENLABS_TTS_VOICE_ID", default="Xb7hH8MSUJpSbSDYk0k2")
ELEVENLABS_TTS_MODEL = env.str("ELEVENLABS_TTS_MODEL", default="eleven_flash_v2_5")
ELEVENLABS_TTS_OUTPUT_FORMAT = env.str("ELEVENLABS_TTS_OUTPUT_FORMAT", default="mp3_44100_128")
ELEVENLABS_STT_MODEL = env.str("ELEVENLABS_STT_MODEL", default="scribe_v2")
LIVEKIT_API_KEY = env.str("LIVEKIT_API_KEY", default="") or None
LIVEKIT_API_SECRET = env.str("LIVEKIT_API_SECRET", default="") or None
LIVEKIT_URL = env.str("LIVEKIT_URL", default="") or None

# --- Web Push (apps/core/web_push.py): notifications while the app is closed -----------------
# Off while no private key is set (`python manage.py web_push_keys` makes a pair). Browsers
# subscribe with the public key derived from it (GET /api/push).
WEB_PUSH_VAPID_PRIVATE_KEY = env.str("WEB_PUSH_VAPID_PRIVATE_KEY", default="").strip()
# Who the push services contact about this server's pushes (VAPID's `sub` claim).
WEB_PUSH_CONTACT = env.str("WEB_PUSH_CONTACT", default="mailto:ops@commonality.invalid")
# The push services a subscription's endpoint may be on: the server posts nowhere else.
WEB_PUSH_ALLOWED_HOSTS = env.list(
    "WEB_PUSH_ALLOWED_HOSTS",
    default=[
        "fcm.googleapis.com",
        "updates.push.services.mozilla.com",
        "web.push.apple.com",
        "*.notify.windows.com",
    ],
)
# Plain-http endpoints (a loopback push service in tests and development only).
WEB_PUSH_ALLOW_HTTP = IS_DEVELOPMENT and env.bool("WEB_PUSH_ALLOW_HTTP", default=False)
WEB_PUSH_SUBSCRIPTIONS_MAX = env.int("WEB_PUSH_SUBSCRIPTIONS_MAX", default=10)
# How long a push service keeps a push for a browser that is offline.
WEB_PUSH_TTL_SECONDS = env.int("WEB_PUSH_TTL_SECONDS", default=6 * 3600)
# Pushes waiting to be sent per process; beyond it the oldest are dropped (they are hints).
WEB_PUSH_QUEUE_MAX = env.int("WEB_PUSH_QUEUE_MAX", default=2000)
WEB_PUSH_SUBSCRIBE_RATE_LIMIT_COUNT = env.int("WEB_PUSH_SUBSCRIBE_RATE_LIMIT_COUNT", default=20)
WEB_PUSH_SUBSCRIBE_RATE_LIMIT_WINDOW_SECONDS = env.int(
    "WEB_PUSH_SUBSCRIBE_RATE_LIMIT_WINDOW_SECONDS", default=3600
)

# --- Translation bounds (apps/chats/translation.py) ---------------------------------------
# A translation of a text of B UTF-8 bytes may be at most FACTOR x B + FLOOR bytes; a longer
# reply is no translation (the message goes out untranslated and is retried). The same
# number, capped at the model's output limit, is sent as max_completion_tokens: a token is at
# least one byte, so a reply within the byte bound is never cut by the token limit.
TRANSLATION_REPLY_MAX_FACTOR = env.int("TRANSLATION_REPLY_MAX_FACTOR", default=4)
TRANSLATION_REPLY_MAX_FLOOR_BYTES = env.int("TRANSLATION_REPLY_MAX_FLOOR_BYTES", default=256)
# gpt-4o-mini writes at most 16,384 tokens; the API refuses a request asking for more.
TRANSLATION_MAX_COMPLETION_TOKENS = env.int("TRANSLATION_MAX_COMPLETION_TOKENS", default=16384)
if (
    min(
        TRANSLATION_REPLY_MAX_FACTOR,
        TRANSLATION_REPLY_MAX_FLOOR_BYTES,
        TRANSLATION_MAX_COMPLETION_TOKENS,
    )
    < 1
):
    raise ConfigurationError("the translation bounds must be at least 1")

# --- Voice (apps/voice; README.md "Voice") -------------------------------------------------

# A call nobody answers within this long becomes a missed call.
VOICE_RING_TIMEOUT_SECONDS = env.float("VOICE_RING_TIMEOUT_SECONDS", default=30.0)
# An answered call's state expires after this long even if nobody hangs up.
VOICE_CALL_MAX_SECONDS = env.int("VOICE_CALL_MAX_SECONDS", default=4 * 3600)
# A push-to-talk turn not complete this long after it started returns everyone to idle.
VOICE_TURN_TIMEOUT_SECONDS = env.float("VOICE_TURN_TIMEOUT_SECONDS", default=30.0)
VOICE_TURN_MAX_AUDIO_BYTES = env.int("VOICE_TURN_MAX_AUDIO_BYTES", default=2_000_000)
# The body of POST /api/chats/<id>/voice_notes is the recording; larger ones get 413.
VOICE_NOTE_MAX_BYTES = env.int("VOICE_NOTE_MAX_BYTES", default=2_000_000)
# Each speech-to-text or text-to-speech request gives up after this long.
VOICE_PROVIDER_TIMEOUT_SECONDS = env.float("VOICE_PROVIDER_TIMEOUT_SECONDS", default=10.0)

# --- Voice: per-user limits ---------------------------------------------------------------
# Sliding windows in Redis (apps.core.ratelimit), shared by every instance; over a limit is a
# 429 with Retry-After (REST) or an error frame with retry_after (socket). apps/voice/limits.py.

# Calls one user may start, in any chats: every start rings the other members and leaves a
# call message in the history.
VOICE_CALL_START_LIMIT_COUNT = env.int("VOICE_CALL_START_LIMIT_COUNT", default=5)
VOICE_CALL_START_LIMIT_WINDOW_SECONDS = env.int("VOICE_CALL_START_LIMIT_WINDOW_SECONDS", default=60)
# Calls started in one chat by all its members together (several accounts ringing one person).
VOICE_CHAT_CALL_START_LIMIT_COUNT = env.int("VOICE_CHAT_CALL_START_LIMIT_COUNT", default=10)
VOICE_CHAT_CALL_START_LIMIT_WINDOW_SECONDS = env.int(
    "VOICE_CHAT_CALL_START_LIMIT_WINDOW_SECONDS", default=600
)
# Push-to-talk turns one user may start (each can cost speech-to-text, translation and speech).
VOICE_TURN_START_LIMIT_COUNT = env.int("VOICE_TURN_START_LIMIT_COUNT", default=20)
VOICE_TURN_START_LIMIT_WINDOW_SECONDS = env.int("VOICE_TURN_START_LIMIT_WINDOW_SECONDS", default=60)
# Voice notes one user may have transcribed (counted before speech-to-text; the note then also
# counts against MESSAGE_RATE_LIMIT_* as a message).
VOICE_NOTE_LIMIT_COUNT = env.int("VOICE_NOTE_LIMIT_COUNT", default=10)
VOICE_NOTE_LIMIT_WINDOW_SECONDS = env.int("VOICE_NOTE_LIMIT_WINDOW_SECONDS", default=60)
# Message audio (GET .../messages/{seq}/audio) one user may request, cached or not; and how
# many of those may need a new synthesis (what is paid for) in any 24 hours.
VOICE_SPEECH_LIMIT_COUNT = env.int("VOICE_SPEECH_LIMIT_COUNT", default=10)
VOICE_SPEECH_LIMIT_WINDOW_SECONDS = env.int("VOICE_SPEECH_LIMIT_WINDOW_SECONDS", default=60)
VOICE_SPEECH_DAILY_LIMIT_COUNT = env.int("VOICE_SPEECH_DAILY_LIMIT_COUNT", default=100)
VOICE_SPEECH_DAILY_LIMIT_WINDOW_SECONDS = 24 * 60 * 60  # a day, whatever the count
# Synthesized message audio is kept in Redis (base64) for this long per (message, language,
# voice settings), so it is bought once; audio larger than the size cap is not kept, and at
# most VOICE_SPEECH_CACHE_MAX_ENTRIES are stored per TTL, which bounds the cache's memory at
# about MAX_ENTRIES x MAX_BYTES x 4/3 (100 MB with these defaults; typical audio is far smaller).
VOICE_SPEECH_CACHE_TTL_SECONDS = env.int("VOICE_SPEECH_CACHE_TTL_SECONDS", default=3600)
VOICE_SPEECH_CACHE_MAX_BYTES = env.int("VOICE_SPEECH_CACHE_MAX_BYTES", default=256 * 1024)
VOICE_SPEECH_CACHE_MAX_ENTRIES = env.int("VOICE_SPEECH_CACHE_MAX_ENTRIES", default=300)

# --- Accounts: password hashing and credential throttles ---------------------------------

# Argon2id at OWASP's m=19 MiB, t=2, p=1 (apps/accounts/hashers.py says why); older hashes
# are upgraded at the next successful login.
PASSWORD_HASHERS = ["apps.accounts.hashers.Argon2idPasswordHasher"]
# Hashes (login, signup) run on a pool of their own: at most WORKERS at once per process
# (19 MiB each), at most MAX_WAITING more queued; beyond that, or after WAIT_SECONDS queued,
# the client gets 503 with Retry-After. DynamoDB calls never wait behind hashes.
PASSWORD_HASH_WORKERS = env.int("PASSWORD_HASH_WORKERS", default=2)
PASSWORD_HASH_MAX_WAITING = env.int("PASSWORD_HASH_MAX_WAITING", default=64)
PASSWORD_HASH_WAIT_SECONDS = env.float("PASSWORD_HASH_WAIT_SECONDS", default=5.0)
if PASSWORD_HASH_WORKERS < 1 or PASSWORD_HASH_MAX_WAITING < 0 or PASSWORD_HASH_WAIT_SECONDS <= 0:
    raise ConfigurationError(
        "PASSWORD_HASH_WORKERS must be at least 1, PASSWORD_HASH_MAX_WAITING at least 0 and "
        "PASSWORD_HASH_WAIT_SECONDS positive"
    )

# Proxies in front of the app that append to X-Forwarded-For (Railway's edge: 1). The client
# address for the limits below is the entry that many places from the end; 0 means the
# socket peer, as in development where nothing is in front.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0 if IS_DEVELOPMENT else 1)
if TRUSTED_PROXY_HOPS < 0:
    raise ConfigurationError("TRUSTED_PROXY_HOPS must be 0 or more")

# Sliding windows counted in Redis across instances (apps/accounts/throttles.py); 429 with
# Retry-After beyond them. Every login attempt counts, whatever its outcome.
LOGIN_RATE_LIMIT_PER_ADDRESS_COUNT = env.int("LOGIN_RATE_LIMIT_PER_ADDRESS_COUNT", default=30)
LOGIN_RATE_LIMIT_PER_ADDRESS_WINDOW_SECONDS = env.int(
    "LOGIN_RATE_LIMIT_PER_ADDRESS_WINDOW_SECONDS", default=60
)
# Per account from one address, and per account from all addresses, in one window.
LOGIN_RATE_LIMIT_PER_ACCOUNT_COUNT = env.int("LOGIN_RATE_LIMIT_PER_ACCOUNT_COUNT", default=10)
LOGIN_RATE_LIMIT_PER_ACCOUNT_ALL_ADDRESSES_COUNT = env.int(
    "LOGIN_RATE_LIMIT_PER_ACCOUNT_ALL_ADDRESSES_COUNT", default=100
)
LOGIN_RATE_LIMIT_PER_ACCOUNT_WINDOW_SECONDS = env.int(
    "LOGIN_RATE_LIMIT_PER_ACCOUNT_WINDOW_SECONDS", default=15 * 60
)
# Signups that pass validation, per address.
SIGNUP_RATE_LIMIT_PER_ADDRESS_COUNT = env.int("SIGNUP_RATE_LIMIT_PER_ADDRESS_COUNT", default=10)
SIGNUP_RATE_LIMIT_PER_ADDRESS_WINDOW_SECONDS = env.int(
    "SIGNUP_RATE_LIMIT_PER_ADDRESS_WINDOW_SECONDS", default=3600
)
# Socket tickets (POST /api/ws/ticket) per user.
WS_TICKET_RATE_LIMIT_COUNT = env.int("WS_TICKET_RATE_LIMIT_COUNT", default=30)
WS_TICKET_RATE_LIMIT_WINDOW_SECONDS = env.int("WS_TICKET_RATE_LIMIT_WINDOW_SECONDS", default=60)
# Self-service exports of one's data (GET /api/auth/me/export) per user: each reads every
# message the person wrote.
DATA_EXPORT_RATE_LIMIT_COUNT = env.int("DATA_EXPORT_RATE_LIMIT_COUNT", default=5)
DATA_EXPORT_RATE_LIMIT_WINDOW_SECONDS = env.int(
    "DATA_EXPORT_RATE_LIMIT_WINDOW_SECONDS", default=3600
)
# Message searches (GET /api/search) per user: each reads up to 200 index items.
SEARCH_RATE_LIMIT_COUNT = env.int("SEARCH_RATE_LIMIT_COUNT", default=30)
SEARCH_RATE_LIMIT_WINDOW_SECONDS = env.int("SEARCH_RATE_LIMIT_WINDOW_SECONDS", default=60)
for _name in (
    "SEARCH_RATE_LIMIT_COUNT",
    "SEARCH_RATE_LIMIT_WINDOW_SECONDS",
    "LOGIN_RATE_LIMIT_PER_ADDRESS_COUNT",
    "LOGIN_RATE_LIMIT_PER_ADDRESS_WINDOW_SECONDS",
    "LOGIN_RATE_LIMIT_PER_ACCOUNT_COUNT",
    "LOGIN_RATE_LIMIT_PER_ACCOUNT_ALL_ADDRESSES_COUNT",
    "LOGIN_RATE_LIMIT_PER_ACCOUNT_WINDOW_SECONDS",
    "SIGNUP_RATE_LIMIT_PER_ADDRESS_COUNT",
    "SIGNUP_RATE_LIMIT_PER_ADDRESS_WINDOW_SECONDS",
    "WS_TICKET_RATE_LIMIT_COUNT",
    "WS_TICKET_RATE_LIMIT_WINDOW_SECONDS",
    "DATA_EXPORT_RATE_LIMIT_COUNT",
    "DATA_EXPORT_RATE_LIMIT_WINDOW_SECONDS",
):
    if globals()[_name] < 1:
        raise ConfigurationError(f"{_name} must be at least 1")

# --- Request limits (apps/core/request_limits.py) -----------------------------------------

# Largest request body any other API route accepts (JSON); larger ones get 413 before they are
# read. A 2000-character message is at most ~24 KB of JSON even fully \u-escaped.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=64 * 1024)
# Django's own check (on a declared Content-Length) must never fire below the caps above,
# or a body they allow would fail inside a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(REQUEST_BODY_MAX_BYTES, VOICE_NOTE_MAX_BYTES)

# --- Chat --------------------------------------------------------------------------------

MESSAGE_MAX_CHARS = env.int("MESSAGE_MAX_CHARS", default=2000)
MESSAGE_RATE_LIMIT_COUNT = env.int("MESSAGE_RATE_LIMIT_COUNT", default=30)
MESSAGE_RATE_LIMIT_WINDOW_SECONDS = env.int("MESSAGE_RATE_LIMIT_WINDOW_SECONDS", default=10)
# Reactions (apps/chats/reactions.py): at most this many different emoji on one message, and
# reaction toggles per user per window.
REACTIONS_DISTINCT_MAX = env.int("REACTIONS_DISTINCT_MAX", default=20)
REACTION_RATE_LIMIT_COUNT = env.int("REACTION_RATE_LIMIT_COUNT", default=60)
REACTION_RATE_LIMIT_WINDOW_SECONDS = env.int("REACTION_RATE_LIMIT_WINDOW_SECONDS", default=60)
# Mute changes (PUT /api/chats/{id}/mute) per user per window.
CHAT_MUTE_RATE_LIMIT_COUNT = env.int("CHAT_MUTE_RATE_LIMIT_COUNT", default=30)
CHAT_MUTE_RATE_LIMIT_WINDOW_SECONDS = env.int("CHAT_MUTE_RATE_LIMIT_WINDOW_SECONDS", default=60)
for _name in (
    "REACTIONS_DISTINCT_MAX",
    "REACTION_RATE_LIMIT_COUNT",
    "REACTION_RATE_LIMIT_WINDOW_SECONDS",
    "CHAT_MUTE_RATE_LIMIT_COUNT",
    "CHAT_MUTE_RATE_LIMIT_WINDOW_SECONDS",
):
    if globals()[_name] < 1:
        raise ConfigurationError(f"{_name} must be at least 1")
# Edit and delete for everyone (apps/chats/message_changes.py): a sender may edit a text
# message this long after sending it (deleting has no window); edits and deletes together are
# limited per user to MESSAGE_CHANGE_RATE_LIMIT_COUNT every ..._WINDOW_SECONDS.
MESSAGE_EDIT_WINDOW_SECONDS = env.int("MESSAGE_EDIT_WINDOW_SECONDS", default=900)
MESSAGE_CHANGE_RATE_LIMIT_COUNT = env.int("MESSAGE_CHANGE_RATE_LIMIT_COUNT", default=20)
MESSAGE_CHANGE_RATE_LIMIT_WINDOW_SECONDS = env.int(
    "MESSAGE_CHANGE_RATE_LIMIT_WINDOW_SECONDS", default=60
)
for _name in (
    "MESSAGE_EDIT_WINDOW_SECONDS",
    "MESSAGE_CHANGE_RATE_LIMIT_COUNT",
    "MESSAGE_CHANGE_RATE_LIMIT_WINDOW_SECONDS",
):
    if globals()[_name] < 1:
        raise ConfigurationError(f"{_name} must be at least 1")
# Admission (apps/core/admission.py): at most SENDS_IN_FLIGHT_MAX sends in progress per
# process (from the frame to the ack: translation, commit, broadcast); a send waits at most
# SENDS_IN_FLIGHT_WAIT_SECONDS for a place (with at most as many waiting as in progress),
# then is refused at once, nothing stored: `busy` error frame / 503 with Retry-After: 1.
# Past its capacity the process then keeps delivering at capacity instead of slowing every
# send down (bench/chat_load.py --rate past capacity measures it). A send holds its place
# for about the provider's first-token time plus ~0.1 s, so the bound caps a process at
# about SENDS_IN_FLIGHT_MAX / that many messages/s: 32 covers ~110 msgs/s with a 200 ms
# translator; raise it with a slower provider. The wait smooths bursts; it adds to latency.
SENDS_IN_FLIGHT_MAX = env.int("SENDS_IN_FLIGHT_MAX", default=32)
SENDS_IN_FLIGHT_WAIT_SECONDS = env.float("SENDS_IN_FLIGHT_WAIT_SECONDS", default=0.1)
# Sends are refused as well while the event loop runs this late (smoothed): deliveries and
# acks wait on the loop, so past this they would be late whatever the sends in progress.
# 0 turns it off.
SENDS_LOOP_LAG_MAX_SECONDS = env.float("SENDS_LOOP_LAG_MAX_SECONDS", default=0.1)
# And while messages this process acknowledged have not come back to their senders' own
# sockets (the broadcaster, Redis, the sockets' queues) for this long, for several sockets
# at once (admission.DeliveryWatch): a send admitted then would be delivered behind that
# backlog. 0 turns it off.
SENDS_DELIVERY_LAG_MAX_SECONDS = env.float("SENDS_DELIVERY_LAG_MAX_SECONDS", default=0.25)
if SENDS_IN_FLIGHT_MAX < 1 or SENDS_IN_FLIGHT_WAIT_SECONDS < 0:
    raise ConfigurationError(
        "SENDS_IN_FLIGHT_MAX must be at least 1 and SENDS_IN_FLIGHT_WAIT_SECONDS at least 0"
    )
# Once warm, the serving process freezes its start-up heap out of the garbage collector's
# full collections (apps/core/garbage_collection.py): each walked ~230,000 objects, a pause
# of about 125 ms on the event loop.
GC_FREEZE_AFTER_WARM_UP = env.bool("GC_FREEZE_AFTER_WARM_UP", default=True)
# Multiplies the waits between attempts at an owed translation (1, 2, 4 ... seconds).
TRANSLATION_RETRY_SCALE = env.float("TRANSLATION_RETRY_SCALE", default=1.0)
# Each serving process looks for owed translations that are due this often (seconds) and
# makes the attempts, whichever instance the messages were sent through; 0 turns it off.
OWED_TRANSLATION_SWEEP_SECONDS = max(0.0, env.float("OWED_TRANSLATION_SWEEP_SECONDS", default=5.0))
WS_TICKET_TTL_SECONDS = 60

# --- Sockets: revocation and per-user caps ---
# Open chat sockets one account may hold across every instance; the next one is closed 4029.
SOCKETS_PER_USER_MAX = env.int("SOCKETS_PER_USER_MAX", default=20)
# Each socket re-reads its account this often: a disable, password reset or "log out
# everywhere" whose broadcast it missed still closes it within this time. It also renews the
# socket's place under SOCKETS_PER_USER_MAX; a place not renewed for 2.5 times this long
# (an instance that died) is given up.
SOCKET_RECHECK_SECONDS = env.float("SOCKET_RECHECK_SECONDS", default=60.0)
# `resume` frames per account (all its sockets together) in a sliding window.
# `presence_watch` frames per user (every socket counts), apps/realtime/presence_handlers.py.
PRESENCE_WATCH_RATE_LIMIT_COUNT = env.int("PRESENCE_WATCH_RATE_LIMIT_COUNT", default=60)
PRESENCE_WATCH_RATE_LIMIT_WINDOW_SECONDS = env.int(
    "PRESENCE_WATCH_RATE_LIMIT_WINDOW_SECONDS", default=60
)
SOCKET_RESUME_RATE_LIMIT_COUNT = env.int("SOCKET_RESUME_RATE_LIMIT_COUNT", default=30)
SOCKET_RESUME_RATE_LIMIT_WINDOW_SECONDS = env.int(
    "SOCKET_RESUME_RATE_LIMIT_WINDOW_SECONDS", default=60
)

# --- Sockets: a client that falls behind (apps/core/socket_backlog.py) ---
# Bytes sent to one socket and not yet taken by its client (Daphne's buffer plus the kernel's
# send queue) past which it is closed with 4008, "reconnect and resume". A message frame is
# 1-16 KB (2,000 characters, text and original), so 1 MiB is hundreds of messages: a busy
# group's traffic for many seconds on a slow link, never a live reader's normal lag. `resume`
# replays from DynamoDB, so nothing is lost by closing; keeping more only costs memory.
SOCKET_OUTBOUND_BACKLOG_MAX_BYTES = env.int(
    "SOCKET_OUTBOUND_BACKLOG_MAX_BYTES", default=1024 * 1024
)
# After that close, a client that reads nothing cannot see the close frame: its connection is
# dropped this long after, freeing the backlog; a slow but live reader gets to the 4008 first.
SOCKET_OUTBOUND_CLOSE_GRACE_SECONDS = env.float("SOCKET_OUTBOUND_CLOSE_GRACE_SECONDS", default=5.0)
# A resume or a gap fill reads missed messages this many at a time, and reads the next page
# only once the client has taken all but a quarter of the bound above; a client that takes
# nothing for this many seconds meanwhile is closed with 4008 as well.
SOCKET_CATCH_UP_PAGE_MESSAGES = env.int("SOCKET_CATCH_UP_PAGE_MESSAGES", default=100)
SOCKET_CATCH_UP_STALL_SECONDS = env.float("SOCKET_CATCH_UP_STALL_SECONDS", default=10.0)
if SOCKET_OUTBOUND_BACKLOG_MAX_BYTES < 64 * 1024:
    raise ConfigurationError("SOCKET_OUTBOUND_BACKLOG_MAX_BYTES must be at least 65536")
if SOCKET_CATCH_UP_PAGE_MESSAGES < 1:
    raise ConfigurationError("SOCKET_CATCH_UP_PAGE_MESSAGES must be at least 1")
if SOCKET_OUTBOUND_CLOSE_GRACE_SECONDS <= 0 or SOCKET_CATCH_UP_STALL_SECONDS <= 0:
    raise ConfigurationError(
        "SOCKET_OUTBOUND_CLOSE_GRACE_SECONDS and SOCKET_CATCH_UP_STALL_SECONDS must be positive"
    )

# --- Logging -----------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# JSON lines for log collectors outside development, text for people in development.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if IS_DEVELOPMENT else "json").strip().lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ConfigurationError("LOG_FORMAT must be json or plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # apps/core/logging.py: the request id on every record, and secrets masked in every line.
    "filters": {"request_id": {"()": "apps.core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"()": "apps.core.logging.PlainFormatter"},
        "json": {"()": "apps.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
            # stderr, so a management command's own output on stdout stays clean.
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # botocore logs request bodies at DEBUG; those hold password hashes and message text.
        "botocore": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        "pynamodb": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},
        # The OpenAI SDK's HTTP client logs every request line at INFO.
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        # Request bodies and headers at DEBUG.
        "urllib3": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
        "elevenlabs": {"level": "WARNING"},
    },
}

# --- Production hardening ----------------------------------------------------------------

if not IS_DEVELOPMENT:
    # Railway terminates TLS at its edge and forwards X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^api/ready$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

"""Settings, read from the environment (twelve-factor) with django-environ.

Every variable is listed in README.md's configuration table. Outside development the
process refuses to start when a secret is missing or left at a known default.
"""

import hashlib
from pathlib import Path

import environ

from commonality.config_errors import ConfigurationError

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a developer convenience; real deployments set the environment directly.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

ENVIRONMENTS = ("development", "staging", "production")
ENVIRONMENT = env.str("ENVIRONMENT", default="development").strip().lower()
if ENVIRONMENT not in ENVIRONMENTS:
    raise ConfigurationError(
        f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)} (got {ENVIRONMENT!r})"
    )
IS_DEVELOPMENT = ENVIRONMENT == "development"

DEBUG = IS_DEVELOPMENT and env.bool("DEBUG", default=True)

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
JWT_SECRET_MIN_LENGTH = 32

JWT_SECRET = env.str("JWT_SECRET", default="").strip()
if not IS_DEVELOPMENT:
    if not JWT_SECRET:
        raise ConfigurationError(
            f"JWT_SECRET is required when ENVIRONMENT={ENVIRONMENT}; "
            "generate one with `openssl rand -base64 32`"
        )
    if JWT_SECRET.lower() in KNOWN_DEFAULT_SECRETS:
        raise ConfigurationError(
            "JWT_SECRET is a known default value; set a random secret "
            "(`openssl rand -base64 32`)"
        )
    if len(JWT_SECRET) < JWT_SECRET_MIN_LENGTH:
        raise ConfigurationError(
            f"JWT_SECRET must be at least {JWT_SECRET_MIN_LENGTH} characters "
            "(`openssl rand -base64 32` gives 44)"
        )
elif not JWT_SECRET:
    JWT_SECRET = DEVELOPMENT_JWT_SECRET

JWT_ALGORITHM = "HS256"
JWT_EXPIRATION_MINUTES = env.int("JWT_EXPIRATION_MINUTES", default=1440)
if JWT_EXPIRATION_MINUTES < 1:
    raise ConfigurationError("JWT_EXPIRATION_MINUTES must be a positive number of minutes")

# Django signs nothing we rely on (no sessions or cookies), but it requires a key; derive one
# from JWT_SECRET unless DJANGO_SECRET_KEY is given, so a deploy needs one secret, not two.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or hashlib.sha256(
    f"commonality-django:{JWT_SECRET}".encode()
).hexdigest()

PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=8)
PASSWORD_MAX_LENGTH = 256

# --- HTTP --------------------------------------------------------------------------------

BACKEND_PORT = env.int("BACKEND_PORT", default=8000)
PORT = env.int("PORT", default=BACKEND_PORT)

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=["localhost", "127.0.0.1", "[::1]", "testserver"] if IS_DEVELOPMENT else [],
)
if not IS_DEVELOPMENT and not ALLOWED_HOSTS:
    raise ConfigurationError(
        "ALLOWED_HOSTS is required outside development "
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

# Django's Argon2 hasher uses the argon2id variant.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]

TEMPLATES: list = []

# --- DynamoDB ----------------------------------------------------------------------------

DYNAMODB_EMBEDDED = "embedded"
DYNAMODB_ENDPOINT = env.str("DYNAMODB_ENDPOINT", default="").strip() or None
if DYNAMODB_ENDPOINT == DYNAMODB_EMBEDDED and not IS_DEVELOPMENT:
    raise ConfigurationError(
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
    raise ConfigurationError(
        "REDIS_URL is required outside development "
        "(rediss://default:PASSWORD@HOST:6379 for Upstash)"
    )
# Redis pub/sub by default: README.md ("Channel layer") gives the measurements behind it.
REDIS_CHANNEL_LAYERS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
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
TRANSLATION_FIRST_TOKEN_TIMEOUT_SECONDS = env.float("TRANSLATION_FIRST_TOKEN_TIMEOUT_SECONDS", default=4.0)
ELEVENLABS_API_KEY = env.str("ELEVENLABS_API_KEY", default="") or None
ELEVENLABS_BASE_URL = env.str("ELEVENLABS_BASE_URL", default="") or None
ELEVENLABS_TTS_VOICE_ID = env.str("ELEVENLABS_TTS_VOICE_ID", default="Xb7hH8MSUJpSbSDYk0k2")
ELEVENLABS_TTS_MODEL = env.str("ELEVENLABS_TTS_MODEL", default="eleven_flash_v2_5")
ELEVENLABS_TTS_OUTPUT_FORMAT = env.str("ELEVENLABS_TTS_OUTPUT_FORMAT", default="mp3_44100_128")
ELEVENLABS_STT_MODEL = env.str("ELEVENLABS_STT_MODEL", default="scribe_v2")
LIVEKIT_API_KEY = env.str("LIVEKIT_API_KEY", default="") or None
LIVEKIT_API_SECRET = env.str("LIVEKIT_API_SECRET", default="") or None
LIVEKIT_URL = env.str("LIVEKIT_URL", default="") or None

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
# Multiplies the waits between attempts at an owed translation (1, 2, 4 ... seconds).
TRANSLATION_RETRY_SCALE = env.float("TRANSLATION_RETRY_SCALE", default=1.0)
WS_TICKET_TTL_SECONDS = 60

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

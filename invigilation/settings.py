"""Django settings: every deployment-specific value comes from the environment."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from invigilation.decisions import rules
from invigilation.env import env_bool, env_email, env_int, env_list, env_rate, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("INVIGILATION_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# The site is served over HTTPS (itself or behind a TLS proxy): with DEBUG off this is
# production, and turns on the hardening at the end of this file.
HTTPS = env_bool("HTTPS", False)
PRODUCTION = HTTPS and not DEBUG
# Without SECRET_KEY a throwaway key is used: sessions do not survive a restart, which is
# the safe failure for a development run. Production refuses to start without one.
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when HTTPS=true and DEBUG is off.")
    SECRET_KEY = get_random_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "invigilation.core",
    "invigilation.students",
    "invigilation.exams",
    "invigilation.proctoring",
    "invigilation.kiosk",
    "invigilation.rooms",
    "invigilation.audit",
    # After the apps whose permissions its post_migrate role setup hands out.
    "invigilation.accounts",
    "invigilation.dashboard",
    "invigilation.retention",
    "invigilation.reports",
    "invigilation.invitations",
    "invigilation.server",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so its process_exception runs first: a database or Redis outage is a 503.
    "invigilation.core.outages.OutageMiddleware",
]

ROOT_URLCONF = "invigilation.urls"
WSGI_APPLICATION = "invigilation.wsgi.application"
ASGI_APPLICATION = "invigilation.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "invigilation.core.context_processors.clock",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_POOL = env_bool("DATABASE_POOL", True)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{VAR_DIR / 'invigilation.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {
        # Names the product's backends in pg_stat_activity (tests, benchmarks, operators).
        "application_name": env_str("DATABASE_APPLICATION_NAME", "invigilation"),
        **DATABASES["default"].get("OPTIONS", {}),
    }
if DATABASE_POOL and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI each request's sync code runs in a thread of its own, so per-thread persistent
    # connections (CONN_MAX_AGE) are never reused: a connection per request, ~50/s with 50
    # students. A pool per process (web, and each Celery worker process) reuses them; the
    # pool requires CONN_MAX_AGE 0 (DATABASE_CONN_MAX_AGE counts only with DATABASE_POOL off),
    # and with health checks hands out only live connections. A request that waits
    # DATABASE_POOL_TIMEOUT seconds for one (pool busy, PostgreSQL down) gets an
    # OperationalError, answered 503 (core/outages.py). A worker process uses one at a time.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 10),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 5),
    }
# Celery's Django fixup closes the connections, and under prefork the whole pool, before and
# after every task unless this is set: then only every this many tasks. proctoring.tasks
# hands the connection back (or drops a broken one) around each task instead. (The fixup
# also closes, in each new pool process, what it inherited from the parent.)
CELERY_DB_REUSE_MAX = 1000
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Celery worker write to one SQLite file at once. WAL lets readers
    # run beside the writer; IMMEDIATE takes the write lock when a transaction starts, so a
    # writer waits (up to the busy timeout) instead of failing with "database is locked"
    # when a read transaction tries to upgrade to a write.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis serves Celery (broker + results) and the Channels layer. The run command starts an
# embedded redis-server and exports REDIS_URL; a deployment points it at its own Redis.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": env_str("CHANNELS_PREFIX", "asgi"),
            # Flag events carry students' names: with keys set, every message is encrypted
            # (Fernet) while in Redis. The first key encrypts, all decrypt (key rotation).
            "symmetric_encryption_keys": env_list("CHANNEL_LAYER_ENCRYPTION_KEYS") or None,
            # Messages waiting per channel (a dashboard): 200 students' statuses in one second
            # overflowed the default 100 and dropped events.
            "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1000),
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process loads the models before it reports for work (proctoring.tasks): on a busy
# machine that takes longer than Celery's 4 s, which would kill and restart it in a loop.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task taken by a worker that then died whole (its machine lost) is handed out again after
# this long. A frame task expires with its frame long before, so its student's next frames
# are what gets analysed; the timeout must stay longer than the longest purge run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BEAT_SCHEDULE = {
    "flag-stopped-streams": {
        "task": "invigilation.proctoring.tasks.check_stopped_streams",
        "schedule": 5.0,
        "options": {"expires": 5},
    },
    "purge-expired-data": {
        "task": "invigilation.retention.tasks.purge_expired",
        "schedule": 6 * 3600.0,
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# Times are written one way on every page, export and in the admin (core/clock.py and
# static/js/clock.js): in TIME_ZONE, on a 24 h clock unless CLOCK_24H=false.
CLOCK_24H = env_bool("CLOCK_24H", True)
FORMAT_MODULE_PATH = ["invigilation.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Photos and snapshots are biometric data: stored outside the static tree and only ever
# served through views that check permissions, never by a public MEDIA_URL.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# Upload limits for enrolment photos and imports.
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 8 * 1024 * 1024)
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 40_000_000)
PHOTO_ZIP_MAX_BYTES = env_int("PHOTO_ZIP_MAX_BYTES", 200 * 1024 * 1024)
PHOTO_ZIP_MAX_FILES = env_int("PHOTO_ZIP_MAX_FILES", 5000)
CSV_IMPORT_MAX_BYTES = env_int("CSV_IMPORT_MAX_BYTES", 5 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 1000)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Webcam frames: largest accepted JPEG, and how long one may wait for a worker before it
# is dropped as stale.
FRAME_MAX_BYTES = env_int("FRAME_MAX_BYTES", 1024 * 1024)
FRAME_MAX_SIDE = env_int("FRAME_MAX_SIDE", 1280)
FRAME_TTL_SECONDS = env_int("FRAME_TTL_SECONDS", 10)
# Room cameras (exams in a room): a whole hall up to 4K, and how long the room view keeps
# each camera's latest analysed frame (in Redis only; frames are never stored).
ROOM_FRAME_MAX_BYTES = env_int("ROOM_FRAME_MAX_BYTES", 6 * 1024 * 1024)
ROOM_FRAME_MAX_SIDE = env_int("ROOM_FRAME_MAX_SIDE", 3840)
ROOM_VIEW_TTL_SECONDS = env_int("ROOM_VIEW_TTL_SECONDS", 120)
# Identity (the face embedding, the costliest check) runs on every IDENTITY_CHECK_EVERY-th
# analysed frame of a student while the identity test holds evidence against them, on every
# IDENTITY_CHECK_EVERY_CLEAR-th while it holds none, and on the first frame after one without a
# face; detection, head pose and expression run on every frame.
IDENTITY_CHECK_EVERY = env_int("IDENTITY_CHECK_EVERY", rules.IDENTITY_CHECK_EVERY)
IDENTITY_CHECK_EVERY_CLEAR = env_int("IDENTITY_CHECK_EVERY_CLEAR", rules.IDENTITY_CHECK_EVERY_CLEAR)
# Students may open the capture page and check in this long before the exam starts.
CHECK_IN_OPENS_BEFORE = timedelta(minutes=env_int("CHECK_IN_OPENS_MINUTES", 30))
# Expression analysis is restricted in some jurisdictions (e.g. the EU AI Act in education):
# off here, it is off for every exam whatever the exam's own switch says.
EXPRESSION_ANALYSIS_ENABLED = env_bool("EXPRESSION_ANALYSIS_ENABLED", True)
DEMO_COURSE = "DEMO101"  # the demo exam's course (`manage.py run` creates it)
# The audit log of access to students' data is kept this long, then deleted by the
# retention purge; 0 keeps it forever.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 730)
# Dotted path of a callable(image_bytes) -> FaceCheckResult run on every enrolment photo;
# "none" stores photos unchecked (and without embeddings, so identity checks cannot run).
PHOTO_FACE_CHECKER = env_str("PHOTO_FACE_CHECKER", "invigilation.students.vision_check.check_photo")

# Rate limits, counted in Redis so every web process shares them: failed log-ins (login
# pages and the API token) per client address and per username; identity check-ins (each
# runs the face models) per exam session and, generously, per address, since a whole exam
# hall may reach the server from one NAT address.
LOGIN_RATE_LIMIT = env_rate("LOGIN_RATE_LIMIT", "10/300s")
CHECK_IN_RATE_LIMIT = env_rate("CHECK_IN_RATE_LIMIT", "10/300s")
CHECK_IN_IP_RATE_LIMIT = env_rate("CHECK_IN_IP_RATE_LIMIT", "1000/300s")
SYSTEM_CHECK_RATE_LIMIT = env_rate("SYSTEM_CHECK_RATE_LIMIT", "20/300s")
RATE_LIMIT_PREFIX = env_str("RATE_LIMIT_PREFIX", "ratelimit")  # Redis keys; tests use their own

# Capture links sent to students: absolute URLs on SITE_URL. Mail goes out over SMTP as
# EMAIL_URL says (smtp://user:pass@host:587?tls=true, or smtps://...), else to the console.
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "invigilation@localhost")
_email = env_email("EMAIL_URL")  # lower case: not a setting, so never shown with its password
EMAIL_BACKEND = _email.backend
EMAIL_HOST = _email.host
EMAIL_PORT = _email.port
EMAIL_HOST_USER = _email.user
EMAIL_HOST_PASSWORD = _email.password
EMAIL_USE_TLS = _email.use_tls
EMAIL_USE_SSL = _email.use_ssl
EMAIL_TIMEOUT = _email.timeout

# Request limits, applied by the web server before a body is buffered (see
# invigilation/server/body_limits.py and web_server.py): the largest body of an ordinary request
# (frames have FRAME_MAX_BYTES; staff uploads, once authenticated, PHOTO_ZIP_MAX_BYTES or
# CSV_IMPORT_MAX_BYTES); seconds allowed for a request's headers, for any pause within a body,
# for a whole body, and for a whole staff upload.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", 1024 * 1024)
REQUEST_HEADER_TIMEOUT = env_int("REQUEST_HEADER_TIMEOUT", 10)
REQUEST_IDLE_TIMEOUT = env_int("REQUEST_IDLE_TIMEOUT", 10)
REQUEST_BODY_TIMEOUT = env_int("REQUEST_BODY_TIMEOUT", 60)
UPLOAD_BODY_TIMEOUT = env_int("UPLOAD_BODY_TIMEOUT", 900)

REST_FRAMEWORK = {
    # Token first: DRF answers a request without credentials from the first class, and only
    # TokenAuthentication has a WWW-Authenticate challenge, which makes it a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON with a nesting limit; forms and uploads as DRF reads them.
    "DEFAULT_PARSER_CLASSES": [
        "invigilation.core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "invigilation.core.schema.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Invigilation API",
    "DESCRIPTION": "Exams, students, exam sessions and flags of the invigilation dashboard.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes the API, not its data: readable without logging in.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A flag's review state (four) and a reviewer's decision (three) are both named "state".
    "ENUM_NAME_OVERRIDES": {
        "ReviewStateEnum": "invigilation.proctoring.models.Flag.Review",
        "ReviewDecisionEnum": ["confirmed", "dismissed", "escalated"],
    },
}

# Production hardening: HTTPS=true with DEBUG off sets all that `manage.py check --deploy`
# asks for; each switch can still be set on its own.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and (HTTPS or SECURE_SSL_REDIRECT))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# A TLS proxy in front says the scheme in X-Forwarded-Proto and appends the client's address
# to X-Forwarded-For (read by the rate limits and the audit log).
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# Django's defaults, stated because the deployment relies on them.
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# The identity check at the start: a burst of frames (about CHECK_IN_BURST_SECONDS at
# CHECK_IN_BURST_FPS) judged on a worker; the web process only stores it in Redis. A burst
# waits at most CHECK_IN_BURST_TTL_SECONDS for a worker; its verdict (and a system check's
# result) is kept CHECK_IN_RESULT_TTL_SECONDS for the page to poll; the page gives up after
# CHECK_IN_POLL_TIMEOUT_SECONDS.
CHECK_IN_BURST_SECONDS = env_int("CHECK_IN_BURST_SECONDS", 3)
CHECK_IN_BURST_FPS = env_int("CHECK_IN_BURST_FPS", 4)
CHECK_IN_BURST_MIN_FRAMES = env_int("CHECK_IN_BURST_MIN_FRAMES", 6)
CHECK_IN_BURST_MAX_FRAMES = env_int("CHECK_IN_BURST_MAX_FRAMES", 20)
CHECK_IN_BURST_MAX_BYTES = env_int("CHECK_IN_BURST_MAX_BYTES", 8 * 1024 * 1024)
CHECK_IN_BURST_TTL_SECONDS = env_int("CHECK_IN_BURST_TTL_SECONDS", 180)
CHECK_IN_RESULT_TTL_SECONDS = env_int("CHECK_IN_RESULT_TTL_SECONDS", 300)
CHECK_IN_POLL_TIMEOUT_SECONDS = env_int("CHECK_IN_POLL_TIMEOUT_SECONDS", 180)

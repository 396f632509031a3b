"""WhereWhen settings.

Everything a deployment changes comes from the environment; every variable has a default that
works on one machine with no services (SQLite, an embedded broker, local files). The README has
the full table of variables.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from wherewhen.core.mediaconf import media_backend
from wherewhen.core.security import security_settings

BASE_DIR = Path(__file__).resolve().parent  # platform/wherewhen
REPO_DIR = BASE_DIR.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Local state (SQLite files, embedded broker, media, generated secret key) lives here.
VAR_DIR = Path(os.environ.get("WHEREWHEN_VAR_DIR", REPO_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else generated once and kept in VAR_DIR."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "wherewhen.accounts",
    "wherewhen.core",
    "wherewhen.videos",
    "wherewhen.annotations",
    "wherewhen.explanations",
    "wherewhen.scoring",
    "wherewhen.studies",
    "wherewhen.metaeval",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before sessions and authentication: a token or cookie never skips the sign-in limits.
    "wherewhen.accounts.throttling.CredentialThrottleMiddleware",
    "wherewhen.core.errors.RejectNulMiddleware",
    "wherewhen.core.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: the chain above runs in the request's thread in one go (see its module).
    "wherewhen.core.chain.SyncChainMiddleware",
]

ROOT_URLCONF = "wherewhen.urls"
WSGI_APPLICATION = "wherewhen.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web and worker processes read while one writes; IMMEDIATE makes a
        # writing transaction take the lock up front instead of failing half-way.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file (not :memory:) so that worker processes started by tests see the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
elif os.environ.get("WHEREWHEN_WEB_TIER") == "asgi":
    # The ASGI web tier runs each request in a thread of its own, so persistent connections
    # (one per thread) would pile up to PostgreSQL's limit under a burst. Each web process
    # shares a bounded pool instead: a request borrows a connection and gives it back when it
    # ends; past DATABASE_POOL_MAX_SIZE it waits up to DATABASE_POOL_TIMEOUT seconds, then gets
    # a 503 that says to retry (``core.errors.handler500``). Workers keep plain connections.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "10")),
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
    }
else:
    # Workers keep a connection from one task to the next (``wherewhen.celery``); one the
    # server dropped meanwhile (a restart, an idle timeout) is found by a cheap check before its
    # first use in a task and replaced, instead of failing that task.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "wherewhen.accounts.lockout.LockoutBackend",  # refuses locked-out pairs before any check
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files and media -----------------------------------------------------------------
FRONTEND_DIST = REPO_DIR / "frontend" / "dist"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.is_dir() else []
# Serve straight from the finders: no collectstatic step, the built frontend is picked up as is.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media")).resolve()
# Where media lives (docs/architecture.md, "Media storage"): "local" (MEDIA_ROOT, the default)
# or "s3" (any S3-compatible object store). Only wherewhen.core.media touches it.
MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "local").strip().lower() or "local"
if MEDIA_STORAGE not in ("local", "s3"):
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be 'local' or 's3', not {MEDIA_STORAGE!r}")
MEDIA_S3_BUCKET = os.environ.get("MEDIA_S3_BUCKET", "")
MEDIA_S3_ENDPOINT_URL = os.environ.get("MEDIA_S3_ENDPOINT_URL", "") or None
# The endpoint browsers reach for presigned URLs (e.g. http://localhost:9000 while workers use
# http://minio:9000); the endpoint itself when empty.
MEDIA_S3_PUBLIC_ENDPOINT_URL = os.environ.get("MEDIA_S3_PUBLIC_ENDPOINT_URL", "") or None
MEDIA_S3_ACCESS_KEY_ID = os.environ.get("MEDIA_S3_ACCESS_KEY_ID", "") or None
MEDIA_S3_SECRET_ACCESS_KEY = os.environ.get("MEDIA_S3_SECRET_ACCESS_KEY", "") or None
MEDIA_S3_REGION = os.environ.get("MEDIA_S3_REGION", "") or None
# "path" (MinIO, Ceph, most self-hosted stores), "virtual" (AWS S3, GCS) or "auto".
MEDIA_S3_ADDRESSING_STYLE = os.environ.get("MEDIA_S3_ADDRESSING_STYLE", "auto")
MEDIA_S3_PREFIX = os.environ.get("MEDIA_S3_PREFIX", "").strip("/")
# Parts of at least this size are sent in parallel multipart uploads (bytes, default 16 MiB).
MEDIA_S3_MULTIPART_BYTES = int(os.environ.get("MEDIA_S3_MULTIPART_BYTES", str(16 * 1024**2)))
# GET .../stream/ (and the other file views) with an object store: "redirect" answers 302 to a
# presigned URL valid MEDIA_PRESIGN_SECONDS; "proxy" streams byte ranges through the web tier
# (a store private to the cluster).
MEDIA_STREAM_MODE = os.environ.get("MEDIA_STREAM_MODE", "redirect").strip().lower()
if MEDIA_STREAM_MODE not in ("redirect", "proxy"):
    raise ImproperlyConfigured(
        f"MEDIA_STREAM_MODE must be 'redirect' or 'proxy', not {MEDIA_STREAM_MODE!r}"
    )
MEDIA_PRESIGN_SECONDS = int(os.environ.get("MEDIA_PRESIGN_SECONDS", "300"))
# A worker's local content-addressed copies of stored media (object store only), bounded in
# bytes, least recently used out first (default 20 GiB).
MEDIA_CACHE_DIR = Path(os.environ.get("MEDIA_CACHE_DIR", VAR_DIR / "media-cache")).resolve()
MEDIA_CACHE_MAX_BYTES = int(os.environ.get("MEDIA_CACHE_MAX_BYTES", str(20 * 1024**3)))
if MEDIA_STORAGE == "s3" and not MEDIA_S3_BUCKET:
    raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET")
_media_backend = media_backend(
    MEDIA_STORAGE,
    bucket=MEDIA_S3_BUCKET,
    endpoint_url=MEDIA_S3_ENDPOINT_URL,
    access_key=MEDIA_S3_ACCESS_KEY_ID,
    secret_key=MEDIA_S3_SECRET_ACCESS_KEY,
    region=MEDIA_S3_REGION,
    addressing_style=MEDIA_S3_ADDRESSING_STYLE,
    prefix=MEDIA_S3_PREFIX,
    presign_seconds=MEDIA_PRESIGN_SECONDS,
    multipart_bytes=MEDIA_S3_MULTIPART_BYTES,
)
STORAGES = {
    "default": _media_backend,
    "media": _media_backend,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Video library --------------------------------------------------------------------------
# Largest accepted upload, in bytes (default 2 GiB); larger requests get 413.
VIDEO_UPLOAD_MAX_BYTES = int(os.environ.get("VIDEO_UPLOAD_MAX_BYTES", str(2 * 1024**3)))
# Frames larger than this on a side are refused (a header claiming 60000 px is not a video).
VIDEO_MAX_DIMENSION = int(os.environ.get("VIDEO_MAX_DIMENSION", "8192"))
# Frames claiming more pixels than this are refused before anything decodes them (8K UHD).
VIDEO_MAX_PIXELS = int(os.environ.get("VIDEO_MAX_PIXELS", str(7680 * 4320)))
# Default folder that `manage.py import_videos --manifest` resolves relative paths under.
VIDEO_IMPORT_ROOT = os.environ.get("VIDEO_IMPORT_ROOT", "")

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "wherewhen.core.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "wherewhen.core.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
# JSON bodies nested deeper than this are refused (core.parsers).
JSON_MAX_DEPTH = 32

# --- Sign-in limits (accounts.throttling, accounts.lockout) ---------------------------------
# Proxies whose X-Forwarded-For is believed (addresses or networks, e.g. "10.0.0.0/8"); with
# none, the client is the TCP peer and the header is ignored.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")
# Every POST here counts against the client address, whatever credentials it carries.
CREDENTIAL_PATHS = ["/api/v1/auth/login/", "/api/v1/auth/token/", "/admin/login/"]
LOGIN_THROTTLE_RATE = os.environ.get("LOGIN_THROTTLE_RATE", "60/min")
LOGIN_LOCKOUT_FAILURES = int(os.environ.get("LOGIN_LOCKOUT_FAILURES", "5"))
LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "60"))
LOGIN_LOCKOUT_MAX_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_MAX_SECONDS", "3600"))
SPECTACULAR_SETTINGS = {
    "TITLE": "WhereWhen API",
    "DESCRIPTION": "Videos, space-time explanations, annotations, scores and studies.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "wherewhen.core.schema.strip_database_integer_bounds",
    ],
    "ENUM_NAME_OVERRIDES": {
        "VideoStatusEnum": "wherewhen.videos.models.Video.Status",
        "AssignmentStatusEnum": "wherewhen.annotations.models.Assignment.Status",
        "AssignmentSourceEnum": "wherewhen.annotations.models.Assignment.Source",
        "ExplanationStatusEnum": "wherewhen.explanations.models.Explanation.Status",
        "ExportKindEnum": "wherewhen.explanations.models.Export.Kind",
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = (
    os.environ.get("CELERY_BROKER_URL") or f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}"
)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    _default_backend = CELERY_BROKER_URL
else:
    _default_backend = f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}"
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or _default_backend
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name) for name in ("default", "media", "gpu")
)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Task names carry their queue: "media.*" transcodes and renders, "gpu.*" loads models.
CELERY_TASK_ROUTES = {"media.*": {"queue": "media"}, "gpu.*": {"queue": "gpu"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith("sqla+sqlite"):
    # kombu passes these to SQLAlchemy's create_engine: wait for SQLite's lock, don't fail.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_args": {"timeout": 30}}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Cache (shared counters: sign-in limits, lockouts) ---------------------------------------
# Redis when CACHE_URL (or a Redis broker) says so, else a table in the database: either way
# one count for every web process.
CACHE_URL = os.environ.get("CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "db"
)
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "wherewhen"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "wherewhen.core.cache.DatabaseCache",
            "LOCATION": "wherewhen_cache",
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "wherewhen"),
        }
    }

# Synthetic benchmark clips (with known ground truth) that the demo data loads.
DEMO_BENCHMARK_CLIPS = int(os.environ.get("DEMO_BENCHMARK_CLIPS", "8"))

# Live-worker detection for /healthz: each worker writes a heartbeat row this often, and is
# counted as gone once its heartbeat is older than WORKER_STALE_SECONDS.
WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", "5"))
WORKER_STALE_SECONDS = float(os.environ.get("WORKER_STALE_SECONDS", "15"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}

# --- Security (core.security; README "Security settings", docs/security.md) -----------------
# CSP, HSTS, secure cookies, HTTPS redirect and proxy trust for the scheme, from the
# environment: CONTENT_SECURITY_POLICY, HTTPS_ONLY, SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE,
# SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS, SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD,
# TRUST_FORWARDED_PROTO. (Proxy trust for the client address: TRUSTED_PROXIES above.)
globals().update(security_settings(os.environ))

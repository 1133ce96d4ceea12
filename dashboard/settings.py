"""Settings for the leads dashboard, read from the environment.

Every setting an operator may change is an environment variable documented in the README,
with the default given here. Helpers fail loudly on a value they cannot read.
"""

import os
from pathlib import Path

import dj_database_url
import phonenumbers
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be on/off (or true/false, 1/0), not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string "
            "(or set DJANGO_DEBUG=on for local development)."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG-on"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "ninja",
    "leads",
]

MIDDLEWARE = [
    # First: open screens' ticketed polls are answered here, before sessions and users.
    "leads.live_lane.LiveLaneMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files come pre-compressed), before everything that writes the
    # body: pages, JSON and exports leave compressed.
    "leads.compression.CompressionMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After auth and htmx: a person with a temporary password sees only the change page.
    "leads.passwords.PasswordChangeMiddleware",
    "leads.middleware.ApiResponseMiddleware",
    # Signed-in and API answers carry full phone numbers: never cached (no-store).
    "leads.middleware.NoStoreMiddleware",
    # After sessions, auth and htmx: idle expiry, and the live token a full page starts from.
    "leads.live.IdleSessionMiddleware",
    "leads.live.LiveTokenMiddleware",
    # Last: one upstream deadline per request; an unhandled source error is a page, not a 500.
    "leads.middleware.UpstreamMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

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
                "leads.context_processors.perms_ui",
                "leads.context_processors.source_health",
                "leads.context_processors.source_budget",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN, so concurrent writers wait for
    # each other (busy timeout) instead of failing half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# (None in the test settings: nothing is collected there.)
STATIC_ROOT: Path | None = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Production serves hashed, compressed files (collected by `bash dev.sh prod`) through
# WhiteNoise, cached forever by browsers; development serves the files as they are.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- HTTPS (production defaults; DJANGO_HTTPS=off only for a plain-HTTP local run) --------
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
if HTTPS:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Joining browsers' preload list is the domain owner's deliberate, hard-to-undo step.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
else:
    # Plain HTTP was chosen explicitly (DJANGO_HTTPS=off, e.g. a production rehearsal on
    # 127.0.0.1): the deploy checks that only restate that choice would stop `dev.sh prod`.
    # Every other deploy check still applies.
    SILENCED_SYSTEM_CHECKS = ["security.W004", "security.W008", "security.W012", "security.W016"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# --- Sign-in, roles and sessions (issue 7) ----------------------------------------------------
LOGIN_URL = "leads:login"
LOGIN_REDIRECT_URL = "leads:table"
# Django's password check, refusing attempts the login throttle has locked (leads/throttle.py).
AUTHENTICATION_BACKENDS = ["leads.throttle.ThrottledModelBackend"]
# How many proxies in front of the app append to X-Forwarded-For (0: use REMOTE_ADDR). The
# login throttle keys on the client address, so only trusted hops may be read.
DASHBOARD_PROXY_COUNT = env_int("DASHBOARD_PROXY_COUNT", 0)
# The proxies' own addresses (or networks): X-Forwarded-For is read only from them, so a
# client reaching the app port directly cannot pick its own address. gunicorn reads the same
# variable for X-Forwarded-Proto (dev.sh prod passes it on).
FORWARDED_ALLOW_IPS = env_list("FORWARDED_ALLOW_IPS", "127.0.0.1")
# A session ends after this long without the person doing anything. Renewed by
# leads.live.IdleSessionMiddleware on the person's own requests only: an open screen's
# polls must not keep a forgotten session alive (hence no SESSION_SAVE_EVERY_REQUEST).
DASHBOARD_SESSION_IDLE_MINUTES = env_int("DASHBOARD_SESSION_IDLE_MINUTES", 480)
SESSION_COOKIE_AGE = DASHBOARD_SESSION_IDLE_MINUTES * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "leads.views.security.csrf_failure"

# No inline scripts or styles anywhere: behaviour lives in static/js, so this policy holds.
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
# Origins allowed to frame the wall display (`/wall/<token>/`), e.g. a signage player's page;
# empty: the wall, like every page, cannot be framed.
WALL_FRAME_ANCESTORS = env_list("WALL_FRAME_ANCESTORS", "")
# Live-update events older than this are pruned (screens only compare the newest id).
LIVE_EVENTS_KEEP_HOURS = env_int("LIVE_EVENTS_KEEP_HOURS", 24)

# --- The leads sources and upstream -------------------------------------------------------
LEADS_SOURCE = env_str("LEADS_SOURCE", "local")
MOLTFLOW_API_URL = env_str("MOLTFLOW_API_URL", "https://apiv2.waiflow.app/api/v2")
MOLTFLOW_API_KEY = env_str("MOLTFLOW_API_KEY", "")
# How long reads from MoltFlow are shared between screens and processes (writes invalidate).
MOLTFLOW_CACHE_SECONDS = env_int("MOLTFLOW_CACHE_SECONDS", 10)
# The most any page or action waits on MoltFlow in total (all its calls, retries and pauses);
# past it the page shows the last good data marked stale, or says what failed (503).
MOLTFLOW_DEADLINE_SECONDS = env_int("MOLTFLOW_DEADLINE_SECONDS", 10)
# `POST /webhooks/moltflow` requires X-Webhook-Signature: hex HMAC-SHA256 of the body with
# this secret; empty: the webhook refuses every request (closed by default).
MOLTFLOW_WEBHOOK_SECRET = env_str("MOLTFLOW_WEBHOOK_SECRET", "")


def cache_settings(redis_url: str) -> dict[str, dict[str, object]]:
    """Redis when `redis_url` is set (one cache for every app process), else local memory.

    The cache holds MoltFlow's shared reads, its rate budget and the wall's snapshots. Only
    Redis shares them between processes; local memory suits one process (and the tests).
    Redis is given short socket timeouts: it is on the same network, and a stuck Redis must
    not hold a page longer than MoltFlow itself may. While Redis cannot be reached, each
    process answers from its own memory (`leads.shared_cache`) rather than failing pages.
    """
    if redis_url:
        return {
            "default": {
                "BACKEND": "leads.shared_cache.FallbackRedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": "leads",
                "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
            }
        }
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "leads-dashboard",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }


REDIS_URL = env_str("REDIS_URL", "")
CACHES = cache_settings(REDIS_URL)

# --- Screens ----------------------------------------------------------------------------
# Open screens ask every LIVE_POLL_MS whether anything changed; each app process re-reads
# the answer from the database at most every LIVE_TOKEN_MAX_AGE_MS, so a change shows within
# about the sum of the two (plus the screen's refresh). A screen's ticket lets its polls skip
# the session for LIVE_TICKET_SECONDS, then one poll goes through the session check again.
LIVE_POLL_MS = env_int("LIVE_POLL_MS", 1000)
LIVE_TOKEN_MAX_AGE_MS = env_int("LIVE_TOKEN_MAX_AGE_MS", 250)
LIVE_TICKET_SECONDS = env_int("LIVE_TICKET_SECONDS", 120)
# A screen's poll is held open up to LIVE_HOLD_SECONDS while nothing changes (a long poll),
# by at most LIVE_HOLD_MAX polls per process; -1: all of a gunicorn worker's threads but 4,
# none under other servers (their screens poll every LIVE_POLL_MS instead).
LIVE_HOLD_SECONDS = env_int("LIVE_HOLD_SECONDS", 20)
LIVE_HOLD_MAX = env_int("LIVE_HOLD_MAX", -1)
# After a change each screen re-reads after a random pause of up to LIVE_REFRESH_SPREAD_MS,
# and screens showing the same view share one rendering of it for LIVE_SHARED_RENDER_SECONDS.
LIVE_REFRESH_SPREAD_MS = env_int("LIVE_REFRESH_SPREAD_MS", 500)
LIVE_SHARED_RENDER_SECONDS = env_int("LIVE_SHARED_RENDER_SECONDS", 30)
# Each process deletes old live events at most this often (see leads.events.prune_events).
LIVE_PRUNE_SECONDS = env_int("LIVE_PRUNE_SECONDS", 600)
# A `new` lead nobody has contacted for longer than this is flagged on the board (and wall).
LEADS_WAITING_THRESHOLD_MINUTES = env_int("LEADS_WAITING_THRESHOLD_MINUTES", 15)

# How a phone number typed without its country code is read (ISO 3166 region, e.g. "IL");
# empty: such a number is not guessed at (search then matches its digits only).
DEFAULT_PHONE_REGION = env_str("DEFAULT_PHONE_REGION", "").strip().upper()
if DEFAULT_PHONE_REGION and DEFAULT_PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
    raise ImproperlyConfigured(
        f"DEFAULT_PHONE_REGION must be a two-letter region code such as IL or DE, "
        f"not {DEFAULT_PHONE_REGION!r}"
    )

# --- Ingest -----------------------------------------------------------------------------
# HMAC secret WAHA signs `POST /webhooks/waha` with; empty: the webhook refuses every request.
WAHA_WEBHOOK_SECRET = env_str("WAHA_WEBHOOK_SECRET", "")

# --- Outreach (issue 16) --------------------------------------------------------------------
# Where "Message on WhatsApp" sends in local mode (WAHA's API); empty: a wa.me link instead.
WAHA_API_URL = env_str("WAHA_API_URL", "").rstrip("/")
WAHA_API_KEY = env_str("WAHA_API_KEY", "")
# Messages the team may send per WhatsApp session per minute (a number sending faster risks a ban).
OUTREACH_PER_MINUTE = env_int("OUTREACH_PER_MINUTE", 20)

# --- Chat-export imports --------------------------------------------------------------------
# Imports run in the background: by a worker thread of the app process that queues or shows
# one (on), or only by `manage.py run_imports` (off: for deployments that schedule it).
IMPORT_WORKER = env_bool("IMPORT_WORKER", True)

# --- The mirror API (/api/v2) --------------------------------------------------------------
# Per-plan request limits per key per minute; "off" for a trusted internal deployment.
MIRROR_RATE_LIMITS = env_bool("MIRROR_RATE_LIMITS", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Wall tokens are credentials: no log line carries one in full (leads/log_redaction.py).
    "filters": {"wall_tokens": {"()": "leads.log_redaction.RedactWallTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["wall_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    # Django's own request loggers (runserver's request lines, "Not Found: /wall/…") would
    # otherwise keep the unfiltered handlers Django gives them by default.
    "loggers": {
        name: {"handlers": ["console"], "level": "INFO", "propagate": False}
        for name in ("django", "django.server")
    },
}

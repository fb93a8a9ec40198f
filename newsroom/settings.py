"""Newsroom settings, read from the environment.

Every setting an operator may change is an environment variable documented in the
README's configuration table. Production hardening follows from ``DEBUG`` being off:
no secret key, no start.
"""

import json
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    """Return the environment variable ``name`` read as a yes/no flag."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    """Return the comma-separated environment variable ``name`` as a list."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "string (python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "newsroom.apps.NewsroomAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "csp",
    "django_ckeditor_5",
    "django_tasks",
    "django_tasks_db",
    "reversion",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "anymail",
    "newsroom",
    "publication",
    "frontcache",
    "accounts",
    "articles",
    "frontpage",
    "photos",
    "newsletter",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "newsroom.middleware.NulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "frontcache.middleware.SurrogateKeyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "newsroom.middleware.PermissionsPolicyMiddleware",
    # Last, as django-axes asks: it turns a lockout noticed anywhere below into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "newsroom.urls"
WSGI_APPLICATION = "newsroom.wsgi.application"

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
                "publication.context_processors.site",
            ],
        },
    },
]

# Database: PostgreSQL (psycopg 3, pooled) when DATABASE_URL is given, else an
# embedded SQLite file so that `make run` needs no setup.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
else:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES = {
        "default": dj_database_url.parse(f"sqlite:///{BASE_DIR / 'var' / 'newsroom.sqlite3'}")
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASE_POOL = env_bool("DATABASE_POOL", default=True)
    # Health checks test a connection before lending it out (with the pool, Django passes
    # psycopg_pool's check), so a restarted database costs a reconnect, not a failed request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASE_POOL:
        # Django's own psycopg pool: connections are reused across requests and threads.
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "pool": {
                "min_size": int(os.environ.get("DATABASE_POOL_MIN_SIZE", "1")),
                "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "10")),
                "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
            },
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when CACHE_URL is given. Without it, files under var/cache in production,
# which every worker on the machine shares (a per-process cache would let one worker
# keep showing a section or setting another has changed), and local memory for
# development and tests (CACHE_URL=locmem://), where there is one process.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "newsroom"),
        }
    }
elif CACHE_URL == "locmem://" or (not CACHE_URL and DEBUG):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif not CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("CACHE_DIR", str(BASE_DIR / "var" / "cache")),
        }
    }
else:
    raise ImproperlyConfigured(
        "CACHE_URL must start with redis://, rediss:// or unix://, or be locmem://, "
        f"not {CACHE_URL!r}."
    )

# The front cache (frontcache/, deploy/varnish/newsroom.vcl). Public pages carry surrogate
# keys; every change purges exactly the pages that show it, at each Varnish in
# VARNISH_URLS and at the CDN named by CDN_PURGE.
VARNISH_URLS = env_list("VARNISH_URLS")
FRONT_CACHE_SECONDS = int(os.environ.get("FRONT_CACHE_SECONDS", "86400"))
FRONT_CACHE_STALE_WHILE_REVALIDATE = int(os.environ.get("FRONT_CACHE_STALE_WHILE_REVALIDATE", "30"))
FRONT_CACHE_STALE_IF_ERROR = int(os.environ.get("FRONT_CACHE_STALE_IF_ERROR", "86400"))
BROWSER_CACHE_SECONDS = int(os.environ.get("BROWSER_CACHE_SECONDS", "60"))
SURROGATE_KEY_HEADER = os.environ.get("SURROGATE_KEY_HEADER", "").strip()
CDN_PURGE = os.environ.get("CDN_PURGE", "").strip().lower()
if CDN_PURGE not in {"", "fastly", "cloudflare"}:
    raise ImproperlyConfigured(f"CDN_PURGE must be fastly, cloudflare or empty, not {CDN_PURGE!r}.")
FASTLY_API_URL = os.environ.get("FASTLY_API_URL", "https://api.fastly.com")
FASTLY_API_TOKEN = os.environ.get("FASTLY_API_TOKEN", "")
FASTLY_SERVICE_ID = os.environ.get("FASTLY_SERVICE_ID", "")
CLOUDFLARE_API_URL = os.environ.get("CLOUDFLARE_API_URL", "https://api.cloudflare.com/client/v4")
CLOUDFLARE_API_TOKEN = os.environ.get("CLOUDFLARE_API_TOKEN", "")
CLOUDFLARE_ZONE_ID = os.environ.get("CLOUDFLARE_ZONE_ID", "")
CDN_PURGE_NEEDS = {
    "fastly": ["FASTLY_API_TOKEN", "FASTLY_SERVICE_ID"],
    "cloudflare": ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ZONE_ID"],
}.get(CDN_PURGE, [])
if missing := [name for name in CDN_PURGE_NEEDS if not globals()[name]]:
    raise ImproperlyConfigured(f"CDN_PURGE={CDN_PURGE} needs {' and '.join(missing)}.")
PURGE_TIMEOUT = float(os.environ.get("PURGE_TIMEOUT", "0.5"))
CDN_PURGE_TIMEOUT = float(os.environ.get("CDN_PURGE_TIMEOUT", "10"))
# Every purge is sent again this many seconds later, for pages rendered during the commit.
PURGE_REPEAT_SECONDS = float(os.environ.get("PURGE_REPEAT_SECONDS", "2"))
PURGE_RETRY_ATTEMPTS = int(os.environ.get("PURGE_RETRY_ATTEMPTS", "16"))
PURGE_RETRY_MAX_SECONDS = int(os.environ.get("PURGE_RETRY_MAX_SECONDS", "300"))

# django-axes refuses a locked-out username or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Staff sign in through the admin's login page, which also leads to the second step.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en-gb")
# Dates are shown to readers in this zone, as the seed story does ("12:12 GMT").
TIME_ZONE = os.environ.get("TIME_ZONE", "GMT")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
SERVE_MEDIA = env_bool("SERVE_MEDIA", default=True)

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

# Email: printed to the console unless an SMTP host is configured.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=bool(EMAIL_HOST) and EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=EMAIL_PORT == 465)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Newsroom <newsroom@localhost>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# An email service provider instead of SMTP, through django-anymail: choose it with
# EMAIL_BACKEND=anymail.backends.<provider>.EmailBackend, and give its settings as
# ANYMAIL_<SETTING> variables (ANYMAIL_MAILGUN_API_KEY, ANYMAIL_WEBHOOK_SECRET…): each
# one becomes ANYMAIL["<SETTING>"]. Values are text, except `true`/`false`, numbers, and
# JSON lists or objects ([…], {…}); credentials (…KEY, …SECRET, …TOKEN, …PASSWORD) stay
# text unless written as a JSON list. The webhooks are at /newsletter/webhooks/.
ANYMAIL_CREDENTIAL_ENDINGS = ("KEY", "SECRET", "TOKEN", "PASSWORD")


def env_anymail_value(name, value):
    """Return the ANYMAIL_``name`` variable's ``value`` as the type anymail expects."""
    text = value.strip()
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except ValueError as error:
            raise ImproperlyConfigured(f"ANYMAIL_{name} is not valid JSON: {error}.") from None
    if name.endswith(ANYMAIL_CREDENTIAL_ENDINGS):
        return value
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    if text.isascii() and text.isdigit():
        return int(text)
    if text.isascii() and text.replace(".", "", 1).isdigit():
        return float(text)
    return value


ANYMAIL = {
    name.removeprefix("ANYMAIL_"): env_anymail_value(name.removeprefix("ANYMAIL_"), value)
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and value.strip()
}

# The public address of the site, used in emails and feeds where no request is at hand.
# Without SITE_URL, the address `make run` and `make serve` listen on (HOST and PORT).
SITE_URL = (
    os.environ.get("SITE_URL")
    or f"http://{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"
).rstrip("/")

# Security. Everything below is on whenever DEBUG is off.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# HSTS is opt-in per deployment: once a browser has seen it, plain HTTP is gone for a year.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is a per-domain, hard-to-undo decision, so it is the operator's to make
# (SECURE_HSTS_PRELOAD=1); Django's reminder about it is not a problem with the deploy.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
BEHIND_PROXY = env_bool("BEHIND_PROXY")
if BEHIND_PROXY:
    # Only trust X-Forwarded-Proto behind a proxy that sets it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

# Sign-in lockout (django-axes). A username and a client address are each counted on
# their own: a guess at one account from many addresses and a spray of one password across
# many accounts from one address both stop after LOGIN_FAILURE_LIMIT failures.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_COOLOFF_MINUTES = int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15"))
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
# A success would also wipe the count for its address, letting anyone with one working
# account reset a spray from that address; failures age out with the cool-off instead.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]
# Proxies in front of gunicorn that each append to X-Forwarded-For (a TLS terminator and
# Varnish make 2); read only when BEHIND_PROXY is on.
PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "1"))

# Two-factor sign-in for staff (django-otp): "editors" asks it of Editors and superusers,
# "all" of every staff user, "off" of nobody (a deployment with single sign-on in front).
# Anyone who has set up an authenticator is asked for a code whatever this says.
STAFF_2FA = os.environ.get("STAFF_2FA", "off" if DEBUG else "editors").strip().lower()
if STAFF_2FA not in {"editors", "all", "off"}:
    raise ImproperlyConfigured(f"STAFF_2FA must be editors, all or off, not {STAFF_2FA!r}.")
# Wrong codes double the wait before the next try (1, 2, 4, 8 … seconds), per device.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = urlsplit(SITE_URL).hostname or "Newsroom"

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "connect-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "frame-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    },
}

# Background work through Django's tasks API. The database backend needs a worker
# (`manage.py db_worker`); TASKS_BACKEND=immediate runs tasks in the request instead,
# which `make run` uses so that a single process shows everything.
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "database")
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
        }[TASKS_BACKEND],
        "QUEUES": ["default", "photos", "newsletter"],
    }
}

# Newsletter sending (docs/newsletter.md): messages per batch and SMTP connection; how
# many workers may share one issue; how long a batch may go without a heartbeat before
# its worker counts as stopped and another takes it over; the wait before sending again
# after the mail server refused for now; soft bounces that suppress an address.
NEWSLETTER_BATCH_SIZE = int(os.environ.get("NEWSLETTER_BATCH_SIZE", "200"))
NEWSLETTER_PARALLEL_SENDS = int(os.environ.get("NEWSLETTER_PARALLEL_SENDS", "4"))
NEWSLETTER_CLAIM_TIMEOUT = float(os.environ.get("NEWSLETTER_CLAIM_TIMEOUT", "300"))
NEWSLETTER_RETRY_DELAY = float(os.environ.get("NEWSLETTER_RETRY_DELAY", "60"))
NEWSLETTER_SOFT_BOUNCE_LIMIT = int(os.environ.get("NEWSLETTER_SOFT_BOUNCE_LIMIT", "3"))
NEWSLETTER_SOFT_BOUNCE_DAYS = int(os.environ.get("NEWSLETTER_SOFT_BOUNCE_DAYS", "30"))

# The story editor. Every plugin of the bundle is loaded whatever the toolbar shows,
# so story HTML is sanitised on the server (articles/html.py) regardless.
CKEDITOR_5_CONFIGS = {
    "default": {
        "toolbar": {
            "items": [
                "heading", "|", "bold", "italic", "link", "bulletedList", "numberedList",
                "blockQuote", "|", "insertImage", "mediaEmbed", "|", "undo", "redo",
            ]
        },
        "heading": {
            "options": [
                {"model": "paragraph", "title": "Paragraph", "class": "ck-heading_paragraph"},
                {"model": "heading2", "view": "h2", "title": "Heading 2",
                 "class": "ck-heading_heading2"},
                {"model": "heading3", "view": "h3", "title": "Heading 3",
                 "class": "ck-heading_heading3"},
            ]
        },
        "link": {"defaultProtocol": "https://"},
        "mediaEmbed": {"previewsInData": False},
        "image": {"toolbar": ["toggleImageCaption", "imageTextAlternative"]},
    }
}  # fmt: skip
# Images dropped into the editor go to the photo library, not an anonymous folder.
CK_EDITOR_5_UPLOAD_FILE_VIEW_NAME = "photos:editor_upload"
CKEDITOR_5_FILE_UPLOAD_PERMISSION = "staff"

# Working on a story (articles/editing.py). An open story form sends a heartbeat every
# EDITING_HEARTBEAT_SECONDS; a person silent for EDITING_LOCK_SECONDS has left, and their
# lock with them, so a closed tab or a lost connection never strands a story.
EDITING_HEARTBEAT_SECONDS = int(os.environ.get("EDITING_HEARTBEAT_SECONDS", "20"))
EDITING_LOCK_SECONDS = int(os.environ.get("EDITING_LOCK_SECONDS", "60"))
# Autosave: how long after the last keystroke, and the most one working copy may hold.
AUTOSAVE_DELAY_SECONDS = float(os.environ.get("AUTOSAVE_DELAY_SECONDS", "2"))
AUTOSAVE_MAX_BYTES = int(os.environ.get("AUTOSAVE_MAX_BYTES", str(1024 * 1024)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO", "propagate": True},
    },
}

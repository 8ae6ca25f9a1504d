"""Tandem settings: everything comes from TANDEM_* environment variables.

Profiles (TANDEM_PROFILE):
- demo: the default of `make run`; embedded SQLite under var/, demo logins without MFA,
  e-mail to the console. Never for real patients.
- development: like demo, with DEBUG on unless TANDEM_DEBUG says otherwise.
- test: used by the test suite.
- production: a secret key is required, HTTPS-only cookies and HSTS, MFA required for
  clinicians by default, SMTP e-mail.
A bad value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from tandem.lib.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_timezone,
)

BASE_DIR = Path(__file__).resolve().parent.parent
PROFILE = env_choice("TANDEM_PROFILE", "demo", ("demo", "development", "test", "production"))
PRODUCTION = PROFILE == "production"
VAR_DIR = Path(env_str("TANDEM_VAR_DIR", str(BASE_DIR / "var")))


def _secret_key() -> str:
    key = env_str("TANDEM_SECRET_KEY")
    if key:
        if PRODUCTION and (len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure")):
            raise ImproperlyConfigured(
                "TANDEM_SECRET_KEY: must be at least 50 random characters in the production profile"
            )
        return key
    if PRODUCTION:
        raise ImproperlyConfigured(
            "TANDEM_SECRET_KEY: required in the production profile "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(64))")'
        )
    if PROFILE == "test":
        return "test-only-" + "k" * 60
    # Demo and development keep a generated key under var/ so sessions survive restarts.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("TANDEM_DEBUG", PROFILE == "development")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("TANDEM_DEBUG: must be off in the production profile")
ALLOWED_HOSTS = env_list(
    "TANDEM_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("TANDEM_ALLOWED_HOSTS: required in the production profile")
CSRF_TRUSTED_ORIGINS = env_list("TANDEM_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("TANDEM_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # its Swagger UI files, served locally for /api/docs
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "tandem.core",
    "tandem.accounts",
    "tandem.audit",
    "tandem.patients",
    "tandem.plans",
    "tandem.medications",
    "tandem.therapy",
    "tandem.notes",
    "tandem.practice",
    "tandem.feedback",
    "tandem.measures",
    "tandem.handoffs",
    "tandem.safety",
    "tandem.caretime",
    "tandem.fhir",
    "tandem.registry",
    "tandem.collab",
    "tandem.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tandem.accounts.middleware.SessionTimeoutMiddleware",
    "tandem.accounts.middleware.RequireMFAMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tandem.urls"
WSGI_APPLICATION = "tandem.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tandem" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tandem.core.context.navigation",
            ],
        },
    }
]

DATABASES = {
    "default": database_from_url(
        "TANDEM_DATABASE_URL",
        env_str("TANDEM_DATABASE_URL", f"sqlite:///{VAR_DIR / 'tandem.sqlite3'}"),
        base_dir=str(BASE_DIR),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if PROFILE == "test":
    # Hashing strength is not under test; argon2 would dominate the suite's run time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = env_int("TANDEM_PASSWORD_RESET_TIMEOUT_MINUTES", 60, minimum=5) * 60

# Multi-factor authentication (TOTP) for clinicians and administrators.
REQUIRE_MFA = env_bool("TANDEM_REQUIRE_MFA", PROFILE not in ("demo", "test"))
OTP_TOTP_ISSUER = env_str("TANDEM_MFA_ISSUER", "Tandem")

# Sessions: idle and absolute time-outs (HIPAA 164.312(a)(2)(iii), ASVS 7.3).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
IDLE_TIMEOUT_MINUTES = env_int("TANDEM_IDLE_TIMEOUT_MINUTES", 15, minimum=1, maximum=24 * 60)
PATIENT_IDLE_TIMEOUT_MINUTES = env_int("TANDEM_PATIENT_IDLE_TIMEOUT_MINUTES", 30, minimum=1, maximum=24 * 60)
ABSOLUTE_TIMEOUT_HOURS = env_int("TANDEM_ABSOLUTE_TIMEOUT_HOURS", 12, minimum=1, maximum=24 * 30)
SESSION_COOKIE_AGE = ABSOLUTE_TIMEOUT_HOURS * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "tandem.core.views.csrf_failure"

# Lock-out after repeated failed logins (django-axes).
AXES_FAILURE_LIMIT = env_int("TANDEM_LOCKOUT_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("TANDEM_LOCKOUT_MINUTES", 15, minimum=1) / 60  # hours
# Lock the account, not the address: a whole clinic often shares one NAT address, and an
# address-wide lock-out would let one mistyped password lock out every clinician there.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "tandem.accounts.views.locked_out"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

BREAK_GLASS_HOURS = env_int("TANDEM_BREAK_GLASS_HOURS", 4, minimum=1, maximum=72)
DEMO_PASSWORD = env_str("TANDEM_DEMO_PASSWORD", "tandem-demo")
CRISIS_LINE = env_str("TANDEM_CRISIS_LINE", "988")
# Collaborative-care billing thresholds (tandem/caretime/rules.py): the CPT/HCPCS code descriptors'
# minutes, or CMS's midpoint minimums.
TANDEM_CARETIME_THRESHOLDS = env_choice(
    "TANDEM_CARETIME_THRESHOLDS", "descriptor", ("descriptor", "midpoint")
)

# E-mail: SMTP by configuration; the console outside production.
DEFAULT_FROM_EMAIL = env_str("TANDEM_FROM_EMAIL", "Tandem <tandem@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env_str("TANDEM_SMTP_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("TANDEM_SMTP_PORT", 587, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env_str("TANDEM_SMTP_USER")
    EMAIL_HOST_PASSWORD = env_str("TANDEM_SMTP_PASSWORD")
    EMAIL_USE_TLS = env_bool("TANDEM_SMTP_STARTTLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("TANDEM_SMTP_SSL", EMAIL_PORT == 465)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        raise ImproperlyConfigured("TANDEM_SMTP_SSL: cannot be on together with TANDEM_SMTP_STARTTLS")
    EMAIL_TIMEOUT = 20
elif PRODUCTION:
    raise ImproperlyConfigured(
        "TANDEM_SMTP_HOST: required in the production profile (password resets, alerts)"
    )
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# Background work: a database-backed queue drained by `tandem worker`.
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if PROFILE == "test"
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}

LANGUAGE_CODE = "en-us"
# Tests run far from UTC (as wagtail does) so that a naive or server-clock date shows up.
TIME_ZONE = env_timezone("TANDEM_TIME_ZONE", "Asia/Tokyo" if PROFILE == "test" else "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "tandem" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production WhiteNoise serves straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Security headers. Production is HTTPS-only; `tandem check --deploy` is clean there.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("TANDEM_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("TANDEM_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("TANDEM_LOG_LEVEL", "WARNING").upper()},
    "loggers": {"axes": {"level": "WARNING"}, "django_tasks": {"level": "WARNING"}},
}

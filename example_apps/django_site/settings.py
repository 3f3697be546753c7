"""Settings of the example site; see README.md here for the environment variables."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _note(text: str) -> None:
    print(f"django_site: {text}", file=sys.stderr)


REDIS_URL = os.environ.get("REDIS_URL", "")
if not REDIS_URL:
    REDIS_URL = "memory://"
    _note(
        "REDIS_URL is not set: sessions live in this process (memory://) and are lost on restart. "
        "Set REDIS_URL=redis://127.0.0.1:6379/0 to keep them in Redis."
    )

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    SECRET_KEY = "django-insecure-example-site-dev-key-do-not-use-in-production"
    _note("DJANGO_SECRET_KEY is not set: using a public, INSECURE development key.")

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "redis_sessions.integrations.django",  # checks REDIS_SESSIONS at start-up
    "example_apps.django_site",  # the User model
]
AUTH_USER_MODEL = "django_site.User"  # Django's user, keyed by username (see models.py)
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "redis_sessions.integrations.django.SessionMiddleware",  # Django's, plus 503 while Redis is down
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Served next to the ASGI and Flask examples (scripts/demo.sh): one cookie, one login for all three.
SHARED_LOGIN = os.environ.get("DJANGO_SITE_SHARED_LOGIN") == "1"
if SHARED_LOGIN:
    auth = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    MIDDLEWARE.insert(auth + 1, "example_apps.django_site.shared_login.SharedLoginMiddleware")
    SESSION_COOKIE_NAME = "session"  # the other two apps' cookie
    SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_COOKIE_AGE", 14 * 24 * 3600))  # their TTL

SESSION_ENGINE = "redis_sessions.integrations.django"
REDIS_SESSIONS = {
    "URL": REDIS_URL,
    "KEY_PREFIX": os.environ.get("REDIS_SESSIONS_KEY_PREFIX", "session:"),
}
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "example_apps.django_site.urls"
WSGI_APPLICATION = "example_apps.django_site.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,  # the admin's templates
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "example_apps.django_site.shared_login.shared_login",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB_PATH")
        or str(Path(tempfile.gettempdir()) / "redis-sessions-django-site-2.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LOGIN_URL = "login"

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"

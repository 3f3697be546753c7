"""Django session engine: ``SESSION_ENGINE = "redis_sessions.integrations.django"``.

Settings live in ``REDIS_SESSIONS`` (upper-case `SessionConfig` fields, plus ``FALLBACK_ENGINE``)
and fall back to Django's own: ``SESSION_COOKIE_AGE``, ``SESSION_COOKIE_*``, ``SECRET_KEY`` and
``SECRET_KEY_FALLBACKS``. Add ``"redis_sessions.integrations.django"`` to ``INSTALLED_APPS`` for
the settings check at start-up and the ``redis_sessions_migrate`` management command; use
`SessionMiddleware` from here in place of Django's to answer 503 while Redis is unreachable.
"""

from django.conf import settings as _django_settings

from redis_sessions.integrations.django import _settings
from redis_sessions.integrations.django.engine import SessionStore
from redis_sessions.integrations.django.middleware import SessionMiddleware
from redis_sessions.integrations.django.users import (
    current_session_id,
    get_async_store,
    get_session,
    get_store,
)

__all__ = [
    "SessionMiddleware",
    "SessionStore",
    "current_session_id",
    "get_async_store",
    "get_session",
    "get_store",
]

if _django_settings.configured and getattr(_django_settings, "SESSION_ENGINE", None) == __name__:
    _settings.current()  # Django imports the engine at start-up: a bad setting fails there

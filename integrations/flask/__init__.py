"""Flask extension: ``RedisSessions(app)`` makes ``flask.session`` server-side in Redis.

Config keys, all optional except ``SECRET_KEY``:

- ``REDIS_SESSIONS_URL``, ``REDIS_SESSIONS_TTL`` (seconds; default ``PERMANENT_SESSION_LIFETIME``),
  ``REDIS_SESSIONS_ABSOLUTE_TTL``, ``REDIS_SESSIONS_KEY_PREFIX``, ``REDIS_SESSIONS_MAX_SIZE``,
  ``REDIS_SESSIONS_SERIALIZER``, ``REDIS_SESSIONS_CONNECT_TIMEOUT`` / ``_COMMAND_TIMEOUT``,
  ``REDIS_SESSIONS_SECRET_KEYS``: any `SessionConfig` field, upper-case, prefixed;
- ``REDIS_SESSIONS_CLIENT``: the dotted path of a zero-argument callable returning the app's own
  sync redis-py client (or that callable), used instead of ``REDIS_SESSIONS_URL``; or pass a
  ready client as ``RedisSessions(app, client=...)``. The extension never closes it;
- ``REDIS_SESSIONS_HEALTH_PATH``: a URL path (say ``"/healthz"``) that answers with the store's
  readiness, 200 or 503 with a small JSON body, for Kubernetes probes and load balancers; off
  by default;
- ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` sign the cookie (the first signs, all verify);
- Flask's ``SESSION_COOKIE_*`` keys shape the cookie (SameSite=Lax where Flask's is unset);
  ``SESSION_REFRESH_EACH_REQUEST`` re-sends a permanent session's cookie on every request.
"""

from redis_sessions.integrations.flask.extension import (
    RedisSessions,
    clear_session,
    get_session,
    get_store,
    regenerate_session,
)
from redis_sessions.integrations.flask.interface import FlaskSession, RedisSessionInterface

__all__ = [
    "FlaskSession",
    "RedisSessionInterface",
    "RedisSessions",
    "clear_session",
    "get_session",
    "get_store",
    "regenerate_session",
]

"""`RedisSessions`: the Flask extension object, and the helpers views call."""

from __future__ import annotations

import weakref
from typing import Any

from flask import Flask, Response, current_app, session

from redis_sessions import ConfigError, SessionStore, _http
from redis_sessions.integrations.flask._settings import settings_from_app
from redis_sessions.integrations.flask.interface import FlaskSession, RedisSessionInterface

EXTENSION = "redis_sessions"


class RedisSessions:
    """Server-side ``flask.session`` in Redis: ``RedisSessions(app)``, or ``RedisSessions()`` then
    ``init_app(app)`` in an app factory (one object may serve several apps).

    Settings come from ``app.config`` (see `redis_sessions.integrations.flask`); a missing
    ``SECRET_KEY`` or a bad value raises `ConfigError` here, at start-up, naming the key.

    `client`: a ready redis-py client of the app's, used instead of one built from
    ``REDIS_SESSIONS_URL``: `redis.Redis`, a Sentinel ``master_for`` client, or
    `redis.cluster.RedisCluster` (sync: Flask views are). It serves every app this object
    initialises, unless `init_app` is given its own; ``REDIS_SESSIONS_CLIENT`` in the config does
    the same from settings. The extension never closes it.
    """

    def __init__(self, app: Flask | None = None, *, client: Any = None) -> None:
        self._client = client
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, *, client: Any = None) -> None:
        """Install the session interface on `app`, with a store over `client` (default: the one
        given to the constructor, then ``REDIS_SESSIONS_CLIENT``'s) or built from its config. That
        store is closed when `app` is garbage collected, or when the process exits (a client the
        app gave is not: the store never closes it). Raises `ConfigError` naming the key (or
        ``client``) for a bad setting, a client that is not a sync redis-py one, or a client and a
        ``REDIS_SESSIONS_URL`` both given."""
        settings = settings_from_app(app, client if client is not None else self._client)
        try:
            store = SessionStore(settings.config, client=settings.client)
        except ConfigError as exc:
            if exc.field != "client":
                raise
            kind = type(settings.client)
            raise ConfigError(
                settings.client_source,
                "must be a sync redis-py client (redis.Redis, a Sentinel master_for client, or "
                f"redis.cluster.RedisCluster), got a {kind.__module__}.{kind.__qualname__}",
            ) from exc
        interface = RedisSessionInterface(
            store, permanent=settings.permanent, partitioned=settings.partitioned
        )
        app.session_interface = interface
        app.extensions[EXTENSION] = interface
        # The store's connections close when the app is garbage collected or, at the latest, when
        # the process exits (weakref.finalize runs at exit; it holds the app weakly).
        weakref.finalize(app, store.close)
        # First of all hooks: a request whose session cannot be loaded gets its 503 before any other.
        app.before_request_funcs.setdefault(None, []).insert(0, interface.refuse_while_unreachable)
        if settings.health_path is not None:
            app.add_url_rule(settings.health_path, "redis_sessions_health", _health_view)
        # The start-up check: one WARNING naming what is wrong (unreachable, missing ACL rules,
        # an evicting maxmemory-policy), nothing when all is well.
        _http.log_at_startup(store.health())

    @staticmethod
    def store(app: Flask | None = None) -> SessionStore:
        """`get_store`, for code that holds the extension object."""
        return get_store(app)


def _health_view() -> Response:
    """The readiness endpoint (``REDIS_SESSIONS_HEALTH_PATH``): `store.health()` as
    `_http.readiness` says."""
    status, body = _http.readiness(get_store().health())
    return Response(body, status, mimetype="application/json", headers={"Cache-Control": "no-store"})


def get_store(app: Flask | None = None) -> SessionStore:
    """The `SessionStore` of `app` (default: the current app), for what ``flask.session`` has no
    words for: ``sessions_for_user(user_id)``, ``delete_user_sessions(user_id, except_id=...)``.
    Raises `RuntimeError` when the extension is not initialised on the app."""
    target = app if app is not None else current_app
    interface = target.extensions.get(EXTENSION)
    if not isinstance(interface, RedisSessionInterface):
        raise RuntimeError("redis_sessions is not initialised on this app: call RedisSessions(app)")
    return interface.store


def get_session() -> FlaskSession:
    """``flask.session`` as our `FlaskSession` (its `id`, `user_id`, `expires_at`, ...), inside a
    request. Raises `RuntimeError` when the app's sessions are not ours."""
    current = session._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(current, FlaskSession):
        raise RuntimeError("flask.session is not a redis_sessions session: call RedisSessions(app)")
    return current


def regenerate_session() -> FlaskSession:
    """Give the session a fresh id when the response is saved (call at login: session fixation).
    The data and user binding move over; the old id stops working. Logging in with Flask-Login
    (a new ``_user_id``) does this by itself."""
    current = get_session()
    _http.request_regenerate(current)
    return current


def clear_session() -> FlaskSession:
    """Empty the session and unbind its user; it is deleted from Redis and its cookie expired when
    the response is saved (call at logout). Data written afterwards goes to a fresh session."""
    current = get_session()
    _http.request_clear(current)
    return current

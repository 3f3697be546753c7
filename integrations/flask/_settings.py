"""The extension's settings: ``REDIS_SESSIONS_*`` config keys (upper-case `SessionConfig` fields)
over Flask's own.

Flask's config fills what ``REDIS_SESSIONS_*`` leaves out: ``PERMANENT_SESSION_LIFETIME`` is the
idle ``ttl``, ``SECRET_KEY`` with ``SECRET_KEY_FALLBACKS`` the signing keys (the first signs, all
verify), the ``SESSION_COOKIE_*`` keys the cookie, with SameSite=Lax where Flask leaves it unset.
Bad values raise `ConfigError` naming the config key (never quoting a secret), when the extension
is initialised; without ``REDIS_SESSIONS_URL`` (or a client) sessions stay in the process
(``memory://``) and one WARNING says so.

``REDIS_SESSIONS_CLIENT`` gives the app's own redis-py client: the dotted path of a zero-argument
callable that returns one (imported with Werkzeug's `import_string`), or that callable itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from flask import Flask
from werkzeug.utils import import_string

from redis_sessions import ConfigError, SessionConfig
from redis_sessions.config import error_message, implicit_memory_url

PREFIX = "REDIS_SESSIONS_"
# Options of the extension itself, next to the SessionConfig fields.
PERMANENT = PREFIX + "PERMANENT"  # sessions are permanent unless a view sets otherwise
CLIENT = PREFIX + "CLIENT"  # a factory of the app's own sync redis-py client
HEALTH_PATH = PREFIX + "HEALTH_PATH"  # a URL path for the readiness endpoint (None: none)
OPTIONS = (PERMANENT, CLIENT, HEALTH_PATH)
# The url of a config whose store uses a client of the app's: never connected to, and not
# memory:// (which would warn, and refuse replica_acks).
CLIENT_URL = "redis://"

# SessionConfig field -> the Flask config key it comes from.
FLASK_KEYS = {
    "ttl": "PERMANENT_SESSION_LIFETIME",
    "cookie_name": "SESSION_COOKIE_NAME",
    "cookie_path": "SESSION_COOKIE_PATH",
    "cookie_domain": "SESSION_COOKIE_DOMAIN",
    "cookie_secure": "SESSION_COOKIE_SECURE",
    "cookie_httponly": "SESSION_COOKIE_HTTPONLY",
    "cookie_samesite": "SESSION_COOKIE_SAMESITE",
}


def _flask_value(app: Flask, field: str) -> Any:
    value = app.config.get(FLASK_KEYS[field])
    if field == "ttl" and isinstance(value, timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds == int(seconds) else seconds  # a fraction fails validation
    if field == "cookie_path":
        return value or app.config.get("APPLICATION_ROOT") or "/"  # as Flask's get_cookie_path
    if field == "cookie_domain":
        return value or None
    if field == "cookie_samesite" and value is None:
        return "lax"  # Flask omits the attribute when unset; ours is secure by default
    return value


def _source(field: str, given: set[str]) -> str:
    if PREFIX + field.upper() in given:
        return PREFIX + field.upper()
    if field == "secret_keys":
        return "SECRET_KEY / SECRET_KEY_FALLBACKS"
    return FLASK_KEYS.get(field, PREFIX + field.upper())


@dataclass(frozen=True)
class ExtensionSettings:
    """What `init_app` reads from an app's config."""

    config: SessionConfig
    permanent: bool  # REDIS_SESSIONS_PERMANENT: the default of `session.permanent`
    partitioned: bool  # SESSION_COOKIE_PARTITIONED (Flask 3.1)
    client: Any  # the app's own redis-py client (None: one built from the URL)
    client_source: str  # where `client` came from, for errors: the config key or "client"
    health_path: str | None  # REDIS_SESSIONS_HEALTH_PATH


def settings_from_app(app: Flask, client: Any = None) -> ExtensionSettings:
    """Read `app`'s config; `client` is the one given to `init_app`, if any. Raises `ConfigError`
    naming the bad key."""
    permanent = app.config.get(PERMANENT, False)
    if not isinstance(permanent, bool):
        raise ConfigError(PERMANENT, f"must be True or False, got {permanent!r}")
    partitioned = bool(app.config.get("SESSION_COOKIE_PARTITIONED", False))
    health_path = app.config.get(HEALTH_PATH)
    if health_path is not None and (not isinstance(health_path, str) or not health_path.startswith("/")):
        raise ConfigError(HEALTH_PATH, f"must be a URL path such as '/healthz', got {health_path!r}")
    factory = app.config.get(CLIENT)
    if factory is not None and client is not None:
        raise ConfigError(CLIENT, "is set and a client= was given too: give one of them")
    source = CLIENT if factory is not None else "client"
    with_client = factory is not None or client is not None
    if with_client and app.config.get(PREFIX + "URL") is not None:
        raise ConfigError(
            PREFIX + "URL",
            f"is set and so is a client ({source}): sessions go through the client, the URL would "
            "not be used; remove one",
        )
    config = config_from_app(app, with_client=with_client)  # bad settings fail before the call
    if factory is not None:
        client = client_from_factory(factory)
    return ExtensionSettings(config, permanent, partitioned, client, source, health_path)


def client_from_factory(value: Any) -> Any:
    """Call the factory ``REDIS_SESSIONS_CLIENT`` names (a dotted path, or the callable itself)
    with no arguments and return what it gives. Raises `ConfigError` naming the key when the path
    cannot be imported or names nothing callable."""
    factory: Callable[[], Any]
    if isinstance(value, str):
        try:
            factory = import_string(value)
        except (ImportError, ValueError) as exc:  # werkzeug's ImportStringError is an ImportError
            raise ConfigError(CLIENT, f"cannot import {value!r}: {_import_error(exc)}") from exc
    else:
        factory = value
    if not callable(factory):
        raise ConfigError(
            CLIENT,
            "must be the dotted path of a zero-argument callable that returns a redis-py client "
            f"(or that callable), got {type(factory).__name__}",
        )
    return factory()


def _import_error(exc: Exception) -> str:
    """The reason, without werkzeug's multi-line debugging report."""
    cause = getattr(exc, "exception", None)  # ImportStringError keeps the original error here
    return str(cause if isinstance(cause, BaseException) else exc)


def config_from_app(app: Flask, *, with_client: bool = False) -> SessionConfig:
    """Build the `SessionConfig` of `app` from its config (`with_client`: the store will use a
    client of the app's, not the URL). Raises `ConfigError` naming the key."""
    known = {f.name.upper(): f.name for f in fields(SessionConfig)}
    values: dict[str, Any] = {}
    given: set[str] = set()
    for key, value in app.config.items():
        if not key.startswith(PREFIX) or key in OPTIONS:
            continue
        name = key[len(PREFIX) :]
        if name.startswith("COOKIE_") and name in known:
            # Flask users set the cookie with Flask's keys: one source of truth, as Django's engine.
            raise ConfigError(key, f"set SESSION_{name} instead: the cookie follows Flask's own keys")
        if name not in known:
            names = [PREFIX + k for k in known if not k.startswith("COOKIE_")]
            options = ", ".join(sorted([*names, *OPTIONS]))
            raise ConfigError(key, f"is not a known option (known: {options})")
        values[known[name]] = value
        given.add(key)
    for field in FLASK_KEYS:
        if field not in values:
            values[field] = _flask_value(app, field)
    if "secret_keys" not in values:
        secret = app.config.get("SECRET_KEY")
        if not secret:
            raise ConfigError("SECRET_KEY", "is not set: session ids are signed with it (and its fallbacks)")
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
        values["secret_keys"] = [_text(secret), *(_text(k) for k in fallbacks)]
    if with_client:
        values.setdefault("url", CLIENT_URL)
    values.setdefault("url", implicit_memory_url(PREFIX + "URL"))  # memory://, with a warning
    try:
        return SessionConfig(**values)
    except ConfigError as exc:  # its message never shows a secret key or the URL's password
        raise ConfigError(_source(exc.field, given), error_message(exc)) from exc


def _text(key: str | bytes) -> str:
    return key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key

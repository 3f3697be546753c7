"""The extension's settings: ``REDIS_SESSIONS_*`` config keys (upper-case `SessionConfig` fields)
over Flask's own.

Flask's config fills what ``REDIS_SESSIONS_*`` leaves out: ``PERMANENT_SESSION_LIFETIME`` is the
idle ``ttl``, ``SECRET_KEY`` with ``SECRET_KEY_FALLBACKS`` the signing keys (the first signs, all
verify), the ``SESSION_COOKIE_*`` keys the cookie, with SameSite=Lax where Flask leaves it unset.
Bad values raise `ConfigError` naming the config key (never quoting a secret), when the extension
is initialised; without ``REDIS_SESSIONS_URL`` sessions stay in the process (``memory://``) and one
WARNING says so.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from flask import Flask

from redis_sessions import ConfigError, SessionConfig
from redis_sessions.config import error_message, implicit_memory_url

PREFIX = "REDIS_SESSIONS_"
# Options of the extension itself, next to the SessionConfig fields.
PERMANENT = PREFIX + "PERMANENT"  # sessions are permanent unless a view sets otherwise

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


def settings_from_app(app: Flask) -> ExtensionSettings:
    """Read `app`'s config. Raises `ConfigError` naming the bad key."""
    permanent = app.config.get(PERMANENT, False)
    if not isinstance(permanent, bool):
        raise ConfigError(PERMANENT, f"must be True or False, got {permanent!r}")
    partitioned = bool(app.config.get("SESSION_COOKIE_PARTITIONED", False))
    return ExtensionSettings(config_from_app(app), permanent, partitioned)


def config_from_app(app: Flask) -> SessionConfig:
    """Build the `SessionConfig` of `app` from its config. Raises `ConfigError` naming the key."""
    known = {f.name.upper(): f.name for f in fields(SessionConfig)}
    values: dict[str, Any] = {}
    given: set[str] = set()
    for key, value in app.config.items():
        if not key.startswith(PREFIX) or key == PERMANENT:
            continue
        name = key[len(PREFIX) :]
        if name.startswith("COOKIE_") and name in known:
            # Flask users set the cookie with Flask's keys: one source of truth, as Django's engine.
            raise ConfigError(key, f"set SESSION_{name} instead: the cookie follows Flask's own keys")
        if name not in known:
            names = [PREFIX + k for k in known if not k.startswith("COOKIE_")]
            options = ", ".join(sorted([*names, PERMANENT]))
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
    values.setdefault("url", implicit_memory_url(PREFIX + "URL"))  # memory://, with a warning
    try:
        return SessionConfig(**values)
    except ConfigError as exc:  # its message never shows a secret key or the URL's password
        raise ConfigError(_source(exc.field, given), error_message(exc)) from exc


def _text(key: str | bytes) -> str:
    return key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key

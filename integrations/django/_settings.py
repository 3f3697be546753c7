"""The engine's settings: ``REDIS_SESSIONS`` (upper-case `SessionConfig` fields) over Django's own.

Django's settings fill what ``REDIS_SESSIONS`` leaves out: ``SESSION_COOKIE_AGE`` is the idle
``ttl``, ``SESSION_COOKIE_*`` the cookie, ``SECRET_KEY`` with ``SECRET_KEY_FALLBACKS`` the signing
keys (the first signs, all verify). Stores are built once per settings and rebuilt when a test
changes them (Django's ``setting_changed`` signal). Bad values raise ``ImproperlyConfigured``
naming the setting (never quoting a secret); without ``REDIS_SESSIONS["URL"]`` sessions stay in the
process (``memory://``) and one WARNING says so.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from redis_sessions import AsyncSessionStore, ConfigError, SessionConfig, SessionStore
from redis_sessions.config import error_message, implicit_memory_url

SETTING = "REDIS_SESSIONS"

# SessionConfig field -> the Django setting it falls back to.
DJANGO_FALLBACKS = {
    "ttl": "SESSION_COOKIE_AGE",
    "cookie_name": "SESSION_COOKIE_NAME",
    "cookie_path": "SESSION_COOKIE_PATH",
    "cookie_domain": "SESSION_COOKIE_DOMAIN",
    "cookie_secure": "SESSION_COOKIE_SECURE",
    "cookie_httponly": "SESSION_COOKIE_HTTPONLY",
    "cookie_samesite": "SESSION_COOKIE_SAMESITE",
}
# Options of the engine itself, next to the SessionConfig fields.
ENGINE_OPTIONS = ("FALLBACK_ENGINE",)
_WATCHED = {SETTING, "SECRET_KEY", "SECRET_KEY_FALLBACKS", *DJANGO_FALLBACKS.values()}


@dataclass(frozen=True)
class EngineSettings:
    """Everything the engine needs, built from settings once."""

    config: SessionConfig
    store: SessionStore
    async_store: AsyncSessionStore
    fallback_engine: str | None


def _django_cookie_value(field: str) -> Any:
    value = getattr(settings, DJANGO_FALLBACKS[field])
    if field == "cookie_samesite" and value is False:
        return "lax"  # Django's False omits the attribute: browsers then default to Lax
    return value


def _source(field: str, given: dict[str, Any]) -> str:
    if field.upper() in given:
        return f"{SETTING}[{field.upper()!r}]"
    if field == "secret_keys":
        return "SECRET_KEY / SECRET_KEY_FALLBACKS"
    return DJANGO_FALLBACKS.get(field, f"{SETTING}[{field.upper()!r}]")


def build() -> EngineSettings:
    """Read the settings and build the stores. Raises `ImproperlyConfigured` naming a bad setting."""
    given = getattr(settings, SETTING, {}) or {}
    if not isinstance(given, dict):
        raise ImproperlyConfigured(f"{SETTING} must be a dict of upper-case SessionConfig fields")
    known = {f.name.upper(): f.name for f in fields(SessionConfig)}
    values: dict[str, Any] = {}
    for name, value in given.items():
        if name in ENGINE_OPTIONS:
            continue
        if name not in known:
            options = ", ".join(sorted([*known, *ENGINE_OPTIONS]))
            raise ImproperlyConfigured(f"{SETTING}[{name!r}] is not a known option (known: {options})")
        values[known[name]] = value
    for field, django_name in DJANGO_FALLBACKS.items():
        django_value = _django_cookie_value(field) if field != "ttl" else getattr(settings, django_name)
        if field not in values:
            values[field] = django_value
        elif field != "ttl" and values[field] != django_value:
            # Django's SessionMiddleware writes the cookie from its own settings: one source of truth.
            raise ImproperlyConfigured(
                f"{SETTING}[{field.upper()!r}] is {values[field]!r} but {django_name} is "
                f"{django_value!r}: Django writes the cookie from {django_name}; set that instead"
            )
    if "secret_keys" not in values:
        values["secret_keys"] = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    values.setdefault("url", implicit_memory_url(f"{SETTING}['URL']"))  # memory://, with a warning
    try:
        config = SessionConfig(**values)
    except ConfigError as exc:  # its message never shows a secret key or the URL's password
        raise ImproperlyConfigured(f"{_source(exc.field, given)}: {error_message(exc)}") from exc
    fallback = given.get("FALLBACK_ENGINE")
    if fallback is not None and (not isinstance(fallback, str) or not fallback):
        raise ImproperlyConfigured(f"{SETTING}['FALLBACK_ENGINE'] must be a session engine's module path")
    return EngineSettings(config, SessionStore(config), AsyncSessionStore(config), fallback)


@lru_cache(maxsize=1)
def current() -> EngineSettings:
    """The engine settings in force (built on first use, then cached)."""
    return build()


def _reset(*, setting: str, **_: Any) -> None:
    if setting in _WATCHED:
        current.cache_clear()


setting_changed.connect(_reset)

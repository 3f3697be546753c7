"""The engine's settings: ``REDIS_SESSIONS`` (upper-case `SessionConfig` fields) over Django's own.

Django's settings fill what ``REDIS_SESSIONS`` leaves out: ``SESSION_COOKIE_AGE`` is the idle
``ttl``, ``SESSION_COOKIE_*`` the cookie, ``SECRET_KEY`` with ``SECRET_KEY_FALLBACKS`` the signing
keys (the first signs, all verify). Stores are built once per settings and rebuilt when a test
changes them (Django's ``setting_changed`` signal). Bad values raise ``ImproperlyConfigured``
naming the setting (never quoting a secret); without ``REDIS_SESSIONS["URL"]`` (or ``"CLIENT"``)
sessions stay in the process (``memory://``) and one WARNING says so.

``REDIS_SESSIONS["CLIENT"]`` names a factory of your own redis-py clients (dotted path, or the
callable itself), used instead of clients built from ``URL``. The engine has a sync and an asyncio
store, so the factory is called twice, once each, when the settings are read::

    # myproject/redis.py
    def session_client(*, asynchronous: bool) -> redis.Redis | redis.asyncio.Redis:
        if asynchronous:  # for aget/asave/... in async views
            return redis.asyncio.Redis(host="redis.internal", client_name="sessions")
        return redis.Redis(host="redis.internal", client_name="sessions")

``asynchronous=False`` must give a `redis.Redis` (a Sentinel ``master_for`` client too) or a
`redis.cluster.RedisCluster`; ``asynchronous=True`` their `redis.asyncio` counterparts. The
engine never closes these clients. An asyncio client belongs to the event loop it connects in
(redis-py's rule): under an ASGI server that is the server's loop; under WSGI, Django runs each
async view in a loop of its own, so there keep to sync views (or leave ``CLIENT`` unset).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

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
ENGINE_OPTIONS = ("FALLBACK_ENGINE", "CLIENT", "MIGRATE_SHARE")
CLIENT = f"{SETTING}['CLIENT']"
# The url of a config whose store uses a client of the app's: never connected to, never shown
# as where sessions live, and not memory:// (which would warn, and refuse replica_acks).
CLIENT_URL = "redis://"
_WATCHED = {SETTING, "SECRET_KEY", "SECRET_KEY_FALLBACKS", *DJANGO_FALLBACKS.values()}


@dataclass(frozen=True)
class EngineSettings:
    """Everything the engine needs, built from settings once."""

    config: SessionConfig
    store: SessionStore
    async_store: AsyncSessionStore
    fallback_engine: str | None
    migrate_share: int = 100  # percent of the fallback engine's sessions moved on first use


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


def client_factory(value: Any) -> Callable[..., Any]:
    """The factory ``REDIS_SESSIONS["CLIENT"]`` names: a dotted path (imported with Django's
    `import_string`) or the callable itself. Raises `ImproperlyConfigured` naming the setting when
    it cannot be imported, is not callable, or does not take the keyword ``asynchronous``."""
    factory: object = value
    if isinstance(value, str):
        try:
            factory = import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(f"{CLIENT}: cannot import {value!r}: {exc}") from exc
    if not callable(factory):
        raise ImproperlyConfigured(
            f"{CLIENT} must be the dotted path of a callable that returns a redis-py client, "
            f"got {type(factory).__name__}"
        )
    try:
        inspect.signature(factory).bind(asynchronous=False)
    except TypeError:
        raise ImproperlyConfigured(
            f"{CLIENT}: {_name(factory)} must take the keyword argument asynchronous "
            "(False for the sync client, True for the asyncio one)"
        ) from None
    except ValueError:  # no signature to read (some builtins): the call will tell
        pass
    return factory


def _name(factory: Callable[..., Any]) -> str:
    return f"{getattr(factory, '__module__', None) or '?'}.{getattr(factory, '__qualname__', '?')}"


def _stores(
    config: SessionConfig, factory: Callable[..., Any] | None
) -> tuple[SessionStore, AsyncSessionStore]:
    """The engine's two stores: over the factory's clients when ``CLIENT`` is set."""
    if factory is None:
        return SessionStore(config), AsyncSessionStore(config)
    sync_client = factory(asynchronous=False)
    async_client = factory(asynchronous=True)
    return (
        _store(SessionStore, config, factory, sync_client, False),
        _store(AsyncSessionStore, config, factory, async_client, True),
    )


_EXPECTED = {
    False: "redis.Redis (a Sentinel master_for client too) or redis.cluster.RedisCluster",
    True: "redis.asyncio.Redis (a Sentinel master_for client too) or redis.asyncio.cluster.RedisCluster",
}


def _store(store_class: Any, config: SessionConfig, factory: Any, client: Any, asynchronous: bool) -> Any:
    try:
        return store_class(config, client=client)
    except ConfigError as exc:
        if exc.field != "client":
            raise
        kind = type(client)
        raise ImproperlyConfigured(
            f"{CLIENT}: {_name(factory)}(asynchronous={asynchronous}) returned a "
            f"{kind.__module__}.{kind.__qualname__}, not a {_EXPECTED[asynchronous]}"
        ) from exc


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
    factory = client_factory(given["CLIENT"]) if "CLIENT" in given else None
    if factory is not None:
        if "url" in values:
            raise ImproperlyConfigured(
                f"{SETTING}['URL'] and {CLIENT} are both set: sessions go through the client, the "
                "URL would not be used; remove one"
            )
        values["url"] = CLIENT_URL
    values.setdefault("url", implicit_memory_url(f"{SETTING}['URL']"))  # memory://, with a warning
    try:
        config = SessionConfig(**values)
    except ConfigError as exc:  # its message never shows a secret key or the URL's password
        raise ImproperlyConfigured(f"{_source(exc.field, given)}: {error_message(exc)}") from exc
    fallback = given.get("FALLBACK_ENGINE")
    if fallback is not None and (not isinstance(fallback, str) or not fallback):
        raise ImproperlyConfigured(f"{SETTING}['FALLBACK_ENGINE'] must be a session engine's module path")
    share = given.get("MIGRATE_SHARE", 100)
    if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
        raise ImproperlyConfigured(f"{SETTING}['MIGRATE_SHARE'] must be a whole percentage, 0 to 100")
    return EngineSettings(config, *_stores(config, factory), fallback, share)


@lru_cache(maxsize=1)
def current() -> EngineSettings:
    """The engine settings in force (built on first use, then cached)."""
    return build()


def _reset(*, setting: str, **_: Any) -> None:
    if setting in _WATCHED:
        current.cache_clear()


setting_changed.connect(_reset)

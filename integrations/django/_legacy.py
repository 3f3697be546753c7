"""Sessions of the engine a project switches from (``REDIS_SESSIONS["FALLBACK_ENGINE"]``).

Any Django session engine is read through its own ``SessionStore`` (db, cache, cached_db, file).
``redis_sessions.session``, the engine of the stale django-redis-sessions package, cannot be
imported next to us (it has our import name), so its stored sessions are read directly: Django's
signed JSON (`django.core.signing`) in a plain string key, ``<prefix>:<key>`` or just the key,
with its connection from ``SESSION_REDIS`` (or the ``SESSION_REDIS_*`` settings).
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Generator, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.core import signing
from django.core.signals import setting_changed
from django.utils import timezone
from django.utils.module_loading import import_string

from redis_sessions import Session, _http

DJANGO_REDIS_SESSIONS = "redis_sessions.session"
_DJANGO_KEY_CHARS = frozenset(string.ascii_lowercase + string.digits)  # Django's VALID_KEY_CHARS
# What django-redis-sessions' SessionStore signs with: Django's salt for a class of that name.
_DRS_SALT = "django.contrib.sessions.SessionStore"


def plausible_key(key: str) -> bool:
    """Whether `key` can be another engine's session key (Django makes 32 of [a-z0-9]); the
    file engine would reject anything else as suspicious."""
    return 8 <= len(key) <= 64 and set(key) <= _DJANGO_KEY_CHARS


def read(engine: str, key: str) -> dict[str, Any] | None:
    """The live session data under `key` in the fallback engine; None if missing or empty."""
    if engine == DJANGO_REDIS_SESSIONS:
        data = _read_django_redis_sessions(key)
    else:
        old = import_module(engine).SessionStore(key)
        data = dict(old.load())
        if old.session_key is None:  # Django's engines drop the key of a missing session
            return None
    return data or None


def migrate(
    core: _http.Core, engine: str, key: str, prepare: Callable[[Session], None]
) -> Generator[Any, Any, Session | None]:
    """Effects (see the engine) that find the session `key` was moved to, or move it now: read it
    from `engine`, store it under a fresh id, and map `key` to it. None if there is none."""
    moved: Session | None = yield _http.find_migrated(core, key)
    if moved is not None:
        return moved
    data = yield functools.partial(read, engine, key)
    if data is None:
        return None
    session = core.new_session(data, None, None)
    prepare(session)
    adopted: Session | None = yield _http.adopt(core, key, session)
    return adopted


# -- django-redis-sessions -------------------------------------------------------------------------
def _drs_option(name: str, default: Any = None) -> Any:
    options = getattr(settings, "SESSION_REDIS", None) or {}
    for spelled in (name, name.upper()):
        if spelled in options:
            return options[spelled]
    return getattr(settings, f"SESSION_REDIS_{name.upper()}", default)


@functools.lru_cache(maxsize=1)
def _drs_client() -> tuple[redis.Redis, str]:
    url = _drs_option("url")
    socket = _drs_option("unix_domain_socket_path")
    if url:
        client = redis.Redis.from_url(url)
    elif socket:
        client = redis.Redis(
            unix_socket_path=socket, db=_drs_option("db", 0), password=_drs_option("password")
        )
    else:
        client = redis.Redis(
            host=_drs_option("host", "localhost"),
            port=_drs_option("port", 6379),
            db=_drs_option("db", 0),
            password=_drs_option("password"),
        )
    return client, _drs_option("prefix", "") or ""


def drs_key(prefix: str, key: str) -> str:
    return f"{prefix}:{key}" if prefix else key


def decode_drs(raw: bytes | str) -> dict[str, Any] | None:
    """A django-redis-sessions value: Django's signed session dict; None if not one."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    try:
        data = signing.loads(text, salt=_DRS_SALT, serializer=import_string(settings.SESSION_SERIALIZER))
    except (signing.BadSignature, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_django_redis_sessions(key: str) -> dict[str, Any] | None:
    client, prefix = _drs_client()
    raw = client.get(drs_key(prefix, key))
    return decode_drs(raw) if isinstance(raw, bytes) else None


def close() -> None:
    """Close the django-redis-sessions client, if one was made (settings change, process exit)."""
    if _drs_client.cache_info().currsize:
        _drs_client()[0].close()
    _drs_client.cache_clear()


def _reset(*, setting: str, **_: Any) -> None:
    if setting.startswith("SESSION_REDIS"):
        close()


setting_changed.connect(_reset)


# -- listing, for the bulk migration -----------------------------------------------------------------
def live_sessions(engine: str) -> tuple[int | None, Iterator[tuple[str, dict[str, Any] | None]]]:
    """(how many, or None if unknown; (key, data or None if unreadable) for each live session).
    Raises `ValueError` for an engine that cannot list its sessions (the cache engine: its
    sessions move lazily, on first use)."""
    if engine == DJANGO_REDIS_SESSIONS:
        return None, _drs_sessions()
    module = import_module(engine)
    if engine.endswith(("backends.db", "backends.cached_db")):
        return _db_sessions(module)
    if engine.endswith("backends.file"):
        return None, _file_sessions(module)
    raise ValueError(f"{engine} cannot list its sessions; they move lazily, on first use")


def _db_sessions(module: Any) -> tuple[int, Iterator[tuple[str, dict[str, Any] | None]]]:
    model = module.SessionStore.get_model_class()
    rows = model.objects.filter(expire_date__gt=timezone.now())
    decoder = module.SessionStore()

    def rows_data() -> Iterator[tuple[str, dict[str, Any] | None]]:
        for key, blob in rows.values_list("session_key", "session_data").iterator():
            yield key, decoder.decode(blob) or None

    return rows.count(), rows_data()


def _file_sessions(module: Any) -> Iterator[tuple[str, dict[str, Any] | None]]:
    folder = Path(module.SessionStore._get_storage_path())
    prefix = settings.SESSION_COOKIE_NAME
    for path in sorted(folder.glob(f"{prefix}*")):
        key = path.name[len(prefix) :]
        if plausible_key(key):
            yield key, read(module.__name__, key)


def _drs_sessions() -> Iterator[tuple[str, dict[str, Any] | None]]:
    client, prefix = _drs_client()
    pattern = f"{prefix}:*" if prefix else "*"
    for raw_key in client.scan_iter(match=pattern, count=500):
        key = raw_key.decode()[len(prefix) + 1 if prefix else 0 :]
        if plausible_key(key):
            raw = client.get(raw_key)
            yield key, decode_drs(raw) if isinstance(raw, bytes) else None

"""Django for the engine's tests: configured once per run (sqlite in a temp file, the test site as
URLconf); each test gets its own key prefix on the parametrized backend through ``REDIS_SESSIONS``."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings

from redis_sessions import _http
from redis_sessions.integrations.django import _settings, middleware
from tests.conftest import SECRET

DJANGO_SECRET = "django-test-secret-key-0123456789abcdef"
_DB = Path(tempfile.mkdtemp(prefix="redis-sessions-django-")) / "db.sqlite3"

if not settings.configured:
    settings.configure(
        SECRET_KEY=DJANGO_SECRET,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="tests.django_engine.site",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "redis_sessions.integrations.django",
        ],
        MIDDLEWARE=[
            "redis_sessions.integrations.django.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        SESSION_ENGINE="redis_sessions.integrations.django",
        REDIS_SESSIONS={"URL": "memory://django-tests"},
        MESSAGE_STORAGE="django.contrib.messages.storage.session.SessionStorage",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(_DB)}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        USE_TZ=True,
    )
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)

Settings = Callable[..., AbstractContextManager[Any]]

# SessionBase's async methods (aget, aset, asave...) arrived in Django 5.0.
needs_async_sessions = pytest.mark.skipif(
    django.VERSION < (5, 0), reason="Django < 5.0 has no async sessions"
)


@pytest.fixture(autouse=True)
def outage_log(monkeypatch: pytest.MonkeyPatch) -> _http.OutageLog:
    """The middleware's outage log, fresh for each test (it is process-wide: one test's outage
    must not hide the next one's "unavailable" line)."""
    log = _http.OutageLog()
    monkeypatch.setattr(middleware, "_outage", log)
    return log


@pytest.fixture
def engine_settings(backend_url: str, key_prefix: str) -> Settings:
    """``with engine_settings(TTL=60, SESSION_SAVE_EVERY_REQUEST=True): ...`` — upper-case
    `SessionConfig` fields go to ``REDIS_SESSIONS``; names starting ``SESSION_``/``SECRET_`` are
    Django settings."""

    def make(**options: Any) -> AbstractContextManager[Any]:
        django_settings = {k: options.pop(k) for k in list(options) if k.startswith(("SESSION_", "SECRET_"))}
        redis_sessions = {"URL": backend_url, "KEY_PREFIX": key_prefix, **options}
        return override_settings(REDIS_SESSIONS=redis_sessions, **django_settings)

    return make


@pytest.fixture
def built_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[_settings.EngineSettings]]:
    """Every store the engine builds during a test (settings change per test); closed after it."""
    built: list[_settings.EngineSettings] = []
    build = _settings.build

    def recording() -> _settings.EngineSettings:
        built.append(build())
        return built[-1]

    monkeypatch.setattr(_settings, "build", recording)
    _settings.current.cache_clear()
    yield built
    for engine in built:
        engine.store.close()


@pytest.fixture
async def close_async_stores(built_stores: list[_settings.EngineSettings]) -> AsyncIterator[None]:
    """For async tests: close the async stores' clients on the test's own event loop."""
    yield
    for engine in built_stores:
        await engine.async_store.close()


@pytest.fixture
def configured(engine_settings: Settings, built_stores: list[_settings.EngineSettings]) -> Iterator[None]:
    with engine_settings():
        yield


@pytest.fixture
def client(configured: None) -> Client:
    return Client()


__all__ = ["SECRET"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sync", pytest.param("async", marks=needs_async_sessions)])
def kind(request: pytest.FixtureRequest, configured: None, close_async_stores: None) -> str:
    """Which engine API a test drives: the sync one or Django's async one (``aget``, ``asave``...)."""
    return str(request.param)

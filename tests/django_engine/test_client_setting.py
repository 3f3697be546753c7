"""``REDIS_SESSIONS["CLIENT"]``: the dotted path of a factory of the app's own redis-py clients,
called ``factory(asynchronous=False)`` for the engine's sync store and ``factory(asynchronous=True)``
for its asyncio one. Requests go through those clients (their connections carry names of the
test's, seen in CLIENT LIST on the real server); the engine never closes them, at exit either; bad
settings raise `ImproperlyConfigured` naming ``REDIS_SESSIONS['CLIENT']``."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client
from django.test.utils import override_settings

from redis_sessions.integrations.django import _settings, get_store
from tests.django_engine.conftest import needs_async_sessions
from tests.exit_check import connected

# What `session_client` (named by dotted path below) connects to, and the clients it made.
FACTORY: dict[str, Any] = {}
MADE: list[redis.Redis | redis.asyncio.Redis] = []
NOT_CALLABLE = "not a factory"


def session_client(*, asynchronous: bool) -> redis.Redis | redis.asyncio.Redis:
    """A factory as a project would write one (``myproject.redis.session_client``)."""
    name = f"{FACTORY['name']}-{'async' if asynchronous else 'sync'}"
    client_class = redis.asyncio.Redis if asynchronous else redis.Redis
    client = client_class.from_url(FACTORY["url"], client_name=name)
    MADE.append(client)
    return client


def sync_only(*, asynchronous: bool) -> redis.Redis:
    return redis.Redis.from_url(FACTORY["url"])


def no_keyword() -> redis.Redis:
    return redis.Redis.from_url(FACTORY["url"])


PATH = f"{__name__}.session_client"


@pytest.fixture
def name(redis_url: str) -> Iterator[str]:
    """A client name of this test's, used by `session_client`; the sync clients it made are closed
    after the test (an asyncio one that connected is closed by its test, in its loop)."""
    FACTORY.update(url=redis_url, name=f"dj-own-{uuid.uuid4().hex[:12]}")
    yield FACTORY["name"]
    while MADE:
        made = MADE.pop()
        if isinstance(made, redis.Redis):
            made.close()


@pytest.fixture
def with_client(name: str, key_prefix: str, built_stores: list[_settings.EngineSettings]) -> Iterator[None]:
    with override_settings(REDIS_SESSIONS={"CLIENT": PATH, "KEY_PREFIX": key_prefix}):
        yield


def stored(redis_client: redis.Redis, key_prefix: str) -> bool:
    return any(redis_client.scan_iter(match=f"{key_prefix}*"))


# -- requests go through the factory's clients -----------------------------------------------------
def test_a_request_goes_through_the_factorys_sync_client(
    with_client: None, name: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    browser = Client()
    assert browser.get("/write/cart/[1]").status_code == 200
    assert browser.get("/read/cart").json() == {"value": [1]}
    assert connected(redis_client, f"{name}-sync") == 1  # the store's connection, the client's
    assert stored(redis_client, key_prefix)
    assert [type(c) for c in MADE] == [redis.Redis, redis.asyncio.Redis]  # each called once


@needs_async_sessions
@pytest.mark.anyio
async def test_an_async_view_goes_through_the_factorys_asyncio_client(
    with_client: None, name: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    browser = AsyncClient()
    assert (await browser.get("/async/write/cart/[2]")).status_code == 200  # aset: loads (asyncio)
    assert (await browser.get("/async/read/cart")).json() == {"value": [2]}
    assert connected(redis_client, f"{name}-async") == 1
    assert connected(redis_client, f"{name}-sync") == 1  # Django's middleware saves with the sync store
    assert stored(redis_client, key_prefix)
    await _settings.current().async_store.close()
    for made in MADE:
        if isinstance(made, redis.asyncio.Redis):
            await made.aclose()  # the app's: in the loop that used it


def test_the_setting_takes_the_factory_itself(
    name: str, key_prefix: str, redis_client: redis.Redis, built_stores: list[_settings.EngineSettings]
) -> None:
    with override_settings(REDIS_SESSIONS={"CLIENT": session_client, "KEY_PREFIX": key_prefix}):
        assert Client().get("/write/a/1").status_code == 200
        assert get_store().config.url == "redis://"  # a placeholder: no memory:// warning
    assert connected(redis_client, f"{name}-sync") == 1


# -- the engine never closes the app's clients ----------------------------------------------------
# A project whose factory hands out its own long-lived client; it serves one request, then the
# interpreter exits. `report` is registered before Django imports the engine, so it runs after the
# engine's exit hook (atexit runs hooks last-in first-out).
SCRIPT = """
import atexit, sys
import redis, redis.asyncio

URL, NAME = sys.argv[1], sys.argv[2]
APP_CLIENT = redis.Redis.from_url(URL, client_name=NAME)


def session_client(*, asynchronous):
    return redis.asyncio.Redis.from_url(URL) if asynchronous else APP_CLIENT


def report():
    print(f"same connection at exit: {APP_CLIENT.client_id() == FIRST}", flush=True)
    APP_CLIENT.close()


atexit.register(report)
FIRST = APP_CLIENT.client_id()

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="k" * 40,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["redis_sessions.integrations.django"],
    MIDDLEWARE=["redis_sessions.integrations.django.SessionMiddleware"],
    SESSION_ENGINE="redis_sessions.integrations.django",
    REDIS_SESSIONS={"CLIENT": "__main__.session_client"},
)
django.setup()

from django.http import HttpResponse
from django.test import Client
from django.urls import path


def write(request):
    request.session["a"] = 1
    return HttpResponse("ok")


urlpatterns = [path("write", write)]
assert Client().get("/write").status_code == 200
print("served", flush=True)
"""


@pytest.mark.slow
def test_the_engine_leaves_the_apps_client_connected_at_exit(redis_url: str, tmp_path: Path) -> None:
    script = tmp_path / "serve_once.py"
    script.write_text(SCRIPT)
    name = f"dj-exit-{uuid.uuid4().hex[:12]}"
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", str(script), redis_url, name],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["served", "same connection at exit: True"], done.stdout
    assert "ResourceWarning" not in done.stderr, done.stderr


# -- clear errors at start-up ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("no_such_module.session_client", "cannot import 'no_such_module.session_client': No module"),
        (f"{__name__}.no_such_factory", 'does not define a "no_such_factory"'),
        ("session_client", "cannot import 'session_client'"),
        ("", "cannot import ''"),
        (f"{__name__}.NOT_CALLABLE", "must be the dotted path of a callable that returns a redis-py"),
        (42, "got int"),
        (f"{__name__}.no_keyword", "no_keyword must take the keyword argument asynchronous"),
        (
            f"{__name__}.sync_only",
            "sync_only(asynchronous=True) returned a redis.client.Redis, not a redis.asyncio.Redis",
        ),
    ],
)
def test_a_bad_client_setting_names_it(
    value: Any, message: str, name: str, built_stores: list[_settings.EngineSettings]
) -> None:
    with override_settings(REDIS_SESSIONS={"CLIENT": value}), pytest.raises(ImproperlyConfigured) as raised:
        _settings.current()
    assert str(raised.value).startswith("REDIS_SESSIONS['CLIENT']")
    assert message in str(raised.value)


def test_url_and_client_together_are_refused(name: str, built_stores: list[_settings.EngineSettings]) -> None:
    settings = {"CLIENT": PATH, "URL": FACTORY["url"]}
    with override_settings(REDIS_SESSIONS=settings), pytest.raises(ImproperlyConfigured) as raised:
        _settings.current()
    assert "REDIS_SESSIONS['URL'] and REDIS_SESSIONS['CLIENT'] are both set" in str(raised.value)
    assert MADE == []  # refused before the factory was called

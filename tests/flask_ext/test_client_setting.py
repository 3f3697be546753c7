"""The app's own redis-py client: ``RedisSessions(app, client=...)``, ``init_app(app, client=...)``
or ``REDIS_SESSIONS_CLIENT`` (a dotted path to a zero-argument factory, or the factory itself).
Requests go through that client (its connections carry a name of the test's, seen in CLIENT LIST
on the real server); the extension never closes it; bad settings fail at start-up naming the key."""

from __future__ import annotations

import gc
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
from flask import Flask, session

from redis_sessions import ConfigError
from redis_sessions.integrations.flask import RedisSessions, get_store
from tests.conftest import SECRET
from tests.exit_check import connected

# What `session_client` (named by dotted path below) connects to, and the clients it made.
FACTORY: dict[str, Any] = {}
MADE: list[redis.Redis] = []
NOT_CALLABLE = "not a factory"


def session_client() -> redis.Redis:
    """A factory as an app would write one, for ``REDIS_SESSIONS_CLIENT``."""
    client = redis.Redis.from_url(FACTORY["url"], client_name=FACTORY["name"])
    MADE.append(client)
    return client


def async_session_client() -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(FACTORY["url"])


@pytest.fixture
def name(redis_url: str) -> Iterator[str]:
    """A client name of this test's; `session_client` uses it. Its clients are closed after."""
    FACTORY.update(url=redis_url, name=f"flask-own-{uuid.uuid4().hex[:12]}")
    yield FACTORY["name"]
    while MADE:
        MADE.pop().close()


@pytest.fixture
def own_client(redis_url: str, name: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, client_name=name)
    yield client
    client.close()


def make_app(key_prefix: str, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, REDIS_SESSIONS_KEY_PREFIX=key_prefix, **config)
    return app


def add_views(app: Flask) -> None:
    @app.get("/write/<int:n>")
    def write(n: int) -> str:
        session["n"] = n
        return "ok"

    @app.get("/read")
    def read() -> str:
        return str(session.get("n"))


def round_trip(app: Flask) -> None:
    add_views(app)
    browser = app.test_client()
    assert browser.get("/write/7").status_code == 200
    assert browser.get("/read").get_data(as_text=True) == "7"


def stored(redis_client: redis.Redis, key_prefix: str) -> bool:
    return any(redis_client.scan_iter(match=f"{key_prefix}*"))


# -- requests go through the given client ----------------------------------------------------
def test_the_client_keyword_serves_requests_through_the_apps_client(
    own_client: redis.Redis, redis_client: redis.Redis, name: str, key_prefix: str
) -> None:
    app = make_app(key_prefix)  # no REDIS_SESSIONS_URL: no memory:// either
    RedisSessions(app, client=own_client)
    round_trip(app)
    assert connected(redis_client, name) == 1  # the store's connection, made by the app's client
    assert stored(redis_client, key_prefix)
    get_store(app).close()


def test_init_app_takes_a_client_and_the_constructors_serves_every_app(
    own_client: redis.Redis, redis_client: redis.Redis, name: str, key_prefix: str
) -> None:
    first, second = make_app(key_prefix), make_app(key_prefix)
    extension = RedisSessions(client=own_client)
    extension.init_app(first)
    RedisSessions().init_app(second, client=own_client)
    for app in (first, second):
        round_trip(app)
    assert connected(redis_client, name) == 2  # one kept by each app's store, both the client's
    for app in (first, second):
        get_store(app).close()


@pytest.mark.parametrize(
    "factory",
    [f"{__name__}.session_client", session_client],
    ids=["dotted path", "callable"],
)
def test_the_config_key_names_a_factory_of_the_client(
    factory: Any, redis_client: redis.Redis, name: str, key_prefix: str
) -> None:
    app = make_app(key_prefix, REDIS_SESSIONS_CLIENT=factory)
    RedisSessions(app)
    assert len(MADE) == 1  # called once, at start-up
    round_trip(app)
    assert connected(redis_client, name) == 1
    assert stored(redis_client, key_prefix)
    get_store(app).close()


# -- the extension never closes the app's client -------------------------------------------------
def test_the_apps_client_outlives_the_app_and_keeps_its_connection(
    own_client: redis.Redis, key_prefix: str
) -> None:
    before = own_client.client_id()  # the app's own connection, idle in its pool
    app = make_app(key_prefix)
    RedisSessions(app, client=own_client)
    round_trip(app)
    collected = weakref.ref(app)
    del app
    gc.collect()
    assert collected() is None  # the extension's shutdown (store.close) has run
    assert own_client.client_id() == before  # the same connection: not cut off


# -- clear errors at start-up ---------------------------------------------------------------------
Case = tuple[Any, str]
BAD_FACTORIES: list[Case] = [
    ("no_such_module.session_client", "cannot import 'no_such_module.session_client': No module named"),
    (f"{__name__}.no_such_factory", "has no attribute 'no_such_factory'"),
    ("session_client", "cannot import 'session_client'"),
    ("", "cannot import ''"),
    (f"{__name__}.NOT_CALLABLE", "must be the dotted path of a zero-argument callable"),
    (42, "got int"),
    (async_session_client, "must be a sync redis-py client"),
    (lambda: "redis://localhost", "got a builtins.str"),
]


@pytest.mark.parametrize(("factory", "message"), BAD_FACTORIES)
def test_a_bad_factory_fails_at_start_up_naming_the_key(factory: Any, message: str, redis_url: str) -> None:
    FACTORY.update(url=redis_url)
    app = make_app("unused:", REDIS_SESSIONS_CLIENT=factory)
    with pytest.raises(ConfigError, match=r"^REDIS_SESSIONS_CLIENT: ") as raised:
        RedisSessions(app)
    assert raised.value.field == "REDIS_SESSIONS_CLIENT"
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)  # not werkzeug's whole import report


def test_an_asyncio_client_given_as_keyword_is_refused(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    with pytest.raises(ConfigError, match=r"^client: must be a sync redis-py client") as raised:
        RedisSessions(make_app("unused:"), client=client)
    assert raised.value.field == "client"
    assert "redis.asyncio.client.Redis" in str(raised.value)


ConflictFactory = Callable[[redis.Redis], tuple[dict[str, Any], dict[str, Any]]]


@pytest.mark.parametrize(
    ("config", "keyword", "field"),
    [
        ({"REDIS_SESSIONS_URL": "redis://localhost"}, True, "REDIS_SESSIONS_URL"),
        (
            {"REDIS_SESSIONS_URL": "redis://localhost", "REDIS_SESSIONS_CLIENT": session_client},
            False,
            "REDIS_SESSIONS_URL",
        ),
        ({"REDIS_SESSIONS_CLIENT": session_client}, True, "REDIS_SESSIONS_CLIENT"),
    ],
    ids=["url and keyword", "url and config key", "config key and keyword"],
)
def test_two_sources_of_the_client_are_refused(
    config: dict[str, Any], keyword: bool, field: str, own_client: redis.Redis
) -> None:
    app = make_app("unused:", **config)
    with pytest.raises(ConfigError) as raised:
        RedisSessions(app, client=own_client if keyword else None)
    assert raised.value.field == field
    assert "give one" in str(raised.value) or "remove one" in str(raised.value)
    assert MADE == []  # refused before the factory was called

"""Switching from Flask-Session (Redis backend) and starsessions without logging anyone out: sessions
written by those libraries themselves, then read through ours, moved once, answered with our cookie;
the old store is only read."""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
import starsessions
from flask import Flask, jsonify, session
from flask_session import Session as FlaskSessionExtension
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starsessions.stores.redis import RedisStore

from redis_sessions import SessionConfig, SessionStore
from redis_sessions.integrations.asgi import SessionMiddleware
from redis_sessions.integrations.flask import RedisSessions, get_store
from tests.conftest import SECRET


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url) as opened:
        yield opened


# -- Flask-Session -----------------------------------------------------------------------------------
def flask_session_app(client: redis.Redis, prefix: str, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET, SESSION_TYPE="redis", SESSION_REDIS=client, SESSION_KEY_PREFIX=prefix, **config
    )
    FlaskSessionExtension(app)

    @app.get("/write")
    def write() -> Any:
        session["cart"] = ["apple", "pear"]
        session["visits"] = 3
        return jsonify(ok=True)

    return app


def our_flask_app(redis_url: str, key_prefix: str, old_prefix: str, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        REDIS_SESSIONS_URL=redis_url,
        REDIS_SESSIONS_KEY_PREFIX=key_prefix,
        REDIS_SESSIONS_MIGRATE_FROM="flask-session",
        REDIS_SESSIONS_MIGRATE_FROM_PREFIX=old_prefix,
        **config,
    )
    RedisSessions(app)

    @app.get("/read")
    def read() -> Any:
        return jsonify(cart=session.get("cart"), visits=session.get("visits"))

    return app


def old_flask_cookie(client: redis.Redis, prefix: str, **config: Any) -> str:
    old = flask_session_app(client, prefix, **config).test_client()
    assert old.get("/write").status_code == 200
    cookie = old.get_cookie("session")
    assert cookie is not None
    return cookie.value


@pytest.mark.parametrize("signed", [False, True], ids=["plain-id", "SESSION_USE_SIGNER"])
def test_a_flask_session_user_stays_logged_in(
    signed: bool, client: redis.Redis, redis_url: str, key_prefix: str
) -> None:
    old_prefix = key_prefix + "fs:"
    options = {"SESSION_USE_SIGNER": True} if signed else {}
    with pytest.warns(DeprecationWarning) if signed else _nothing():
        value = old_flask_cookie(client, old_prefix, **options)
    old_keys = set(client.scan_iter(match=old_prefix + "*"))
    assert len(old_keys) == 1

    app = our_flask_app(redis_url, key_prefix, old_prefix)
    browser = app.test_client()
    browser.set_cookie("session", value)
    store = get_store(app)
    before = store.round_trips
    reply = browser.get("/read")
    assert reply.json == {"cart": ["apple", "pear"], "visits": 3}
    # Once per user: the map (moved already?), the old key, then our session and the map together.
    assert store.round_trips - before == 3
    ours = browser.get_cookie("session")
    assert ours is not None and ours.value != value  # our signed cookie replaces the old one
    assert store.signer.unsign(ours.value) is not None
    before = store.round_trips
    assert browser.get("/read").json == {"cart": ["apple", "pear"], "visits": 3}
    assert store.round_trips - before == 1  # from then on, an ordinary read

    late_tab = app.test_client()  # another tab still sends the old cookie: the same moved session
    late_tab.set_cookie("session", value)
    assert late_tab.get("/read").json == {"cart": ["apple", "pear"], "visits": 3}
    assert store.count() == 1
    assert set(client.scan_iter(match=old_prefix + "*")) == old_keys  # the old store is only read


def test_a_forged_old_cookie_moves_nothing(client: redis.Redis, redis_url: str, key_prefix: str) -> None:
    old_prefix = key_prefix + "fs:"
    value = old_flask_cookie(client, old_prefix, SESSION_USE_SIGNER=False)
    app = our_flask_app(redis_url, key_prefix, old_prefix)
    for forged in (value[:-1] + ("A" if value[-1] != "A" else "B"), value + ".bad-signature", "x", ""):
        browser = app.test_client()
        browser.set_cookie("session", forged)
        reply = browser.get("/read")
        assert reply.json == {"cart": None, "visits": None}
        assert reply.headers.getlist("Set-Cookie") == []  # nothing moved, nothing written
    assert get_store(app).count() == 0


def test_pickled_values_only_when_asked(
    client: redis.Redis, redis_url: str, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    old_prefix = key_prefix + "fs:"
    sid = "p" * 43
    client.set(old_prefix + sid, pickle.dumps({"cart": ["old"], "visits": 1}))  # Flask-Session < 0.7
    refused = our_flask_app(redis_url, key_prefix, old_prefix).test_client()
    refused.set_cookie("session", sid)
    assert refused.get("/read").json == {"cart": None, "visits": None}
    with caplog.at_level("WARNING", logger="redis_sessions"):
        app = our_flask_app(redis_url, key_prefix + "p:", old_prefix, REDIS_SESSIONS_MIGRATE_PICKLE=True)
    assert any("unpickled" in r.getMessage() for r in caplog.records)
    opted = app.test_client()
    opted.set_cookie("session", sid)
    assert opted.get("/read").json == {"cart": ["old"], "visits": 1}


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# -- starsessions --------------------------------------------------------------------------------------
def starsessions_app(url: str, prefix: str) -> Starlette:
    async def write(request: Request) -> JSONResponse:
        request.session["cart"] = ["apple"]
        request.session["user"] = "alice"
        return JSONResponse({"ok": True})

    connection = redis.asyncio.Redis.from_url(url)
    store = RedisStore(connection=connection, prefix=prefix)
    middleware = [
        Middleware(starsessions.SessionMiddleware, store=store, lifetime=3600, cookie_https_only=False),
        Middleware(starsessions.SessionAutoloadMiddleware),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await connection.aclose()

    return Starlette(routes=[Route("/write", write)], middleware=middleware, lifespan=lifespan)


def our_starlette_app(config: SessionConfig) -> Starlette:
    async def read(request: Request) -> JSONResponse:
        return JSONResponse({k: request.session.get(k) for k in ("cart", "user", "__metadata__")})

    return Starlette(routes=[Route("/read", read)], middleware=[Middleware(SessionMiddleware, config=config)])


def test_a_starsessions_user_stays_logged_in(client: redis.Redis, redis_url: str, key_prefix: str) -> None:
    old_prefix = key_prefix + "star."
    with TestClient(starsessions_app(redis_url, old_prefix)) as old:
        assert old.get("/write").status_code == 200
        value = old.cookies["session"]
    config = SessionConfig(
        url=redis_url,
        secret_keys=[SECRET],
        key_prefix=key_prefix,
        migrate_from="starsessions",
        migrate_from_prefix=old_prefix,
    )
    with TestClient(our_starlette_app(config)) as ours:
        reply = ours.get("/read", headers={"cookie": f"session={value}"})
        assert reply.json() == {"cart": ["apple"], "user": "alice", "__metadata__": None}
        issued = reply.cookies.get("session")
        assert issued is not None and issued != value
    with SessionStore(config) as store:
        assert store.count() == 1
        assert store.signer.unsign(issued) is not None
    assert client.exists(old_prefix + value) == 1  # only read

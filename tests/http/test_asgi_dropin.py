"""ASGI specifics: a drop-in for Starlette's own SessionMiddleware (Starlette and FastAPI),
`get_session`, non-http scopes passing through, and websockets getting a session."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from redis_sessions import AsyncSessionStore, Session, SessionConfig, SessionIdSigner, SessionStore
from redis_sessions.integrations.asgi import SessionMiddleware, get_session
from redis_sessions.testing import free_port
from tests.conftest import SECRET
from tests.http.asgi_site import build_app
from tests.http.driver import SetCookie, wait_until
from tests.http.redis_tools import redis_on_port


# -- serving an app whose middleware built its own store ------------------------------------------
def middleware_of(app: Starlette) -> SessionMiddleware:
    """Our middleware instance inside a started app's middleware stack."""
    layer: Any = app.middleware_stack
    while layer is not None:
        if isinstance(layer, SessionMiddleware):
            return layer
        layer = getattr(layer, "app", None)
    raise LookupError("no SessionMiddleware in the stack")


class AfterShutdown:
    """Wraps an app: once it has answered ``lifespan.shutdown``, runs `check` and then closes the
    store `SessionMiddleware(config=...)` built, in the loop that used it (the middleware should do
    that itself: see `test_middleware_closes_the_store_it_built_on_shutdown`)."""

    def __init__(self, app: Starlette, check: Callable[[], None] | None = None) -> None:
        self.app = app
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_after(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                if self.check is not None:
                    self.check()
                await middleware_of(self.app).store.close()
            await send(message)

        await self.app(scope, receive, send_after)


# -- one app, written against request.session only ----------------------------------------------------
async def count(request: Request) -> JSONResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    return JSONResponse({"n": request.session["n"], "keys": sorted(request.session)})


async def forget(request: Request) -> JSONResponse:
    request.session.pop("n", None)
    return JSONResponse({"keys": sorted(request.session)})


async def peek(request: Request) -> JSONResponse:
    return JSONResponse({"n": request.session.get("n")})


def counter_app(framework: str) -> Starlette:
    if framework == "starlette":
        return Starlette(
            routes=[
                Route("/count", count),
                Route("/forget", forget),
                Route("/peek", peek),
            ]
        )
    api = FastAPI()

    @api.get("/count")
    async def fastapi_count(request: Request) -> dict[str, Any]:
        request.session["n"] = request.session.get("n", 0) + 1
        return {"n": request.session["n"], "keys": sorted(request.session)}

    @api.get("/forget")
    async def fastapi_forget(request: Request) -> dict[str, Any]:
        request.session.pop("n", None)
        return {"keys": sorted(request.session)}

    @api.get("/peek")
    async def fastapi_peek(request: Request) -> dict[str, Any]:
        return {"n": request.session.get("n")}

    return api


def _journey(client: TestClient) -> list[Any]:
    """What a user sees: count three times, forget, peek, count again."""
    seen: list[Any] = [client.get("/peek").json()]
    seen += [client.get("/count").json() for _ in range(3)]
    seen += [client.get("/forget").json(), client.get("/peek").json(), client.get("/count").json()]
    return seen


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
def test_drop_in_for_starlettes_session_middleware(
    framework: str, make_config: Callable[..., SessionConfig]
) -> None:
    theirs = counter_app(framework)
    theirs.add_middleware(StarletteSessionMiddleware, secret_key=SECRET)
    with TestClient(theirs) as client:
        expected = _journey(client)

    ours = counter_app(framework)
    ours.add_middleware(SessionMiddleware, config=make_config())
    with TestClient(AfterShutdown(ours)) as client:
        assert _journey(client) == expected
        assert client.get("/peek").json() == {"n": 1}
    assert expected[1:4] == [{"n": i, "keys": ["n"]} for i in (1, 2, 3)]


def test_get_session_gives_the_full_session(make_config: Callable[..., SessionConfig]) -> None:
    seen: list[Session] = []

    async def login(request: Request) -> JSONResponse:
        session: Session = get_session(request)
        assert request.scope["session"] is session  # one object: request.session *is* the Session
        session.user_id = "u1"
        session["name"] = "Ada"
        seen.append(session)
        return JSONResponse({"id": session.id})

    async def me(request: Request) -> JSONResponse:
        session = get_session(request.scope)  # a scope works too
        seen.append(session)
        return JSONResponse({"id": session.id, "user_id": session.user_id, "name": session["name"]})

    config = make_config()
    app = Starlette(routes=[Route("/login", login, methods=["POST"]), Route("/me", me)])
    app.add_middleware(SessionMiddleware, config=config)
    with TestClient(AfterShutdown(app)) as client:
        login_reply = client.post("/login")
        session_id = login_reply.json()["id"]
        cookie = SetCookie.parse(login_reply.headers["set-cookie"])
        assert SessionIdSigner(config.secret_keys).unsign(cookie.value) == session_id
        me_reply = client.get("/me").json()
    assert me_reply == {"id": session_id, "user_id": "u1", "name": "Ada"}
    assert all(isinstance(s, Session) for s in seen)
    assert seen[1].is_new is False
    assert seen[1].created_at <= seen[1].last_accessed < seen[1].expires_at
    assert "." not in session_id  # the raw id, never the signed cookie value


def test_get_session_without_the_middleware_raises_lookup_error() -> None:
    with pytest.raises(LookupError):
        get_session({"type": "http"})


def test_lifespan_passes_through_to_the_app(make_config: Callable[..., SessionConfig]) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    async def home(request: Request) -> JSONResponse:
        return JSONResponse({"events": events})

    app = Starlette(routes=[Route("/", home)], lifespan=lifespan)
    app.add_middleware(SessionMiddleware, config=make_config())
    with TestClient(AfterShutdown(app)) as client:
        assert client.get("/").json() == {"events": ["startup"]}
    assert events == ["startup", "shutdown"]


@pytest.mark.anyio
async def test_non_http_scopes_reach_the_app_untouched(make_config: Callable[..., SessionConfig]) -> None:
    scopes: list[MutableMapping[str, Any]] = []

    async def raw_app(
        scope: MutableMapping[str, Any],
        receive: Callable[[], Any],
        send: Callable[[MutableMapping[str, Any]], Any],
    ) -> None:
        scopes.append(scope)
        message = await receive()
        await send({"type": message["type"] + ".complete"})

    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    store = AsyncSessionStore(make_config())
    try:
        middleware = SessionMiddleware(raw_app, store=store)
        await middleware({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
        assert store.round_trips == 1  # the start-up check (store.health()), nothing else
    finally:
        await store.close()
    assert sent == [{"type": "lifespan.startup.complete"}]
    assert len(scopes) == 1 and "session" not in scopes[0]


@pytest.fixture
def ws_client(make_config: Callable[..., SessionConfig]) -> Iterator[tuple[TestClient, SessionConfig]]:
    config = make_config()
    with TestClient(build_app("starlette", AsyncSessionStore(config))) as client:
        yield client, config


def test_websocket_gets_the_session_of_its_cookie_and_saves_changes(
    ws_client: tuple[TestClient, SessionConfig],
) -> None:
    client, config = ws_client
    response = client.post("/write", json={"seed": 1})
    cookie = SetCookie.parse(response.headers["set-cookie"])
    with SessionStore(config) as inspector:
        session_id = inspector.signer.unsign(cookie.value)
        assert session_id is not None
        with client.websocket_connect("/ws", headers={"cookie": f"{cookie.name}={cookie.value}"}) as ws:
            assert ws.receive_json() == {"data": {"seed": 1}}
            ws.send_text("hello")
            # The middleware saves after the app returns; wait for it before the test client
            # cancels the connection's task on exit.
            assert wait_until(lambda: _data(inspector, session_id).get("ws") == "hello")
        assert _data(inspector, session_id) == {"seed": 1, "ws": "hello"}


def test_websocket_without_a_cookie_gets_an_empty_session(
    ws_client: tuple[TestClient, SessionConfig],
) -> None:
    client, _ = ws_client
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json() == {"data": {}}
        ws.send_text("anonymous")
        assert ws.receive()["type"] == "websocket.close"


def _data(inspector: SessionStore, session_id: str) -> dict[str, Any]:
    for session in inspector.list_sessions(limit=100).sessions:
        if session.id == session_id:
            return dict(session)
    return {}


def test_middleware_closes_the_store_it_built_on_shutdown() -> None:
    with redis_on_port(free_port()) as server:
        probe = redis.Redis.from_url(server.url)
        open_after_shutdown: list[int] = []

        def others() -> int:
            return len(probe.client_list()) - 1  # every client but the probe itself

        def check() -> None:
            wait_until(lambda: others() == 0, timeout=0.3)
            open_after_shutdown.append(others())

        app = counter_app("starlette")
        config = SessionConfig(url=server.url, secret_keys=[SECRET], key_prefix="own-store:")
        app.add_middleware(SessionMiddleware, config=config)
        with TestClient(AfterShutdown(app, check)) as client:
            assert client.get("/count").json()["n"] == 1
            assert others() == 1  # the middleware's pool holds a connection while serving
        probe.close()
    assert open_after_shutdown == [0]


# -- Starlette's own arguments, and request.session used as Starlette users use it ---------------------
def test_starlettes_own_arguments_work_with_the_redis_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, key_prefix: str
) -> None:
    from starlette.datastructures import Secret

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SESSION_KEY_PREFIX", key_prefix)
    app = counter_app("starlette")
    app.add_middleware(
        SessionMiddleware,
        secret_key=Secret(SECRET),
        session_cookie="sid",
        max_age=600,
        path="/",
        same_site="strict",
        https_only=True,
        partitioned=True,
    )
    with TestClient(AfterShutdown(app), base_url="https://testserver") as client:
        first = client.get("/count")
        cookie = SetCookie.parse(first.headers["set-cookie"])
        assert (cookie.name, cookie.attrs["samesite"]) == ("sid", "Strict")
        assert 599 <= cookie.max_age <= 600
        assert {"secure", "httponly", "partitioned"} <= set(cookie.attrs)
        assert [client.get("/count").json()["n"] for _ in range(2)] == [2, 3]
        store = middleware_of(app).store
        assert store.config.url == redis_url
        session_id = store.signer.unsign(cookie.value)
        assert session_id is not None
    with SessionStore(store.config) as inspector:  # in Redis, not in the process
        stored = inspector.get(session_id)
        assert stored is not None and dict(stored) == {"n": 3}


def test_a_url_argument_and_max_age_none_give_a_browser_session_cookie(
    redis_url: str, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_KEY_PREFIX", key_prefix)
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = counter_app("fastapi")
    app.add_middleware(SessionMiddleware, url=redis_url, secret_key=SECRET, max_age=None)
    with TestClient(AfterShutdown(app)) as client:
        cookie = SetCookie.parse(client.get("/count").headers["set-cookie"])
        assert "max-age" not in cookie.attrs  # ends with the browser; Redis still expires it
        assert client.get("/count").json()["n"] == 2
        assert middleware_of(app).store.config.url == redis_url


def test_starlette_arguments_and_a_config_together_are_refused(
    make_config: Callable[..., SessionConfig],
) -> None:
    from redis_sessions import ConfigError

    with pytest.raises(ConfigError, match="secret_key"):
        SessionMiddleware(counter_app("starlette"), config=make_config(), secret_key=SECRET)
    with pytest.raises(ConfigError, match="secret_key"):
        SessionMiddleware(counter_app("starlette"), session_cookie="sid")


async def dict_uses(request: Request) -> JSONResponse:
    """What Starlette users do with request.session, which is a dict there."""
    session = request.session
    session |= {"a": 1, "b": [1, 2]}
    session.setdefault("c", "three")
    session.setdefault("a", "not this")
    last = session.popitem()
    encoded = json.dumps(session, sort_keys=True)
    merged = session | {"z": 0}
    return JSONResponse({"session": session, "json": encoded, "last": list(last), "merged": merged})


async def dict_read(request: Request) -> JSONResponse:
    return JSONResponse(request.session)  # a plain JSONResponse of the session


@pytest.mark.parametrize("theirs_or_ours", ["starlette", "ours"])
def test_request_session_is_a_dict_as_with_starlette(
    theirs_or_ours: str, make_config: Callable[..., SessionConfig]
) -> None:
    app = Starlette(routes=[Route("/use", dict_uses), Route("/read", dict_read)])
    if theirs_or_ours == "starlette":
        app.add_middleware(StarletteSessionMiddleware, secret_key=SECRET)
    else:
        app.add_middleware(SessionMiddleware, config=make_config())
    with TestClient(AfterShutdown(app) if theirs_or_ours == "ours" else app) as client:
        used = client.get("/use")
        read = client.get("/read")
    assert used.json() == {
        "session": {"a": 1, "b": [1, 2]},
        "json": '{"a": 1, "b": [1, 2]}',
        "last": ["c", "three"],
        "merged": {"a": 1, "b": [1, 2], "z": 0},
    }
    assert read.json() == {"a": 1, "b": [1, 2]}  # decoded values, as stored
    assert "cookie" in read.headers["vary"].lower()

"""The scenario app for Starlette and FastAPI, and the Starlette `TestClient` driver.

The routes are the ones `tests.http.driver` lists; ``POST /slow/{name}`` is ASGI-only: it waits on
`Gates` so a test can hold several requests after their session was loaded and let them finish in
the order it chooses.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import httpx
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from redis_sessions import AsyncSessionStore, SessionConfig, SessionStore
from redis_sessions.integrations.asgi import (
    SessionMiddleware,
    clear_session,
    get_session,
    regenerate_session,
)
from tests.http.driver import Reply, Site, iter_set_cookie

FRAMEWORKS = ("starlette", "fastapi")


class Gates:
    """Per-name events: a slow handler sets `arrived(name)` and waits for `release(name)`."""

    def __init__(self) -> None:
        self._arrived: dict[str, anyio.Event] = {}
        self._release: dict[str, anyio.Event] = {}

    def arrived(self, name: str) -> anyio.Event:
        return self._arrived.setdefault(name, anyio.Event())

    def release(self, name: str) -> anyio.Event:
        return self._release.setdefault(name, anyio.Event())


def _data(request: Request) -> JSONResponse:
    return JSONResponse({"data": dict(request.session)})


async def read(request: Request) -> JSONResponse:
    return _data(request)


async def noop(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def whoami(request: Request) -> JSONResponse:
    session = get_session(request)
    return JSONResponse({"id": session.id, "user_id": session.user_id, "is_new": session.is_new})


async def write(request: Request) -> JSONResponse:
    request.session.update(await request.json())
    return _data(request)


async def remove(request: Request) -> JSONResponse:
    for key in await request.json():
        del request.session[key]
    return _data(request)


async def empty(request: Request) -> JSONResponse:
    for key in list(request.session):
        del request.session[key]
    return _data(request)


async def logout(request: Request) -> JSONResponse:
    clear_session(request)
    return _data(request)


async def regenerate(request: Request) -> JSONResponse:
    regenerate_session(request)
    return _data(request)


async def bind(request: Request) -> JSONResponse:
    body = await request.json()
    get_session(request).user_id = body["user"]
    return _data(request)


async def login(request: Request) -> JSONResponse:
    body = await request.json()
    session = regenerate_session(request)
    session.user_id = body["user"]
    return _data(request)


async def websocket_echo(websocket: WebSocket) -> None:
    """Send the session, then store the first text received under "ws" and close."""
    await websocket.accept()
    await websocket.send_json({"data": dict(websocket.session)})
    websocket.session["ws"] = await websocket.receive_text()
    await websocket.close()


def _slow(gates: Gates) -> Callable[[Request], Any]:
    async def slow(request: Request) -> JSONResponse:
        """Body ``{"write": {...}}`` / ``{"remove": [...]}``; empty: read only. Waits on the gates
        after the middleware loaded the session and before the handler changes it."""
        name = request.path_params["name"]
        body = await request.json()
        gates.arrived(name).set()
        await gates.release(name).wait()
        request.session.update(body.get("write", {}))
        for key in body.get("remove", []):
            del request.session[key]
        return _data(request)

    return slow


ROUTES: list[tuple[str, Callable[[Request], Any], str]] = [
    ("/read", read, "GET"),
    ("/noop", noop, "GET"),
    ("/whoami", whoami, "GET"),
    ("/write", write, "POST"),
    ("/remove", remove, "POST"),
    ("/empty", empty, "POST"),
    ("/logout", logout, "POST"),
    ("/regenerate", regenerate, "POST"),
    ("/login", login, "POST"),
    ("/bind", bind, "POST"),
]


def build_app(framework: str, store: AsyncSessionStore, gates: Gates | None = None) -> Starlette:
    """The scenario app on `framework`, with `SessionMiddleware` over `store`; its lifespan
    closes the store (in the loop that used it)."""
    routes = list(ROUTES)
    if gates is not None:
        routes.append(("/slow/{name}", _slow(gates), "POST"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await store.close()

    app: Starlette
    if framework == "starlette":
        app = Starlette(
            routes=[
                *(Route(path, endpoint, methods=[method]) for path, endpoint, method in routes),
                WebSocketRoute("/ws", websocket_echo),
            ],
            lifespan=lifespan,
        )
    elif framework == "fastapi":
        api = FastAPI(lifespan=lifespan)
        for path, endpoint, method in routes:
            api.add_api_route(path, endpoint, methods=[method])
        api.add_api_websocket_route("/ws", websocket_echo)
        app = api
    else:
        raise ValueError(framework)
    # The drop-in form (type-checked too: mypy strict accepts it).
    app.add_middleware(SessionMiddleware, store=store)
    return app


class StarletteDriver:
    """`ClientDriver` over Starlette's `TestClient` (used inside ``with TestClient(app)``)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def _reply(self, response: httpx.Response, elapsed: float) -> Reply:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        cookies = iter_set_cookie(iter(response.headers.get_list("set-cookie")))
        vary, retry_after = response.headers.get("vary"), response.headers.get("retry-after")
        return Reply(response.status_code, body, cookies, elapsed, vary, retry_after)

    @staticmethod
    def _headers(cookie_header: bytes | None) -> dict[str, bytes]:
        return {} if cookie_header is None else {"cookie": cookie_header}

    def get(self, path: str, *, cookie_header: bytes | None = None) -> Reply:
        started = time.monotonic()
        response = self.client.get(path, headers=self._headers(cookie_header))
        return self._reply(response, time.monotonic() - started)

    def post(self, path: str, json: Any = None, *, cookie_header: bytes | None = None) -> Reply:
        started = time.monotonic()
        response = self.client.post(path, json=json, headers=self._headers(cookie_header))
        return self._reply(response, time.monotonic() - started)

    def jar_cookie(self, name: str) -> str | None:
        values = [c.value for c in self.client.cookies.jar if c.name == name]
        assert len(values) <= 1, f"the jar holds several {name!r} cookies"
        return values[0] if values else None

    def set_jar_cookie(self, name: str, value: str) -> None:
        self.clear_jar()
        self.client.cookies.set(name, value, domain="testserver.local", path="/")

    def clear_jar(self) -> None:
        self.client.cookies.jar.clear()


@contextmanager
def open_asgi_site(
    framework: str, config: SessionConfig, clock: Callable[[], int] | None = None
) -> Iterator[Site]:
    """Serve the scenario app on `framework` through ``with TestClient(app)``."""
    store = AsyncSessionStore(config, clock=clock)
    app = build_app(framework, store)
    with SessionStore(config) as inspector, TestClient(app) as client:
        yield Site(StarletteDriver(client), config, lambda: store.round_trips, inspector)

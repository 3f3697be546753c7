"""The ASGI middleware over a store on the app's own asyncio client: ``SessionMiddleware(app,
store=AsyncSessionStore(config, client=redis.asyncio.Redis(...)))`` serves sessions through that
client (the config's URL names a server that does not exist), and the middleware leaves the client
open at shutdown: it is the app's to close."""

from __future__ import annotations

import uuid

import redis
import redis.asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from redis_sessions import AsyncSessionStore, SessionConfig
from redis_sessions.integrations.asgi import SessionMiddleware
from tests.conftest import SECRET
from tests.exit_check import connected, wait_until_gone

# Port 1 on loopback refuses connections: a store that used the URL would answer 503.
UNUSED_URL = "redis://127.0.0.1:1/0"


async def write(request: Request) -> JSONResponse:
    request.session["n"] = int(request.path_params["n"])
    return JSONResponse({"ok": True})


async def read(request: Request) -> JSONResponse:
    return JSONResponse({"n": request.session.get("n")})


class CheckAtShutdown:
    """Wraps the app: once the middleware has handled ``lifespan.shutdown``, records whether the
    app's client still has the connection it had, then closes the client (the app's job)."""

    def __init__(self, app: SessionMiddleware, client: redis.asyncio.Redis) -> None:
        self.app = app
        self.client = client
        self.ids: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_after(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self.ids.append(await self.client.client_id())
            if message["type"] == "lifespan.shutdown.complete":
                self.ids.append(await self.client.client_id())  # the same connection: not cut off
                await self.client.aclose()
            await send(message)

        await self.app(scope, receive, send_after)


def test_a_store_over_the_apps_asyncio_client_serves_requests_through_it(
    redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    name = f"asgi-own-{uuid.uuid4().hex[:12]}"
    client = redis.asyncio.Redis.from_url(redis_url, client_name=name)
    config = SessionConfig(url=UNUSED_URL, secret_keys=[SECRET], key_prefix=key_prefix)
    store = AsyncSessionStore(config, client=client)
    routes = [Route("/write/{n:int}", write), Route("/read", read)]
    app = CheckAtShutdown(SessionMiddleware(Starlette(routes=routes), store=store), client)

    with TestClient(app) as browser:
        assert browser.get("/write/7").status_code == 200
        assert browser.get("/read").json() == {"n": 7}
        # The app's own connection and the store's, both made by the app's client.
        assert connected(redis_client, name) == 2
        assert any(redis_client.scan_iter(match=f"{key_prefix}*"))  # the session went there

    first, at_shutdown = app.ids
    assert first == at_shutdown  # the middleware left the app's client (and its connections) alone
    assert wait_until_gone(redis_client, name) == 0  # closed by the app, with its loop

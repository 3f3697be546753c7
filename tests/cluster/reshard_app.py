"""The app `test_reshard` loads over real HTTP while slots move: Starlette with our ASGI
`SessionMiddleware` over an `AsyncSessionStore` built from the environment (REDIS_URL,
SESSION_SECRET_KEYS, SESSION_KEY_PREFIX), served by uvicorn in a subprocess.

Routes (each answers what the session held when the request began: ``label``, ``owner``, ``n``,
``user``; 404 when the request carried no live session):
``POST /hit`` increments the session's counter ``n``; ``POST /regenerate`` does the same and moves the
session to a fresh id (the new cookie); ``POST /logout-everywhere`` deletes every session of the
session's user (``delete_user_sessions``) and answers how many; ``GET /ping`` touches nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from redis_sessions import AsyncSessionStore, BackendUnavailable, SessionConfig
from redis_sessions.integrations.asgi import (
    SessionMiddleware,
    clear_session,
    get_session,
    regenerate_session,
)

STORE = AsyncSessionStore(SessionConfig.from_env(connect_timeout=0.5, command_timeout=1.0))


def _found(request: Request) -> dict[str, Any] | None:
    session = get_session(request)
    if session.is_new:
        return None
    return {"label": session.get("label"), "owner": session.get("owner"), "n": session.get("n"),
            "user": session.user_id}  # fmt: skip


async def hit(request: Request) -> JSONResponse:
    found = _found(request)
    if found is None:
        return JSONResponse({"error": "no session"}, status_code=404)
    request.session["n"] = int(found["n"]) + 1
    return JSONResponse(found)


async def regenerate(request: Request) -> JSONResponse:
    response = await hit(request)
    if response.status_code == 200:
        regenerate_session(request)
    return response


async def logout_everywhere(request: Request) -> JSONResponse:
    found = _found(request)
    if found is None or found["user"] is None:
        return JSONResponse({"error": "no session of a user"}, status_code=404)
    try:
        deleted = await STORE.delete_user_sessions(found["user"])
    except BackendUnavailable:
        return JSONResponse({"error": "store unavailable"}, status_code=503)
    clear_session(request)
    return JSONResponse({**found, "deleted": deleted})


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    await STORE.close()


app = Starlette(
    routes=[
        Route("/hit", hit, methods=["POST"]),
        Route("/regenerate", regenerate, methods=["POST"]),
        Route("/logout-everywhere", logout_everywhere, methods=["POST"]),
        Route("/ping", ping),
    ],
    middleware=[Middleware(SessionMiddleware, store=STORE)],
    lifespan=lifespan,
)

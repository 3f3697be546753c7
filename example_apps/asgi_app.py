"""A FastAPI app to click through: log in, a cart kept in the session, your active sessions.

Run ``bash scripts/demo.sh``, or ``uvicorn example_apps.asgi_app:app`` with settings from the
environment (REDIS_URL, SESSION_SECRET_KEYS, ...: see `SessionConfig.from_env`). State changes are
POST forms; the cookie's SameSite=Lax keeps other sites from posting them (a real app adds CSRF tokens).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from example_apps import _pages
from example_apps.live import LiveStreams, following
from redis_sessions import AsyncSessionStore, SessionConfig
from redis_sessions.integrations.asgi import SessionMiddleware, clear_session, get_session, regenerate_session

DEMO_SECRET = "demo-only-secret-do-not-use-in-production"
FRAMEWORK = "FastAPI"  # named on every page

router = APIRouter()


def _store(request: Request) -> AsyncSessionStore:
    store: AsyncSessionStore = request.app.state.session_store
    return store


async def _form(request: Request) -> dict[str, str]:
    """The posted urlencoded form, parsed here so that the example needs no python-multipart."""
    return dict(parse_qsl((await request.body()).decode()))


Store = Annotated[AsyncSessionStore, Depends(_store)]
Form = Annotated[dict[str, str], Depends(_form)]


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)  # POST, then redirect, then GET


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    session = get_session(request)  # reading creates nothing: no cookie for anonymous visitors
    return HTMLResponse(_pages.home(session.user_id, session.get("cart", {}), framework=FRAMEWORK))


@router.post("/login")
async def login(request: Request, form: Form) -> RedirectResponse:
    username = form.get("username", "").strip()
    if not 0 < len(username) <= 40:
        raise HTTPException(400, "A username of 1 to 40 characters, please.")
    session = regenerate_session(request)  # a fresh id at login defeats session fixation
    session.user_id = username  # binds the session to the user's index (sessions_for_user)
    session["device"] = request.headers.get("user-agent", "unknown")[:80]
    return _redirect("/")


@router.post("/cart/add")
async def cart_add(request: Request, form: Form) -> RedirectResponse:
    item = form.get("item", "")
    if item not in _pages.CATALOG:
        raise HTTPException(400, "No such item.")
    session = get_session(request)
    cart = dict(session.get("cart", {}))
    cart[item] = cart.get(item, 0) + 1
    session["cart"] = cart  # reassign: a change made inside a nested value is not seen
    return _redirect("/")


@router.post("/cart/remove")
async def cart_remove(request: Request, form: Form) -> RedirectResponse:
    session = get_session(request)
    cart = dict(session.get("cart", {}))
    cart.pop(form.get("item", ""), None)
    if cart:
        session["cart"] = cart
    else:
        session.pop("cart", None)  # an anonymous session left empty is deleted, its cookie expired
    return _redirect("/")


@router.get("/sessions")
async def sessions(request: Request, store: Store, revoked: int | None = None) -> Response:
    session = get_session(request)
    if session.user_id is None:
        return _redirect("/")
    rows = await store.sessions_for_user(session.user_id)
    return HTMLResponse(_pages.sessions(session.user_id, rows, session.id, revoked, framework=FRAMEWORK))


@router.post("/sessions/revoke")
async def revoke(request: Request, store: Store, form: Form) -> RedirectResponse:
    session = get_session(request)
    if session.user_id is None:
        return _redirect("/")
    handle = form.get("session", "")
    found = [s for s in await store.sessions_for_user(session.user_id) if _pages.handle(s) == handle]
    if len(found) != 1:  # only the user's own sessions; an ambiguous prefix revokes nothing
        raise HTTPException(404, "No such session.")
    if found[0].id == session.id:
        clear_session(request)
        return _redirect("/")
    await store.delete(found[0])  # its next request finds no session: logged out there
    return _redirect("/sessions?revoked=1")


@router.post("/sessions/revoke-others")
async def revoke_others(request: Request, store: Store) -> RedirectResponse:
    session = get_session(request)
    if session.user_id is None:
        return _redirect("/")
    count = await store.delete_user_sessions(session.user_id, except_id=session.id)
    return _redirect(f"/sessions?revoked={count}")


@router.get("/live")
async def live(request: Request) -> Response:
    """Server-sent events for an open page: ends with ``event: logout`` when this session is logged
    out, or its user logs out everywhere, on whichever process (`example_apps.live`)."""
    session = get_session(request)
    if session.user_id is None:
        raise HTTPException(401, "Log in first.")
    streams: LiveStreams = request.app.state.live
    return StreamingResponse(streams.stream(session.user_id, session.handle), media_type="text/event-stream")


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    clear_session(request)  # deleted from the store, cookie expired
    return _redirect("/")


def config_from_env() -> SessionConfig:
    """`SessionConfig.from_env()` with session events on, and a demo secret (and a warning) when
    SESSION_SECRET_KEYS is unset."""
    if "SESSION_SECRET_KEYS" in os.environ:
        return SessionConfig.from_env(publish_events=True)
    print(
        "WARNING: SESSION_SECRET_KEYS is not set: cookies are signed with a public demo secret. "
        "Never use it in production.",
        file=sys.stderr,
    )
    return SessionConfig.from_env(secret_keys=[DEMO_SECRET], publish_events=True)


def create_app(config: SessionConfig | None = None) -> FastAPI:
    """The example app; its routes and its `SessionMiddleware` share one store, closed on shutdown."""
    store = AsyncSessionStore(config if config is not None else config_from_env())
    live = LiveStreams()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with following(live, store):
            yield
        await store.close()

    app = FastAPI(title="redis-sessions demo", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.session_store = store
    app.state.live = live
    app.add_middleware(SessionMiddleware, store=store)
    app.include_router(router)
    return app


app = create_app()

"""Pure ASGI session middleware for Starlette and FastAPI, a drop-in for Starlette's own.

Handlers use ``request.session`` (that is ``scope["session"]``) as a dict; `get_session` gives the
full `Session`, `regenerate_session` / `clear_session` mark it for login and logout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from redis_sessions import _http
from redis_sessions.config import SessionConfig
from redis_sessions.errors import BackendUnavailable
from redis_sessions.session import Session
from redis_sessions.store import AsyncSessionStore

# The ASGI types, as Starlette spells them (no framework import: this middleware is pure ASGI).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


_UNAVAILABLE_BODY = b"Service Unavailable: session store unreachable"


class SessionMiddleware:
    """Server-side sessions in Redis for any ASGI app.

    Give a `config` (a store is built from it) or a ready `store` (shared with your own code, e.g. to
    list a user's sessions); with neither, `SessionConfig.from_env()`. A request with a valid cookie
    costs one round trip (load and slide the TTL); one that writes, at most two; one without a
    cookie that writes nothing, none. While Redis is unreachable, requests get a 503.
    """

    def __init__(
        self,
        app: ASGIApp,
        config: SessionConfig | None = None,
        store: AsyncSessionStore | None = None,
    ) -> None:
        self.app = app
        self._owns_store = store is None
        self.store = store if store is not None else AsyncSessionStore(config or SessionConfig.from_env())
        self.config = self.store.config
        self._cookie_prefix = self.config.cookie_name.encode() + b"="
        self._set_cookie = _http.SetCookieHeader(self.config)
        self._outage = _http.OutageLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            if scope["type"] == "lifespan" and self._owns_store:
                send = self._closing_store_on_shutdown(send)
            await self.app(scope, receive, send)
            return
        store = self.store
        session_id = store.signer.unsign(self._cookie(scope))
        try:
            session = await store.get(session_id) if session_id else None
        except BackendUnavailable as exc:
            self._outage.failed(exc)
            await _unavailable(scope, send)
            return
        if session_id:
            self._outage.succeeded()
        scope["session"] = session if session is not None else store.new_session()

        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            try:
                await self._finish(scope["session"])  # changes are saved; no cookie can follow
            except BackendUnavailable as exc:
                self._outage.failed(exc)  # the connection is over: nobody to answer 503 to
            return

        replaced = False

        async def send_with_cookie(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the app's response was replaced by a 503
            if message["type"] == "http.response.start":
                try:
                    cookie = await self._finish(scope["session"])
                except BackendUnavailable as exc:
                    self._outage.failed(exc)
                    replaced = True
                    await _unavailable(scope, send)
                    return
                if cookie is not None:
                    header = (b"set-cookie", self._set_cookie(cookie))
                    message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _closing_store_on_shutdown(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.store.close()  # the store this middleware built; a given one is yours
            await send(message)

        return wrapped

    async def _finish(self, session: Session) -> _http.CookieSpec | None:
        if not self._outage.down:
            return await self.store.finish_request(session)
        round_trips = self.store.round_trips
        cookie = await self.store.finish_request(session)
        if self.store.round_trips != round_trips:
            self._outage.succeeded()  # only a real answer from the store says it is back
        return cookie

    def _cookie(self, scope: Scope) -> str | None:
        prefix = self._cookie_prefix
        for name, value in scope["headers"]:
            if name == b"cookie":
                for part in value.split(b";"):
                    part = part.strip()
                    if part.startswith(prefix):
                        try:
                            return str(part[len(prefix) :].decode("ascii"))
                        except UnicodeDecodeError:
                            return None
        return None


async def _unavailable(scope: Scope, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1011})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_UNAVAILABLE_BODY)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _UNAVAILABLE_BODY})


def get_session(request_or_scope: Any) -> Session:
    """The full `Session` of a request (id, user binding, metadata). Accepts a Starlette
    `Request`/`WebSocket` or an ASGI scope. Raises `LookupError` without the middleware."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    session = scope.get("session")
    if not isinstance(session, Session):
        raise LookupError("no redis_sessions session here: is SessionMiddleware installed?")
    return session


def regenerate_session(request_or_scope: Any) -> Session:
    """Give the session a fresh id when the response starts (call at login: session fixation).
    The data and user binding move over; the old id stops working."""
    session = get_session(request_or_scope)
    _http.request_regenerate(session)
    return session


def clear_session(request_or_scope: Any) -> Session:
    """Empty the session now; when the response starts it is deleted from Redis and its cookie
    expired (call at logout)."""
    session = get_session(request_or_scope)
    _http.request_clear(session)
    return session

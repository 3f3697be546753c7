"""Pure ASGI session middleware for Starlette and FastAPI, a drop-in for Starlette's own.

Handlers use ``request.session`` (that is ``scope["session"]``) as a dict; `get_session` gives the
full `Session`, `regenerate_session` / `clear_session` mark it for login and logout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from redis_sessions import _http
from redis_sessions.config import SessionConfig
from redis_sessions.errors import BackendUnavailable, ConfigError
from redis_sessions.session import Session
from redis_sessions.store import AsyncSessionStore

# The ASGI types, as Starlette spells them (no framework import: this middleware is pure ASGI).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


_UNAVAILABLE_BODY = b"Service Unavailable: session store unreachable"
_VARY_COOKIE = (b"vary", b"Cookie")


_UNSET: Any = object()


class SessionMiddleware:
    """Server-side sessions in Redis for any ASGI app.

    Give a `config` (a store is built from it) or a ready `store` (shared with your own code, e.g. to
    list a user's sessions; for a redis-py client of your own, a Sentinel or Cluster one or a pool
    you share, ``store=AsyncSessionStore(config, client=redis.asyncio.Redis(...))``: the middleware
    closes neither a store it was given nor that store's client); or Starlette's own keyword
    arguments (`secret_key`, `session_cookie`, `max_age` in seconds, None for a cookie that ends
    with the browser, `path`, `same_site`, `https_only`, `domain`, `partitioned`) with the Redis URL
    from `url` or ``REDIS_URL``, so that replacing the import of Starlette's `SessionMiddleware` is
    the only change; with none of these, `SessionConfig.from_env()`. A request with a valid cookie
    costs one round trip (load and slide the TTL); one that writes, at most two; one without a cookie
    that writes nothing, none. While Redis is unreachable, requests get a 503. `health_path` (say
    ``"/healthz"``; off by default) answers GET requests there with the store's readiness, for
    Kubernetes probes and load balancers: 200 or 503 with a small JSON body (`_http.readiness`).
    Raises `ConfigError` for bad or conflicting settings.
    """

    def __init__(
        self,
        app: ASGIApp,
        config: SessionConfig | None = None,
        store: AsyncSessionStore | None = None,
        *,
        url: str | None = None,
        secret_key: Any = None,
        session_cookie: str | None = None,
        max_age: int | None = _UNSET,
        path: str | None = None,
        same_site: str | None = None,
        https_only: bool | None = None,
        domain: str | None = None,
        partitioned: bool = False,
        health_path: str | None = None,
    ) -> None:
        if config is not None and not isinstance(config, SessionConfig):
            secret_key, config = config, None  # Starlette's positional secret_key
        dropin = _starlette_options(
            url, secret_key, session_cookie, max_age, path, same_site, https_only, domain
        )
        if dropin and (config is not None or store is not None):
            raise ConfigError("secret_key", "give Starlette's arguments, or config= / store=, not both")
        if dropin:
            config = SessionConfig.from_env(**dropin)
        self.app = app
        self._owns_store = store is None
        self.store = store if store is not None else AsyncSessionStore(config or SessionConfig.from_env())
        self.config = self.store.config
        self._set_cookie = _http.SetCookieHeader(
            self.config, persistent=max_age is not None, partitioned=partitioned
        )
        self._outage = _http.OutageLog()
        self._health_path = health_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            if scope["type"] == "lifespan":
                send = self._lifespan(send)
            await self.app(scope, receive, send)
            return
        if scope["path"] == self._health_path and scope["type"] == "http":
            await self._health(send)
            return
        store = self.store
        header = _cookie_header(scope)
        cookie = _http.verified_cookie(store.signer, header, self.config.cookie_name, self.config.observer)
        legacy = _http.legacy_cookie(_http.core_of(store), header) if cookie is None else None
        try:
            scope["session"] = await store.open_request(cookie, legacy)
        except BackendUnavailable as exc:
            self._outage.failed(exc)
            await _unavailable(scope, send, exc)
            return
        if cookie is not None:
            self._outage.succeeded()

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
                session = scope["session"]
                try:
                    cookie = await self._finish(session)
                except BackendUnavailable as exc:
                    self._outage.failed(exc)
                    replaced = True
                    await _unavailable(scope, send, exc)
                    return
                accessed = session.accessed
                if cookie is not None or accessed:
                    headers = [*message.get("headers", ())]
                    if cookie is not None:
                        headers.append((b"set-cookie", self._set_cookie(cookie)))
                    if accessed:
                        _vary_cookie(headers)
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _lifespan(self, send: Send) -> Send:
        """`send` for the lifespan scope: the start-up check once the app has started (one WARNING
        naming what is wrong: unreachable, missing ACL rules, an evicting maxmemory-policy; nothing
        when all is well), and closing the store this middleware built at shutdown."""

        async def wrapped(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                _http.log_at_startup(await self.store.health())
            elif message["type"] == "lifespan.shutdown.complete" and self._owns_store:
                await self.store.close()  # the store this middleware built; a given one is yours
            await send(message)

        return wrapped

    async def _health(self, send: Send) -> None:
        """The readiness endpoint (`health_path`): `store.health()` as `_http.readiness` says."""
        status, body = _http.readiness(await self.store.health())
        await _respond(send, status, b"application/json", body, (b"cache-control", b"no-store"))

    async def _finish(self, session: Session) -> _http.CookieSpec | None:
        if not self._outage.down:
            return await self.store.finish_request(session)
        round_trips = self.store.round_trips
        cookie = await self.store.finish_request(session)
        if self.store.round_trips != round_trips:
            self._outage.succeeded()  # only a real answer from the store says it is back
        return cookie


def _starlette_options(
    url: str | None,
    secret_key: Any,
    session_cookie: str | None,
    max_age: int | None,
    path: str | None,
    same_site: str | None,
    https_only: bool | None,
    domain: str | None,
) -> dict[str, Any]:
    """`SessionConfig` fields for Starlette's `SessionMiddleware` arguments that were given."""
    options: dict[str, Any] = {}
    if url is not None:
        options["url"] = url
    if secret_key is not None:
        options["secret_keys"] = [str(secret_key)]  # a str, or Starlette's `Secret`
    for name, value in (
        ("cookie_name", session_cookie),
        ("cookie_path", path),
        ("cookie_samesite", same_site),
        ("cookie_secure", https_only),
        ("cookie_domain", domain),
    ):
        if value is not None:
            options[name] = value
    if max_age is not _UNSET and max_age is not None:
        options["ttl"] = max_age
    if (options or max_age is None) and "secret_keys" not in options:
        raise ConfigError("secret_key", "Starlette's arguments need secret_key (it signs the cookie)")
    return options


def _cookie_header(scope: Scope) -> str | None:
    """The request's ``Cookie`` header (several, as HTTP/2 may send them, joined by ``; ``)."""
    found = None
    for name, value in scope["headers"]:
        if name == b"cookie":
            text = value.decode("latin-1")
            found = text if found is None else f"{found}; {text}"
    return found


def _vary_cookie(headers: list[tuple[bytes, bytes]]) -> None:
    """Add ``Cookie`` to the response's ``Vary`` header (as Starlette does for an accessed session)."""
    for n, (name, value) in enumerate(headers):
        if name == b"vary":  # ASGI header names are lower-case
            if b"cookie" not in value.lower() and value.strip() != b"*":
                headers[n] = (name, value + b", Cookie")
            return
    headers.append(_VARY_COOKIE)


async def _respond(
    send: Send, status: int, content_type: bytes, body: bytes, *extra: tuple[bytes, bytes]
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _unavailable(scope: Scope, send: Send, exc: BackendUnavailable) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1011})
        return
    retry_after = (b"retry-after", str(exc.retry_after).encode())
    await _respond(send, 503, b"text/plain; charset=utf-8", _UNAVAILABLE_BODY, retry_after)


def get_session(request_or_scope: Any) -> Session:
    """The full `Session` of a request (id, user binding, metadata). Accepts a Starlette
    `Request`/`WebSocket` or an ASGI scope. Raises `LookupError` without the middleware."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    session = scope.get("session")
    if not isinstance(session, Session):
        raise LookupError("no redis_sessions session here: is SessionMiddleware installed?")
    session.mark_accessed()
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

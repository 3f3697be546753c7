"""`RedisSessionInterface`: Flask's `SessionInterface` on the shared session store.

Opening a session with a valid cookie loads it and slides its expiry (one round trip); saving
sends only what changed (at most one more) through the request policy every integration shares,
`redis_sessions._http.finish`. Flask's own semantics on top: ``session.permanent`` decides whether
the cookie outlives the browser, ``SESSION_REFRESH_EACH_REQUEST`` whether an unchanged permanent
session re-sends it, ``Vary: Cookie`` follows ``session.accessed``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.exceptions import ServiceUnavailable

from redis_sessions import Session, SessionStore, _http
from redis_sessions.errors import BackendUnavailable

LOGIN_USER_KEY = "_user_id"  # where Flask-Login keeps the logged-in user's id
PERMANENT_KEY = "_permanent"  # where Flask's SessionMixin keeps `permanent`
UNREACHABLE = "redis_sessions.store_unreachable"  # WSGI environ key
_UNAVAILABLE_BODY = b"Service Unavailable: session store unreachable"


class FlaskSession(Session, SessionMixin):
    """``flask.session``: a `redis_sessions.Session` with Flask's `SessionMixin` attributes.

    `permanent` (kept under ``"_permanent"``, as Flask does), `new` (never stored yet), `modified`
    (set it True after changing a nested value in place: the keys that changed are found and
    saved), `accessed` (read or written: ``Vary: Cookie``). `id` and `user_id` as the core session.
    """

    accessed = False
    store_unreachable = False  # the cookie's session could not be loaded: the request gets a 503
    permanent_default = False  # REDIS_SESSIONS_PERMANENT: `permanent` while no view has set it

    @property
    def new(self) -> bool:  # type: ignore[override]
        return self.is_new

    @property
    def permanent(self) -> bool:
        if not dict.__contains__(self, PERMANENT_KEY):  # not `in`: that marks the session accessed
            return self.permanent_default
        return bool(self[PERMANENT_KEY])

    @permanent.setter
    def permanent(self, value: bool) -> None:
        if self.permanent != bool(value):  # the same value again writes nothing
            self[PERMANENT_KEY] = bool(value)

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.accessed = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.accessed = True
        super().__delitem__(key)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)


class RedisSessionInterface(SessionInterface):
    """Flask's session interface over a `SessionStore`; `RedisSessions.init_app` installs it.

    While Redis is unreachable a request with a session cookie gets a 503 with ``Retry-After`` (1 s,
    or what an open circuit breaker still waits) and one log line per outage, never a 500.
    """

    def __init__(self, store: SessionStore, *, permanent: bool = False, partitioned: bool = False) -> None:
        # This app's sessions: FlaskSession with the app's default for `permanent`.
        _http.use_session_class(
            store, type("FlaskSession", (FlaskSession,), {"permanent_default": permanent})
        )
        self.store = store
        config = store.config
        self._cookie_name = config.cookie_name
        self._cookie_attributes: dict[str, Any] = {
            "path": config.cookie_path,
            "domain": config.cookie_domain,
            "secure": config.cookie_secure,
            "httponly": config.cookie_httponly,
            "samesite": config.cookie_samesite.capitalize(),
            "partitioned": partitioned,
        }
        self._outage = _http.OutageLog()

    # -- Flask's SessionInterface -------------------------------------------------------------
    def open_session(self, app: Flask, request: Request) -> FlaskSession:
        store = self.store
        header = request.environ.get("HTTP_COOKIE")
        cookie = _http.verified_cookie(store.signer, header, self._cookie_name, store.config.observer)
        legacy = _http.legacy_cookie(_http.core_of(store), header) if cookie is None else None
        if cookie is None and legacy is None:
            return self._new_session()
        try:
            session = store.open_request(cookie, legacy)
        except BackendUnavailable as exc:
            self._outage.failed(exc)
            request.environ[UNREACHABLE] = exc.retry_after  # for `refuse_while_unreachable`
            unreachable = self._new_session()
            unreachable.store_unreachable = True
            return unreachable
        self._outage.succeeded()
        return session  # type: ignore[return-value]

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, FlaskSession) or session.store_unreachable:
            return
        if session.accessed:
            _vary_cookie(response)
        _http.bind_user_key(session, LOGIN_USER_KEY)  # Flask-Login's user: bound, fresh id at login
        permanent = session.permanent
        if not (
            _http.pending(session)
            or (permanent and not session.is_new and app.config["SESSION_REFRESH_EACH_REQUEST"])
        ):
            return  # nothing to store (loading slid the expiry already), no cookie to send
        try:
            spec = self._finish(session)
        except BackendUnavailable as exc:
            self._outage.failed(exc)
            _make_unavailable(response, exc.retry_after)
            return
        if spec is None:
            return
        if spec.expires_now:  # as Werkzeug's delete_cookie
            response.set_cookie(self._cookie_name, "", max_age=0, expires=0, **self._cookie_attributes)
        else:  # not permanent: no Max-Age, the cookie ends with the browser
            max_age = spec.max_age if permanent else None
            response.set_cookie(self._cookie_name, spec.value, max_age=max_age, **self._cookie_attributes)
        _vary_cookie(response)

    # -- ours ------------------------------------------------------------------------------------
    def refuse_while_unreachable(self) -> None:
        """A ``before_request`` hook, run first: a request whose session could not be loaded gets
        a 503 before any view or other hook runs (an app's 503 error handler can restyle it)."""
        if request.environ.get(UNREACHABLE):
            raise ServiceUnavailable(_UNAVAILABLE_BODY.decode(), retry_after=request.environ[UNREACHABLE])

    def _new_session(self) -> FlaskSession:
        return self.store.new_session()  # type: ignore[return-value]

    def _finish(self, session: FlaskSession) -> _http.CookieSpec | None:
        if not self._outage.down:
            return self.store.finish_request(session)
        round_trips = self.store.round_trips
        spec = self.store.finish_request(session)
        if self.store.round_trips != round_trips:
            self._outage.succeeded()  # only a real answer from the store says it is back
        return spec


def _vary_cookie(response: Response) -> None:
    """Add ``Vary: Cookie`` (as Flask does when the session was accessed), cheaply when no other
    ``Vary`` is there yet."""
    vary = response.headers.get("Vary")
    if not vary:
        response.headers["Vary"] = "Cookie"
    elif "cookie" not in vary.lower():
        response.vary.add("Cookie")


def _make_unavailable(response: Response, retry_after: int) -> None:
    """Turn the view's response into a 503: saving the session failed after the view ran."""
    response.status_code = 503
    response.set_data(_UNAVAILABLE_BODY)
    response.mimetype = "text/plain"
    del response.headers["Set-Cookie"]
    response.headers["Retry-After"] = str(retry_after)

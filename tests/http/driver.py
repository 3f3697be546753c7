"""The client-driver interface the HTTP scenarios run through, framework-neutral.

A *site* is one web app (Starlette or FastAPI today; Django and Flask later) wired to our session
integration and serving the scenario routes below, plus a test client driving it like a browser
(a cookie jar that follows ``Set-Cookie``). Scenario tests talk only to `Site`, so a new framework
plugs in by implementing `ClientDriver` and a site factory that serves these routes:

========================  ==========================================================================
``GET /read``             ``{"data": <the session as a dict>}`` (reads the session, writes nothing)
``GET /noop``             ``{"ok": true}``; never touches the session
``GET /whoami``           ``{"id", "user_id", "is_new"}`` of the full session object
``POST /write``           JSON object body: ``session.update(body)``; answers like ``/read``
``POST /remove``          JSON list body: deletes those keys
``POST /empty``           deletes every key one by one (the handler empties the session)
``POST /logout``          the framework's "clear this session" call (ASGI: ``clear_session``)
``POST /regenerate``      the framework's "new id, same data" call (ASGI: ``regenerate_session``)
``POST /login``           ``{"user": ...}``: regenerate, then bind the session to that user id
``POST /bind``            ``{"user": ...}``: bind (or change) the user id only, no explicit regenerate
========================  ==========================================================================
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis_sessions import Session, SessionConfig, SessionIdSigner, SessionStore


# -- responses -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SetCookie:
    """One parsed ``Set-Cookie`` header: name, value and attributes (lower-case names; flags map
    to ``""``)."""

    raw: str
    name: str
    value: str
    attrs: dict[str, str]

    @classmethod
    def parse(cls, header: str) -> SetCookie:
        first, *rest = (part.strip() for part in header.split(";"))
        name, _, value = first.partition("=")
        attrs: dict[str, str] = {}
        for part in rest:
            key, _, val = part.partition("=")
            attrs[key.strip().lower()] = val.strip()
        return cls(header, name.strip(), value.strip(), attrs)

    @property
    def max_age(self) -> int:
        return int(self.attrs["max-age"])

    @property
    def expires_now(self) -> bool:
        """True for a cookie that tells the browser to drop it (empty value, Max-Age=0)."""
        return self.value == "" and self.max_age <= 0


@dataclass(frozen=True)
class Reply:
    """What every driver returns: status, decoded body and the ``Set-Cookie`` headers."""

    status: int
    body: Any
    set_cookies: tuple[SetCookie, ...]
    elapsed: float = 0.0
    vary: str | None = None  # the response's Vary header
    retry_after: str | None = None  # the response's Retry-After header

    def cookie(self, name: str) -> SetCookie | None:
        """The one ``Set-Cookie`` for `name`, or None (two for one name is itself a failure)."""
        found = [c for c in self.set_cookies if c.name == name]
        assert len(found) <= 1, f"several Set-Cookie headers for {name!r}: {found}"
        return found[0] if found else None


# -- the driver interface --------------------------------------------------------------------------
class ClientDriver(Protocol):
    """A framework's test client seen as a browser with one cookie jar."""

    def get(self, path: str, *, cookie_header: bytes | None = None) -> Reply:
        """GET `path`. `cookie_header` sends exactly those bytes as ``Cookie`` instead of the jar's."""
        ...

    def post(self, path: str, json: Any = None, *, cookie_header: bytes | None = None) -> Reply:
        """POST `json` to `path`, as `get` for `cookie_header`."""
        ...

    def jar_cookie(self, name: str) -> str | None:
        """The value the jar holds for cookie `name` (None when absent or expired)."""
        ...

    def set_jar_cookie(self, name: str, value: str) -> None:
        """Put `name=value` in the jar, replacing what it held (a client forging its cookie)."""
        ...

    def clear_jar(self) -> None: ...


@dataclass
class Site:
    """A running app with our session integration, its client, and server-side views of the store.

    `round_trips` reads the integration's own store counter; `inspector` is a separate sync
    `SessionStore` on the same URL and prefix, used only through methods that never slide a TTL.
    """

    client: ClientDriver
    config: SessionConfig
    round_trips: Callable[[], int]
    inspector: SessionStore
    signer: SessionIdSigner = field(init=False)

    def __post_init__(self) -> None:
        self.signer = SessionIdSigner(self.config.secret_keys)

    @property
    def cookie_name(self) -> str:
        return self.config.cookie_name

    def session_id(self) -> str | None:
        """The id behind the jar's session cookie (None without a valid one)."""
        value = self.client.jar_cookie(self.cookie_name)
        return None if value is None else self.signer.unsign(value)

    def stored(self, session_id: str) -> Session | None:
        """The stored session, without touching its TTL (None when gone)."""
        if not self.inspector.exists(session_id):
            return None
        cursor: str | None = None
        while True:
            page = self.inspector.list_sessions(limit=100, cursor=cursor)
            for session in page.sessions:
                if session.id == session_id:
                    return session
            cursor = page.next_cursor
            if cursor is None:
                return None

    def stored_data(self, session_id: str) -> dict[str, Any] | None:
        session = self.stored(session_id)
        return None if session is None else dict(session)

    def pttl_ms(self, session_id: str) -> float | None:
        """Milliseconds the store has left for the session (None when gone); no TTL change."""
        left = self.inspector.ttl(session_id)
        return None if left is None else left * 1000

    def new_session_cookie(self, data: dict[str, Any] | None = None) -> str:
        """Create a session through the app (a write without a cookie) and return its cookie value."""
        reply = self.client.post("/write", data or {"seed": 1})
        assert reply.status == 200, reply
        issued = reply.cookie(self.cookie_name)
        assert issued is not None and not issued.expires_now, reply
        return issued.value


class SiteFactory(Protocol):
    """Opens a `Site` with `SessionConfig` overrides; `clock` (epoch ms) drives the app's store."""

    def __call__(
        self, *, clock: Callable[[], int] | None = None, **config: Any
    ) -> AbstractContextManager[Site]: ...


class OffsetClock:
    """Wall-clock epoch milliseconds plus an adjustable offset: lets a test jump forward in time
    without sleeping (the store passes its clock to Redis, so deadlines follow it)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def advance(self, seconds: float) -> None:
        self.offset_ms += int(seconds * 1000)


def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll `condition` until true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def iter_set_cookie(headers: Iterator[str]) -> tuple[SetCookie, ...]:
    return tuple(SetCookie.parse(h) for h in headers)

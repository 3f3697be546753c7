"""The request policy every integration follows, framework-neutral and free of I/O.

Before the handler: a valid signed cookie means "load (and slide) that session"; anything else means
a new, unsaved session. After the handler, the `finish` plan saves or deletes and says which cookie
to send, so the HTTP behaviour is the same in ASGI, Django and Flask by construction.

This module is also the adapters' whole view of the core's internals: cookie parsing, `begin`,
`finish`, `bind_user_key`, `pending`, `changed_since_load`, `find_changes_in_place`, `deadline_ms`,
`request_regenerate`, `cancel_regenerate`, `request_clear`, `use_session_class`, `core_of`,
`run`/`arun` (Django's engine runs store plans of its own), `check_size` and `OutageLog` are what the
ASGI, Django and Flask integrations call, so a change to the record or the plans cannot silently
break one framework.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol, TypeVar

from . import _migration as M
from . import _plan as P

# What the adapters use of the core besides this module's own functions: re-exported here, so that
# `redis_sessions.integrations` imports no other private module (tests/unit/test_layers.py).
from ._health import log_at_startup as log_at_startup
from ._health import readiness as readiness
from ._migration import adopt as adopt
from ._migration import find_migrated as find_migrated
from ._migration import forget as forget
from ._migration import migrated_ids as migrated_ids
from ._plan import Core as Core
from ._plan import Saved as Saved
from ._plan import delete as delete
from ._plan import delete_any as delete_any
from ._plan import exists as exists
from ._plan import gather as gather
from ._plan import save as save
from ._plan import save_outcome as save_outcome
from .config import SessionConfig
from .errors import BackendUnavailable
from .observer import SessionObserver
from .session import Session
from .signing import SessionIdSigner, SignedId

logger = logging.getLogger("redis_sessions")


T = TypeVar("T")


class SessionStoreLike(Protocol):
    """What the adapter helpers need of `SessionStore` / `AsyncSessionStore`."""

    _core: P.Core


class SyncStoreLike(SessionStoreLike, Protocol):
    def _run(self, plan: P.Plan[T]) -> T: ...


class AsyncStoreLike(SessionStoreLike, Protocol):
    async def _run(self, plan: P.Plan[T]) -> T: ...


class CookieSpec(NamedTuple):
    """A cookie to send: `value` with `max_age` seconds, or an expiry (value "", max_age 0)."""

    value: str
    max_age: int

    @property
    def expires_now(self) -> bool:
        return self.max_age == 0


EXPIRE = CookieSpec("", 0)


def verified_cookie(
    signer: SessionIdSigner, header: str | None, name: str, observer: SessionObserver | None = None
) -> str | None:
    """The session cookie a ``Cookie`` request header carries: of the values of cookie `name`
    (in header order; a value in double quotes is unquoted, as RFC 6265 allows), the first that
    `signer` verifies. The one cookie-parsing rule of every integration: with two cookies of one
    name (a stale one on another path or domain), the first valid one wins. None when none is
    (`observer` is told of a ``"tampered"`` cookie when there was one of that name)."""
    if not header:
        return None
    prefix = name + "="
    at = header.find(prefix)
    seen = False
    while at >= 0:
        # A cookie starts the header or follows "; " (not a name that merely ends in ours).
        if at == 0 or header[at - 1] in " ;":
            start = at + len(prefix)
            end = header.find(";", start)
            value = (header[start:] if end < 0 else header[start:end]).strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if signer.unsign(value) is not None:
                return value
            seen = True
        at = header.find(prefix, at + 1)
    if seen and observer is not None:
        observer.cookie_rejected("tampered")
    return None


def begin(
    core: P.Core, signer: SessionIdSigner, cookie_value: str | None, legacy_key: str | None = None
) -> P.Plan[Session]:
    """Open the session of a request: the one a verified cookie value names, loaded and slid (one
    round trip), remembering when its cookie was signed; else the session of another library that
    `legacy_key` (from `legacy_cookie`) names, moved in (its first request: our cookie is sent);
    else a new, unsaved session (no I/O). Raises `BackendUnavailable` when the store cannot answer."""
    session = None
    if cookie_value:
        verified = signer.verify(cookie_value)
        if verified is not None:
            session = yield from P.load(core, verified.session_id)
            if session is not None:
                session._cookie_signed_s = verified.signed_at
                return session
        if core.observer is not None:
            _rejected(core, verified)
    if legacy_key is not None:
        session = yield from M.move_legacy(core, legacy_key)  # the cookie is re-sent: unknown age
    return session if session is not None else core.new_session(None, None, None)


def _rejected(core: P.Core, verified: SignedId | None) -> None:
    """Tell the observer why a request's cookie was not honoured."""
    assert core.observer is not None
    if verified is None:
        core.observer.cookie_rejected("tampered")
        return
    # A browser drops the cookie after its Max-Age (at most the ttl): an older one was kept.
    old = core.now_ms() // 1000 - verified.signed_at > core.config.ttl
    core.observer.cookie_rejected("expired" if old else "unknown")


def legacy_cookie(core: P.Core, header: str | None) -> str | None:
    """With `SessionConfig.migrate_from`, the old library's key a request's cookie names (the
    first value of its cookie name that can be one); None otherwise. No I/O."""
    legacy = core.legacy
    if legacy is None or not header:
        return None
    prefix = legacy.cookie_name + "="
    for part in header.split(";"):
        part = part.strip()
        if part.startswith(prefix):
            value = part[len(prefix) :].strip().strip('"')
            key = legacy.key_of(value)
            if key is not None:
                return key
    return None


def finish(core: P.Core, signer: SessionIdSigner, session: Session) -> P.Plan[CookieSpec | None]:
    """Carry out the end of a request for `session`; return the cookie to send (None: send none).

    - new session: stored only if it holds data or a user (no write, no cookie otherwise);
    - `clear_session` (logout): deleted, cookie expired; data written after the clear goes to
      a fresh session under a new id;
    - changed: only the changes are saved; emptied by the handler (no data, no user): deleted,
      unless another request added a key meanwhile (checked atomically), cookie expired;
    - a stored session whose user changed (bound, switched or unbound): moved to a fresh id
      (session fixation: a new id on every change of user, as Django's `login` does);
    - untouched or read-only: nothing to write (loading slid the TTL); the cookie is re-sent only
      once the browser's copy is a quarter of the idle ttl old (`refresh_due`);
    - gone meanwhile (deleted, cleared or regenerated by another request): nothing stored and no
      cookie, so a slower request never undoes another's logout or login cookie.
    """
    if session._clear_requested:
        session._clear_requested = False
        fresh = None
        if session or session.user_id is not None:
            fresh = core.new_session({k: session[k] for k in session}, session.user_id, None)
        if session._is_new:
            session = fresh if fresh is not None else session
        elif fresh is None:
            yield from P.delete_any(core, session, "logout")
            return EXPIRE
        else:
            yield from P.gather([P.delete_any(core, session, "logout"), P.save(core, fresh)])
            return _cookie(core, signer, fresh)
    if session._is_new:
        if not session and session.user_id is None:
            return None
        stored = yield from P.save(core, session)
        return _cookie(core, signer, session) if stored else None
    if not (session.modified or session._regenerate_requested):
        return _cookie(core, signer, session) if refresh_due(core, session) else None
    if session.user_id != session._stored_user_id:
        session._regenerate_requested = True
    emptied = not session and session.user_id is None
    outcome = yield from P.save_outcome(core, session, drop_if_empty=emptied)
    if outcome is P.Saved.STORED:
        return _cookie(core, signer, session)
    return EXPIRE if outcome is P.Saved.EMPTIED else None


def refresh_due(core: P.Core, session: Session) -> bool:
    """Whether an unchanged session's cookie should be re-sent: the browser's copy is at least a
    quarter of the session's idle ttl old (or its age is unknown). So an active user's cookie
    always has three quarters of the ttl left, and read-only responses carry no ``Set-Cookie``
    most of the time (cacheable; a read racing a login cannot re-send the old id)."""
    signed = session._cookie_signed_s
    if signed is None:
        return True
    ttl_s = session._ttl or core.config.ttl
    return core.now_ms() // 1000 - signed >= ttl_s / 4


def _cookie(core: P.Core, signer: SessionIdSigner, session: Session) -> CookieSpec:
    # Max-Age is what is left of the session: never past `ttl`, never past the absolute deadline.
    max_age = (session._expires_ms - core.now_ms()) // 1000
    return CookieSpec(signer.sign(session.id), max_age) if max_age > 0 else EXPIRE


class SetCookieHeader:
    """Renders a `CookieSpec` as a ``Set-Cookie`` header value (latin-1 bytes, as ASGI sends
    headers) with the configured name and attributes, which are joined once here.

    `persistent` False leaves out ``Max-Age``: the cookie ends with the browser (Starlette's
    ``max_age=None``) while Redis still expires the session after its idle ttl. `partitioned` adds
    ``Partitioned`` (CHIPS; it needs ``Secure``).
    """

    __slots__ = ("_expired", "_path", "_persistent", "_tail")

    def __init__(self, config: SessionConfig, *, persistent: bool = True, partitioned: bool = False) -> None:
        self._path = f"{config.cookie_name}=%s; Path={config.cookie_path}".encode("latin-1")
        self._persistent = persistent
        tail = [""]
        if config.cookie_domain:
            tail.append(f"Domain={config.cookie_domain}")
        if config.cookie_secure:
            tail.append("Secure")
        if config.cookie_httponly:
            tail.append("HttpOnly")
        tail.append(f"SameSite={config.cookie_samesite.capitalize()}")
        if partitioned:
            tail.append("Partitioned")
        self._tail = "; ".join(tail).encode("latin-1")
        self._expired = self._path % b"" + b"; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0" + self._tail

    def __call__(self, spec: CookieSpec) -> bytes:
        if spec.expires_now:
            return self._expired
        value = self._path % spec.value.encode("ascii")
        if not self._persistent:
            return value + self._tail
        return b"%s; Max-Age=%d%s" % (value, spec.max_age, self._tail)


class OutageLog:
    """Logs one line when the store becomes unreachable and one when it is back (with how long the
    outage lasted and how many requests failed), not one per request.

    A failure within `SETTLE` seconds of a recovery continues that outage without a new line (a
    Cluster with one shard down answers some requests and not others); such an outage is logged as
    over once no request has failed for `SETTLE` seconds, with how many failed meanwhile.
    """

    SETTLE = 5.0  # seconds

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.down = False
        self._clock = clock
        self._recovered = -math.inf
        self._last_failure = -math.inf
        self._since = 0.0  # when the outage started
        self._failures = 0  # requests failed since then
        self._flapping = 0  # failures since the outage came back after its recovery was logged

    def failed(self, exc: BackendUnavailable) -> None:
        now = self._clock()
        self._last_failure = now
        self._failures += 1
        if self._flapping:
            self._flapping += 1
        elif not self.down:
            self.down = True
            if now - self._recovered < self.SETTLE:
                self._flapping = 1
            else:
                self._since, self._failures = now, 1
                logger.error("session store unavailable, answering 503 until it is back: %s", exc)

    def succeeded(self) -> None:
        if not self.down:
            return
        now = self._clock()
        lasted = now - self._since
        if self._flapping:
            if now - self._last_failure < self.SETTLE:
                return
            logger.warning(
                "session store reachable again after %.1f s, %d more requests failed meanwhile",
                lasted,
                self._flapping,
            )
            self._flapping = 0
        else:
            logger.warning(
                "session store reachable again after %.1f s, %d requests failed meanwhile",
                lasted,
                self._failures,
            )
        self.down = False
        self._recovered = now


def pending(session: Session) -> bool:
    """Whether `finish` has work beyond refreshing the cookie: changes, a user change, or a
    regenerate or clear asked for."""
    return session.modified or session._regenerate_requested or session._clear_requested


def bind_user_key(session: Session, key: str) -> None:
    """Follow a framework's "logged-in user" key (Flask-Login's ``_user_id``, Django's
    ``_auth_user_id``): set since load binds its value as the session's `user_id`, deleted since
    load unbinds it. `finish` then gives the session a fresh id (a new id on every change of user)."""
    if key in session._set:
        session.user_id = str(session[key])
    elif key in session._deleted:
        session.user_id = None


def changed_since_load(session: Session, key: str) -> bool:
    """Whether `key` was set or deleted since the session was loaded (or created)."""
    return key in session._set or key in session._deleted


def find_changes_in_place(core: P.Core, session: Session) -> None:
    """Mark for the next save the values read since load that were changed in place (what
    ``modified = True`` asks for), now rather than at the save, so an unchanged session's save
    stays free (Django calls `save` on every request with ``SESSION_SAVE_EVERY_REQUEST``)."""
    session._set.update(session._changed_in_place(core.encode))


def deadline_ms(session: Session) -> int | None:
    """The session's absolute deadline (epoch ms), or None when it has none."""
    return session._deadline_ms


def cancel_regenerate(session: Session) -> None:
    """Undo `request_regenerate` (a fresh id that turned out taken is not retried by the save)."""
    session._regenerate_requested = False


def core_of(store: SessionStoreLike) -> P.Core:
    """The plans' `Core` of `store` (settings, key layout, codec, clock), for an adapter that runs
    store plans of its own (Django's engine, the migrate command)."""
    return store._core


def run(store: SyncStoreLike, plan: P.Plan[T]) -> T:
    """Run `plan` on the sync `store`, one round trip per batch."""
    return store._run(plan)


async def arun(store: AsyncStoreLike, plan: P.Plan[T]) -> T:
    """Run `plan` on the async `store`, one round trip per batch."""
    return await store._run(plan)


def check_size(core: P.Core, session: Session) -> None:
    """Raise `SessionTooLarge` when `session` serialized is over `max_size`, as a save would."""
    core._check_size(session, {key: core.encode(session[key]) for key in session})


def use_session_class(store: SessionStoreLike, session_class: type[Session]) -> None:
    """Make `store` build its sessions as `session_class` (a `Session` subclass adding a
    framework's attributes, as Flask's `SessionMixin`)."""
    store._core.session_class = session_class


def request_regenerate(session: Session) -> None:
    """Ask for a fresh id when the request ends (login: session fixation defence)."""
    session._regenerate_requested = True


def request_clear(session: Session) -> None:
    """Empty the session, unbind its user, and delete it from the store when the request ends
    (logout). Anything written afterwards in the same request goes to a fresh session."""
    session.clear()
    session.user_id = None
    session._clear_requested = True
    session._regenerate_requested = False

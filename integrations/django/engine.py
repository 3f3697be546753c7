"""`SessionStore`: Django's session engine contract (`SessionBase`) on the shared session store.

``request.session.session_key`` is the cookie value, the signed session id (as with Django's own
``signed_cookies`` engine, the key is what the cookie carries); a client can never choose its id.
Each operation is written once, as a generator of effects (store plans, or blocking calls into a
fallback engine), and run by `_run` (sync) or `_arun` (async), so the two never drift apart.
"""

from __future__ import annotations

import atexit
import math
from collections.abc import Generator
from datetime import datetime
from types import GeneratorType
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.utils import timezone

from redis_sessions import Session, SessionError, _http
from redis_sessions.errors import BackendUnavailable, SerializationError, SessionTooLarge
from redis_sessions.integrations.django import _legacy, _settings

T = TypeVar("T")
Effect = Any  # a store plan (a generator), or a blocking callable: a fallback engine's I/O
Op = Generator[Effect, Any, T]

AUTH_USER_KEY = "_auth_user_id"  # django.contrib.auth.SESSION_KEY
EXPIRY_KEY = "_session_expiry"  # where SessionBase.set_expiry keeps a custom expiry
# The SessionErrors that are not an id collision: they pass through untouched (an outage stays a 503).
_NOT_A_COLLISION = (BackendUnavailable, SessionTooLarge, SerializationError)
_CYCLE_ATTEMPTS = 3  # fresh ids tried when one is taken (128 random bits: never, in practice)


class SessionStore(SessionBase):
    """Django sessions in Redis: ``SESSION_ENGINE = "redis_sessions.integrations.django"``.

    Loading slides the expiry (one round trip); saving sends only the keys that changed (at most
    one round trip, none when nothing changed, so ``SESSION_SAVE_EVERY_REQUEST`` is free); the
    logged-in user (``_auth_user_id``) is bound to the per-user index; `cycle_key` moves the
    session to a fresh id in one atomic step. A session deleted meanwhile (logout elsewhere, "log
    out everywhere") is never stored again: `save` raises Django's `UpdateError` (which Django's
    middleware turns into `SessionInterrupted`), `cycle_key` leaves an empty session as `flush`
    does. Raises `BackendUnavailable` while Redis is down.
    """

    def __init__(self, session_key: str | None = None) -> None:
        self._engine = _settings.current()
        self._core = _http.core_of(self._engine.store)
        # Whether this session's last store round trip got an answer (the middleware's outage log).
        self._store_answered = False
        # The outage this request's session already met: later accesses in the request (Django's
        # auth middleware, the view, the response) fail at once instead of waiting out a timeout each.
        self._outage: BackendUnavailable | None = None
        super().__init__(session_key)

    # -- keys ----------------------------------------------------------------------------------
    def _validate_session_key(self, key: Any) -> bool:
        if not isinstance(key, str) or not key:
            return False
        if self._session_id(key) is not None:
            return True
        return self._engine.fallback_engine is not None and _legacy.plausible_key(key)

    def _session_id(self, session_key: str | None) -> str | None:
        return self._engine.store.signer.unsign(session_key) if session_key else None

    def _adopt(self, session: Session) -> Session:
        self._session_cache = session
        self._session_key = self._engine.store.signer.sign(session.id)
        return session

    def _start_empty(self) -> None:
        """What `flush` leaves: an empty session without a key, nothing stored for it yet."""
        self._session_cache = self._core.new_session(None, None, None)
        self._session_key = None
        self.accessed = self.modified = True

    # -- running operations --------------------------------------------------------------------
    # An effect's error is raised inside the operation, at its ``yield``, which may handle it.
    def _run(self, op: Op[T]) -> T:
        try:
            effect = next(op)
            while True:
                try:
                    result = self._do(effect)
                except Exception as exc:
                    effect = op.throw(exc)
                else:
                    effect = op.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _arun(self, op: Op[T]) -> T:
        try:
            effect = next(op)
            while True:
                try:
                    result = await self._ado(effect)
                except Exception as exc:
                    effect = op.throw(exc)
                else:
                    effect = op.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _do(self, effect: Effect) -> Any:
        if not isinstance(effect, GeneratorType):
            return effect()
        if self._outage is not None:
            raise self._outage
        store = self._engine.store
        trips = store.round_trips
        try:
            result = _http.run(store, effect)
        except BackendUnavailable as exc:
            self._store_answered = False
            self._outage = exc
            raise
        if store.round_trips != trips:
            self._store_answered = True  # a reply came back: Redis answered
        return result

    async def _ado(self, effect: Effect) -> Any:
        if not isinstance(effect, GeneratorType):
            return await sync_to_async(effect)()
        if self._outage is not None:
            raise self._outage
        store = self._engine.async_store
        trips = store.round_trips
        try:
            result = await _http.arun(store, effect)
        except BackendUnavailable as exc:
            self._store_answered = False
            self._outage = exc
            raise
        if store.round_trips != trips:
            self._store_answered = True
        return result

    # -- operations, written once ----------------------------------------------------------------
    def _load_op(self) -> Op[Session]:
        key = self.session_key
        session: Session | None = None
        session_id = self._session_id(key)
        if session_id is not None:
            assert key is not None
            opened: Session = yield _http.begin(self._core, self._engine.store.signer, key)
            session = None if opened.is_new else opened  # new: the cookie named no live session
        elif key is not None and self._engine.fallback_engine is not None:
            session = yield from _legacy.migrate(self._core, self._engine.fallback_engine, key, self._prepare)
            if session is not None:  # the browser gets our cookie in place of the old one
                self._session_key = self._engine.store.signer.sign(session.id)
                self.modified = True
        if session is not None:
            return session
        self._session_key = None
        return self._core.new_session(None, None, None)

    def _session_op(self, no_load: bool = False) -> Op[Session]:
        self.accessed = True
        try:
            return self._session_cache
        except AttributeError:
            pass
        if self.session_key is None or no_load:
            session = self._core.new_session(None, None, None)
        else:
            session = yield from self._load_op()
        self._session_cache = session
        return session

    def _save_op(self, must_create: bool) -> Op[None]:
        if self.session_key is None:
            return (yield from self._create_op())
        if must_create:  # Django's "create it, or raise CreateError if the key is taken"
            if (yield from self._exists_op(self.session_key)):
                raise CreateError("the session already exists")
            return (yield from self._create_op())
        session = yield from self._session_op()
        self._prepare(session)
        if self._past_expiry(session):
            yield from self._expire_op(session)
            return None
        if not (session.is_new or session.modified):
            return None  # loading slid the expiry already: nothing to send
        try:
            outcome = yield _http.save_outcome(self._core, session)
        except _NOT_A_COLLISION:
            raise
        except SessionError as exc:  # an id collision (a move set_expiry asked for): in theory only
            raise CreateError(str(exc)) from exc
        if outcome is not _http.Saved.STORED:
            raise UpdateError("the session was deleted, or expired, while this request ran")
        self._session_key = self._engine.store.signer.sign(session.id)
        return None

    def _create_op(self) -> Op[None]:
        session: Session | None = getattr(self, "_session_cache", None)
        if session is None or not session.is_new:  # a stored session's data goes to a new one
            session = self._core.new_session(
                dict(session.items()) if session is not None else None, None, None
            )
        self._prepare(session)
        if not self._past_expiry(session):
            try:
                yield _http.save(self._core, session)
            except _NOT_A_COLLISION:
                raise
            except SessionError as exc:
                raise CreateError(str(exc)) from exc
        self._adopt(session)
        self.modified = True

    def _expire_op(self, session: Session) -> Op[Session]:
        """A `set_expiry` in the past expires the session at once, as Django's own engines do:
        the stored copy is deleted (with its user index entry), nothing is stored; this request
        keeps the data in memory, as a session never stored (a later save with a future expiry
        stores it under a fresh id)."""
        if not session.is_new:
            yield _http.delete_any(self._core, session, "expired")
        kept = self._core.new_session(dict(session.items()), None, None)
        self._session_cache = kept
        if self.session_key is None:
            self._session_key = self._engine.store.signer.sign(kept.id)
        return kept

    def _delete_op(self, session_key: str | None, reason: str = "revoked") -> Op[None]:
        cache: Session | None = getattr(self, "_session_cache", None)
        if session_key is None or session_key == self.session_key:
            if cache is not None and not cache.is_new:
                yield _http.delete_any(self._core, cache, reason)  # its user index entry goes too
                return
            session_key = self.session_key
        session_id = self._session_id(session_key)
        if session_id is not None:
            yield _http.delete(self._core, session_id, None, reason)

    def _flush_op(self) -> Op[None]:
        yield from self._delete_op(None, "logout")
        self._start_empty()

    def _cycle_key_op(self) -> Op[None]:
        session = yield from self._session_op()
        if not session.is_new:
            self._prepare(session)
            if self._past_expiry(session):
                session = yield from self._expire_op(session)
        if session.is_new:  # never stored, never sent: a fresh id is enough (no round trip)
            self._adopt(self._core.new_session(dict(session.items()), None, None))
            self.modified = True
            return None
        for attempt in range(_CYCLE_ATTEMPTS):
            _http.request_regenerate(session)  # data, changes and user move in one atomic step
            try:
                outcome = yield _http.save_outcome(self._core, session)
            except _NOT_A_COLLISION:
                raise
            except SessionError:  # the fresh id is taken: try another, as Django's create() does
                _http.cancel_regenerate(session)
                if attempt + 1 == _CYCLE_ATTEMPTS:
                    raise
                continue
            if outcome is not _http.Saved.STORED:
                # Deleted meanwhile ("log out everywhere", a logout elsewhere, expiry): gone means
                # gone. Nothing of it is stored again; the request goes on as `flush` leaves it.
                self._start_empty()
                return None
            break
        self._adopt(session)
        self.modified = True
        return None

    def _exists_op(self, session_key: str) -> Op[bool]:
        session_id = self._session_id(session_key)
        return session_id is not None and (yield _http.exists(self._core, session_id))

    def _prepare(self, session: Session) -> None:
        """Bring Django's view of the session into it before a save: values changed in place
        (when Django's `modified` flag says so), then `apply_django_keys`."""
        if self.modified:
            _http.find_changes_in_place(self._core, session)
        apply_django_keys(self._core, session)

    def _past_expiry(self, session: Session) -> bool:
        deadline = _http.deadline_ms(session)
        return deadline is not None and deadline <= self._core.now_ms()

    # -- SessionBase: data access ----------------------------------------------------------------
    def _get_session(self, no_load: bool = False) -> Session:
        cached: Session | None = self.__dict__.get("_session_cache")
        if cached is not None:  # every access after the first: no operation to run
            self.accessed = True
            return cached
        return self._run(self._session_op(no_load))

    async def _aget_session(self, no_load: bool = False) -> Session:
        cached: Session | None = self.__dict__.get("_session_cache")
        if cached is not None:
            self.accessed = True
            return cached
        return await self._arun(self._session_op(no_load))

    _session = property(_get_session)

    def clear(self) -> None:
        """Empty the session, keeping its key (Django's `clear`); `flush` also deletes it."""
        self._session.clear()
        self.accessed = self.modified = True

    def is_empty(self) -> bool:
        # Django's SessionMiddleware asks this on every request: a session the request never
        # loaded is loaded here, which slides its expiry (a request with a cookie is activity).
        if self.session_key is not None and not hasattr(self, "_session_cache"):
            self._session_cache = self.load()
        return not self.session_key and not getattr(self, "_session_cache", None)

    # -- SessionBase: expiry ---------------------------------------------------------------------
    def get_session_cookie_age(self) -> int:
        """The idle timeout in seconds: ``REDIS_SESSIONS["TTL"]``, else ``SESSION_COOKIE_AGE``."""
        return self._engine.config.ttl

    def get_expiry_age(self, **kwargs: Any) -> int:
        """As Django's, and never past the session's absolute deadline (``ABSOLUTE_TTL``)."""
        return self._capped(super().get_expiry_age(**kwargs), kwargs)

    async def aget_expiry_age(self, **kwargs: Any) -> int:
        return self._capped(await super().aget_expiry_age(**kwargs), kwargs)

    def _capped(self, age: int, kwargs: dict[str, Any]) -> int:
        session: Session | None = getattr(self, "_session_cache", None)
        deadline = None if session is None else _http.deadline_ms(session)
        if kwargs or deadline is None:
            return age
        return max(0, min(age, (deadline - self._core.now_ms()) // 1000))

    # -- SessionBase: storage --------------------------------------------------------------------
    # Django types these as dict: a Session is one.
    def load(self) -> Session:
        """Load the session and slide its expiry (one round trip); a new empty session when the
        key is unknown, expired or not ours (then ``session_key`` becomes None)."""
        return self._run(self._load_op())

    async def aload(self) -> Session:
        return await self._arun(self._load_op())

    def exists(self, session_key: str) -> bool:
        return self._run(self._exists_op(session_key))

    async def aexists(self, session_key: str) -> bool:
        return await self._arun(self._exists_op(session_key))

    def create(self) -> None:
        """Store the current data under a fresh key at once (one round trip), as Django's."""
        self._run(self._create_op())

    async def acreate(self) -> None:
        await self._arun(self._create_op())

    def save(self, must_create: bool = False) -> None:
        """Store what changed (one round trip; none when nothing did). Raises `CreateError` with
        `must_create` when the session exists, `UpdateError` when it is gone meanwhile. A session
        whose `set_expiry` is in the past is deleted instead (Django's engines expire it at once)."""
        self._run(self._save_op(must_create))

    async def asave(self, must_create: bool = False) -> None:
        await self._arun(self._save_op(must_create))

    def delete(self, session_key: str | None = None) -> None:
        self._run(self._delete_op(session_key))

    async def adelete(self, session_key: str | None = None) -> None:
        await self._arun(self._delete_op(session_key))

    def flush(self) -> None:
        """Delete the session (and its user index entry) and start an empty one without a key
        (one round trip), as `django.contrib.auth.logout` expects."""
        self._run(self._flush_op())

    async def aflush(self) -> None:
        await self._arun(self._flush_op())

    def cycle_key(self) -> None:
        """Move the session to a fresh key, data and user kept, the old key dead at once (one
        atomic round trip; session fixation defence, as `django.contrib.auth.login` calls it).

        A session deleted meanwhile (revoked by "log out everywhere", or by a logout elsewhere) is
        not brought back: it is left empty and without a key, as `flush` leaves it, and nothing is
        stored for it (what the request writes afterwards goes to a new session). Raises
        `SessionError` only if three fresh ids in a row were taken (never, in practice)."""
        self._run(self._cycle_key_op())

    async def acycle_key(self) -> None:
        await self._arun(self._cycle_key_op())

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: Redis expires sessions itself (as Django's cache engine)."""

    @classmethod
    async def aclear_expired(cls) -> None:
        """Nothing to do: Redis expires sessions itself."""


def apply_django_keys(core: _http.Core, session: Session) -> None:
    """Bind the logged-in user (``_auth_user_id``) to the per-user index, or unbind at logout,
    and give the session the expiry `set_expiry` asked for (``_session_expiry``)."""
    _http.bind_user_key(session, AUTH_USER_KEY)  # logged out: deleted (clear() deletes it too)
    if session.is_new or _http.changed_since_load(session, EXPIRY_KEY):
        ttl, deadline = _expiry_rules(session.get(EXPIRY_KEY), core.now_ms())
        core.set_expiry_rules(session, ttl if ttl != core.config.ttl else None, deadline)


def _expiry_rules(expiry: Any, now_ms: int) -> tuple[int | None, int | None]:
    """(own idle timeout in seconds, absolute deadline in epoch ms) for a ``_session_expiry``
    value as `SessionBase.set_expiry` stores it: seconds of inactivity, an ISO date, or
    0 / None for the defaults (0 is "until the browser closes": the cookie's business). A date
    in the past or negative seconds give a deadline that has passed: the session expires at once."""
    if isinstance(expiry, str):
        deadline = datetime.fromisoformat(expiry)
        if timezone.is_naive(deadline):
            deadline = timezone.make_aware(deadline)
        deadline_ms = int(deadline.timestamp() * 1000)
        if deadline_ms <= now_ms:
            return None, deadline_ms
        # A fixed date: no idle timeout shortens it (Django keeps such a session until the date).
        return max(1, math.ceil((deadline_ms - now_ms) / 1000)), deadline_ms
    if isinstance(expiry, int) and not isinstance(expiry, bool):
        if expiry > 0:
            return expiry, None
        if expiry < 0:
            return None, now_ms + expiry * 1000
    return None, None


@atexit.register
def _close_on_exit() -> None:
    """At process exit, close the connections of the engine's sync store (and of the
    django-redis-sessions fallback client). The async store's connections close with the event
    loop that opened them (``asyncio.run``, asgiref and ASGI servers shut their loops down)."""
    if _settings.current.cache_info().currsize:
        _settings.current().store.close()
    _legacy.close()

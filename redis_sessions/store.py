"""`SessionStore` and `AsyncSessionStore`: thin drivers that run the plans of `_plan`.

Both have the same methods with the same semantics (a parity test keeps them so); each method builds
a plan and runs it, one round trip per batch the plan yields.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

from . import _admin as A
from . import _health, _http
from . import _plan as P
from ._drivers import AsyncDriver, Driver, open_async_driver, open_driver
from ._drivers.breaker import AsyncGuardedDriver, CircuitBreaker, GuardedDriver
from ._drivers.fallback import Fallback
from ._drivers.fallback_driver import AsyncFallbackDriver, FallbackDriver
from ._http import CookieSpec
from ._memory import AsyncMemoryDriver, MemoryDriver, server_for
from ._subscription import AsyncEventSubscription, EventSubscription
from .config import SessionConfig
from .errors import BackendMisconfigured, BackendUnavailable
from .results import HealthReport, SessionPage
from .session import Session
from .signing import SessionIdSigner

T = TypeVar("T")

# Plan (generator) names that differ from the operation the observer is told of.
_OPERATIONS = {
    "load": "get",
    "begin": "request_start",
    "finish": "request_end",
    "delete_any": "delete",
    "save_outcome": "save",
}


def operation_name(plan: P.Plan[Any]) -> str:
    """The observer's name of the operation `plan` carries out (`SessionObserver.operation`)."""
    name: str = plan.__name__  # type: ignore[attr-defined]
    return _OPERATIONS.get(name, name)


class _Base:
    def __init__(self, config: SessionConfig, *, clock: Callable[[], int] | None = None) -> None:
        self.config = config
        self._core = P.Core(config, clock) if clock else P.Core(config)
        # Cookies carry the time they were signed: the store's clock, as the request policy reads it.
        self.signer = SessionIdSigner(config.secret_keys, clock=lambda: self._core.now_ms() / 1000)

    def new_session(
        self,
        data: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        ttl: int | None = None,
    ) -> Session:
        """Return an unsaved session under a fresh id (no I/O); `save` stores it."""
        return self._core.new_session(data, user_id, ttl)

    def now_ms(self) -> int:
        """The store's clock, in epoch milliseconds."""
        return self._core.now_ms()

    @property
    def round_trips(self) -> int:
        """Round trips to the backend so far (one per batch; for tests and metrics)."""
        return int(self._driver.round_trips)  # type: ignore[attr-defined]

    def _breaker(self) -> CircuitBreaker | None:
        """The circuit breaker of a Redis store (None: ``memory://``, or turned off)."""
        config = self.config
        if config.url.startswith("memory:") or not config.circuit_breaker_threshold:
            return None
        return CircuitBreaker(config.circuit_breaker_threshold, config.circuit_breaker_cooldown)

    def _fallback(self) -> Fallback | None:
        """The fallback of a Redis store with ``on_backend_error="fallback"``, else None."""
        if self.config.on_backend_error != "fallback" or self.config.url.startswith("memory:"):
            return None
        return Fallback(self.config)

    def _failed(self, exc: BaseException) -> str:
        """The observer's outcome of an operation that raised `exc` (a backend error is told)."""
        if isinstance(exc, BackendUnavailable):
            assert self.config.observer is not None
            self.config.observer.backend_error(exc.kind)
            return "unavailable"
        return "error"

    def _reported(self, report: HealthReport) -> HealthReport:
        driver = self._driver  # type: ignore[attr-defined]
        changes: dict[str, Any] = {}
        if isinstance(driver, (FallbackDriver, AsyncFallbackDriver)):
            fallback = driver.fallback
            changes.update(fallback=fallback.active, fallback_sessions=fallback.sessions_held())
            driver = driver.inner
        if isinstance(driver, (GuardedDriver, AsyncGuardedDriver)):
            changes["breaker"] = driver.breaker.state
        return dataclasses.replace(report, **changes) if changes else report

    def _unhealthy(self, exc: BackendUnavailable) -> HealthReport:
        missing = (f"+{exc.command}",) if isinstance(exc, BackendMisconfigured) and exc.command else ()
        backend = self._driver.backend  # type: ignore[attr-defined]
        return self._reported(
            HealthReport(False, backend, None, False, str(exc), missing_permissions=missing)
        )


class SessionStore(_Base):
    """Sessions in Redis (or ``memory://``), for sync code. See `AsyncSessionStore` for the docs;
    every method here has the same name, arguments and semantics, without ``await``.
    """

    def __init__(
        self, config: SessionConfig, *, client: Any = None, clock: Callable[[], int] | None = None
    ) -> None:
        super().__init__(config, clock=clock)
        if client is None and config.url.startswith("memory:"):
            self._driver: Driver | GuardedDriver | FallbackDriver | MemoryDriver = MemoryDriver(
                server_for(config.url)
            )
        else:
            redis_driver = open_driver(config, client)
            breaker = self._breaker()
            driver = GuardedDriver(redis_driver, breaker) if breaker else redis_driver
            fallback = self._fallback()
            self._driver = FallbackDriver(driver, fallback) if fallback else driver
        if config.observer is not None:  # without one, `_run` times nothing
            self._run = self._observed_run  # type: ignore[method-assign]

    def _run(self, plan: P.Plan[T]) -> T:
        try:
            batch = next(plan)
            while True:
                batch = plan.send(self._driver.execute(batch))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _observed_run(self, plan: P.Plan[T]) -> T:
        start, outcome, trips = time.time_ns(), "ok", self._driver.round_trips
        try:
            return SessionStore._run(self, plan)
        except BaseException as exc:
            outcome = self._failed(exc)
            raise
        finally:
            if outcome != "ok" or self._driver.round_trips != trips:  # not one that needed no I/O
                self.config.observer.operation(  # type: ignore[union-attr]
                    operation_name(plan), outcome, start, time.time_ns()
                )

    def create(
        self,
        data: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        ttl: int | None = None,
    ) -> Session:
        session = self._core.new_session(data, user_id, ttl)
        self._run(P.create(self._core, session))
        return session

    def get(self, session_id: str) -> Session | None:
        return self._run(P.load(self._core, session_id))

    def save(self, session: Session) -> bool:
        return self._run(P.save(self._core, session))

    def delete(self, session: str | Session) -> bool:
        return self._run(P.delete_any(self._core, session))

    def exists(self, session_id: str) -> bool:
        return self._run(P.exists(self._core, session_id))

    def touch(self, session_id: str) -> bool:
        return self._run(P.touch(self._core, session_id))

    def ttl(self, session_id: str) -> float | None:
        return self._run(P.ttl(self._core, session_id))

    def regenerate(self, session: Session) -> Session:
        return self._run(P.regenerate(self._core, session))

    def sessions_for_user(self, user_id: str) -> list[Session]:
        return self._run(P.sessions_for_user(self._core, user_id))

    def delete_user_sessions(self, user_id: str, *, except_id: str | None = None) -> int:
        return self._run(P.delete_user_sessions(self._core, user_id, except_id))

    def list_sessions(
        self, *, limit: int = 100, cursor: str | None = None, whole_steps: bool = False
    ) -> SessionPage:
        return self._run(P.list_sessions(self._core, limit, cursor, whole_steps))

    def count(self) -> int:
        return self._run(P.count(self._core))

    def active_count(self) -> int:
        return self._run(P.active_count(self._core))

    def find_session(self, handle: str) -> Session | None:
        return self._run(A.find_by_handle(self._core, handle))

    def user_session_counts(self, cursor: str | None = None) -> A.WalkPage:
        return self._run(A.user_page(self._core, cursor))

    def prune_user_indexes(self, cursor: str | None = None) -> A.WalkPage:
        return self._run(A.prune_user_page(self._core, cursor))

    def restore(self, session: Session) -> bool:
        return self._run(A.restore(self._core, session))

    def events(self) -> EventSubscription:
        return EventSubscription(self.config)

    def migrate_sessions(self, cursor: str | None = None, *, dry_run: bool = False) -> A.WalkPage:
        return self._run(A.migrate_page(self._core, cursor, dry_run))

    def unmigrate_sessions(self, cursor: str | None = None) -> A.WalkPage:
        return self._run(A.unmigrate_page(self._core, cursor))

    def save_many(self, sessions: Iterable[Session]) -> None:
        self._run(P.save_many(self._core, sessions))

    def delete_many(self, session_ids: Iterable[str]) -> int:
        return self._run(P.delete_many(self._core, session_ids))

    def open_request(self, cookie_value: str | None, legacy_key: str | None = None) -> Session:
        return self._run(_http.begin(self._core, self.signer, cookie_value, legacy_key))

    def finish_request(self, session: Session) -> CookieSpec | None:
        return self._run(_http.finish(self._core, self.signer, session))

    def health(self) -> HealthReport:
        driver = self._driver
        send = driver.execute if isinstance(driver, MemoryDriver) else driver.probe
        plan = _health.health(self._core, driver.backend)
        try:
            batch = next(plan)
            while True:
                batch = plan.send(send(batch))
        except StopIteration as done:
            return self._reported(done.value)
        except BackendUnavailable as exc:
            return self._unhealthy(exc)

    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncSessionStore(_Base):
    """Sessions in Redis (or ``memory://``), for async code.

    `client`: a ready redis-py asyncio client to use instead of one built from ``config.url``:
    `redis.asyncio.Redis`, a Sentinel ``master_for`` client, or `redis.asyncio.cluster.RedisCluster`
    (its address, TLS, credentials and pools are used; the store never resends a command, so the
    client's command retries do not apply to the store's commands). The store does not close it.

    Every method is one plan of `redis_sessions._plan`; a round trip is one batch of it. Raises
    `BackendUnavailable` while Redis cannot be reached (within `connect_timeout` /
    `command_timeout` seconds), `SessionTooLarge` and `SerializationError` before storing anything.
    """

    def __init__(
        self, config: SessionConfig, *, client: Any = None, clock: Callable[[], int] | None = None
    ) -> None:
        super().__init__(config, clock=clock)
        if client is None and config.url.startswith("memory:"):
            self._driver: AsyncDriver | AsyncGuardedDriver | AsyncFallbackDriver | AsyncMemoryDriver = (
                AsyncMemoryDriver(server_for(config.url))
            )
        else:
            redis_driver = open_async_driver(config, client)
            breaker = self._breaker()
            driver = AsyncGuardedDriver(redis_driver, breaker) if breaker else redis_driver
            fallback = self._fallback()
            self._driver = AsyncFallbackDriver(driver, fallback) if fallback else driver
        if config.observer is not None:  # without one, `_run` times nothing
            self._run = self._observed_run  # type: ignore[method-assign]

    async def _run(self, plan: P.Plan[T]) -> T:
        try:
            batch = next(plan)
            while True:
                batch = plan.send(await self._driver.execute(batch))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _observed_run(self, plan: P.Plan[T]) -> T:
        start, outcome, trips = time.time_ns(), "ok", self._driver.round_trips
        try:  # `_run`'s loop, not a call of it: an extra coroutine per operation costs a microsecond
            batch = next(plan)
            while True:
                batch = plan.send(await self._driver.execute(batch))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except BaseException as exc:
            outcome = self._failed(exc)
            raise
        finally:
            if outcome != "ok" or self._driver.round_trips != trips:  # not one that needed no I/O
                self.config.observer.operation(  # type: ignore[union-attr]
                    operation_name(plan), outcome, start, time.time_ns()
                )

    async def create(
        self,
        data: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        ttl: int | None = None,
    ) -> Session:
        """Create and store a session at once (one round trip).

        `ttl` (seconds) is this session's own idle timeout from then on; `user_id` binds it to the
        per-user index.
        """
        session = self._core.new_session(data, user_id, ttl)
        await self._run(P.create(self._core, session))
        return session

    async def get(self, session_id: str) -> Session | None:
        """Load a session and slide its expiry to its full idle timeout, never past its absolute
        deadline (one round trip). None when missing, expired or not an id."""
        return await self._run(P.load(self._core, session_id))

    async def save(self, session: Session) -> bool:
        """Store what changed (keys set, keys deleted, user binding) and slide the expiry.

        Returns False, storing nothing, when the session was deleted, expired or regenerated
        meanwhile: a save never brings a session back. Raises `SessionTooLarge` /
        `SerializationError` before anything is stored.
        """
        return await self._run(P.save(self._core, session))

    async def delete(self, session: str | Session) -> bool:
        """Delete a session by id or object (then its user index entry goes in the same round
        trip); True if it existed."""
        return await self._run(P.delete_any(self._core, session))

    async def exists(self, session_id: str) -> bool:
        """True if the session exists (no TTL change)."""
        return await self._run(P.exists(self._core, session_id))

    async def touch(self, session_id: str) -> bool:
        """Slide the session's expiry as `get` does, without loading it; False if missing."""
        return await self._run(P.touch(self._core, session_id))

    async def ttl(self, session_id: str) -> float | None:
        """Seconds left before the session expires; None if missing (no TTL change)."""
        return await self._run(P.ttl(self._core, session_id))

    async def regenerate(self, session: Session) -> Session:
        """Move the session, with its pending changes, to a fresh id; the old id stops working
        (session fixation defence, as Django's `cycle_key`). Raises `SessionError` if the
        stored session no longer exists. Returns the same object, now with the new id."""
        return await self._run(P.regenerate(self._core, session))

    async def sessions_for_user(self, user_id: str) -> list[Session]:
        """The user's live sessions, oldest first (no TTL change); prunes stale index entries."""
        return await self._run(P.sessions_for_user(self._core, user_id))

    async def delete_user_sessions(self, user_id: str, *, except_id: str | None = None) -> int:
        """Delete every session of the user except `except_id` ("log out everywhere else");
        returns how many were deleted."""
        return await self._run(P.delete_user_sessions(self._core, user_id, except_id))

    async def list_sessions(
        self, *, limit: int = 100, cursor: str | None = None, whole_steps: bool = False
    ) -> SessionPage:
        """At most `limit` (>= 1, else `ValueError`) sessions and a cursor for the next page (None at
        the end), by SCAN: never KEYS; on a Cluster, primary after primary. A session alive for the
        whole walk is listed exactly once (the exceptions are in `_plan.list_sessions`). The cursor
        may carry session ids: keep it as confidential as the sessions it lists. With `whole_steps`
        it carries none, and a page may hold more than `limit`: the rest of its last SCAN step."""
        return await self._run(P.list_sessions(self._core, limit, cursor, whole_steps))

    async def count(self) -> int:
        """Number of live sessions under this key prefix, counted by SCAN in small steps: exact,
        but a walk of the keyspace (about a thousand round trips per million keys). For a
        dashboard, `active_count`."""
        return await self._run(P.count(self._core))

    async def active_count(self) -> int:
        """Number of live sessions by the active-session gauge (``track_active_sessions=True``):
        one round trip whatever their number (`redis_sessions._active`). Exact but for sessions
        in their last minute (a quarter of `ttl` when shorter), which it may leave out, and
        sessions stored before the gauge was on, counted from their next write. Raises
        `SessionError` when the gauge is off."""
        return await self._run(P.active_count(self._core))

    async def find_session(self, handle: str) -> Session | None:
        """The live session whose `Session.handle` is `handle`, or None; no TTL change. Walks the
        keys under the handle's slot tag with SCAN (an admin tool's lookup, not a request's).
        Raises `ValueError` for a value that is not a handle."""
        return await self._run(A.find_by_handle(self._core, handle))

    async def user_session_counts(self, cursor: str | None = None) -> A.WalkPage:
        """One step of a walk over the users with a session index: ``found`` holds ``(user_id,
        sessions)`` pairs (index entries that may still be alive), ``next_cursor`` the next step
        (None at the end). For "the users with the most sessions"."""
        return await self._run(A.user_page(self._core, cursor))

    async def prune_user_indexes(self, cursor: str | None = None) -> A.WalkPage:
        """One step of pruning the per-user indexes: entries of sessions that are gone, or bound
        to another user now, are removed; ``found`` holds ``(user_id, entries removed)``. Readers
        prune what they meet anyway; this sweeps users nobody reads."""
        return await self._run(A.prune_user_page(self._core, cursor))

    async def restore(self, session: Session) -> bool:
        """Store an exported session (`redis_sessions._export.from_record`) under its own id, with
        its data, user, expiry rules and expiry: True when stored, False when the id is taken or the
        session has expired. For the admin CLI's ``import``; a request never chooses its id."""
        return await self._run(A.restore(self._core, session))

    def events(self) -> AsyncEventSubscription:
        """Subscribe to the session events of this store's key prefix (`redis_sessions.events`),
        published by every process with ``publish_events=True``: ``async with store.events() as
        events: async for event in events: ...``. A connection of its own (pub/sub), to one node;
        it reconnects when that connection drops. Raises `ConfigError` for ``memory://``; the sync
        store's `events` subscribes at once (`BackendUnavailable` when no node answers)."""
        return AsyncEventSubscription(self.config)

    async def migrate_sessions(self, cursor: str | None = None, *, dry_run: bool = False) -> A.WalkPage:
        """One step (a SCAN step of the old keys) of moving every session of `migrate_from` in,
        the bulk form of the lazy move; with `dry_run`, read and check only. ``found`` holds
        ``(outcome, old data, data read back)`` per old key (`redis_sessions._admin.migrate_page`);
        ``next_cursor`` the next step, None at the end. The old store is only read."""
        return await self._run(A.migrate_page(self._core, cursor, dry_run))

    async def unmigrate_sessions(self, cursor: str | None = None) -> A.WalkPage:
        """One step of rolling a migration back: sessions moved in (bulk or lazily) are deleted with
        their map entries; the old store, never changed, can serve their old cookies again."""
        return await self._run(A.unmigrate_page(self._core, cursor))

    async def save_many(self, sessions: Iterable[Session]) -> None:
        """Save several sessions in one round trip."""
        await self._run(P.save_many(self._core, sessions))

    async def delete_many(self, session_ids: Iterable[str]) -> int:
        """Delete several sessions in one round trip; returns how many existed."""
        return await self._run(P.delete_many(self._core, session_ids))

    async def open_request(self, cookie_value: str | None, legacy_key: str | None = None) -> Session:
        """Open a request's session, as `redis_sessions._http.begin`: the session a verified
        cookie value names, loaded and slid (one round trip), else the other library's session
        `legacy_key` names (`_http.legacy_cookie`), moved in, else a new unsaved one; for framework
        integrations. Raises `BackendUnavailable` while the store cannot answer."""
        return await self._run(_http.begin(self._core, self.signer, cookie_value, legacy_key))

    async def finish_request(self, session: Session) -> CookieSpec | None:
        """Carry out the request policy of `redis_sessions._http.finish` at the end of a request
        (save, delete or nothing) and return the cookie to send; for framework integrations.
        At most one round trip."""
        return await self._run(_http.finish(self._core, self.signer, session))

    async def health(self) -> HealthReport:
        """Check the backend in one round trip; never raises (`ok` is False and `detail` says why).

        Reports the latency, any error reply (``OOM``, ``LOADING``, ``READONLY``...), every ACL
        permission the Redis user lacks (`missing_permissions`), and as a warning (`degraded`) a
        ``maxmemory-policy`` that evicts sessions, evictions seen, or memory over 90% of
        ``maxmemory``, from ``INFO`` (see `redis_sessions._health`). ``memory://`` gets a PING.
        """
        driver = self._driver
        send = driver.execute if isinstance(driver, AsyncMemoryDriver) else driver.probe
        plan = _health.health(self._core, driver.backend)
        try:
            batch = next(plan)
            while True:
                batch = plan.send(await send(batch))
        except StopIteration as done:
            return self._reported(done.value)
        except BackendUnavailable as exc:
            return self._unhealthy(exc)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._driver.close()

    async def __aenter__(self) -> AsyncSessionStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

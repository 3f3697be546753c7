"""The store interface the contract tests are written against, and the sync store's adapter to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, cast

from redis_sessions import HealthReport, Session, SessionConfig, SessionPage, SessionStore
from redis_sessions._http import CookieSpec
from redis_sessions._layout import KeyLayout
from redis_sessions._memory import server_for


class AnyStore(Protocol):
    """The store interface with awaitable methods, as both stores offer it to these tests."""

    @property
    def config(self) -> SessionConfig: ...

    @property
    def round_trips(self) -> int: ...

    def new_session(
        self,
        data: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        ttl: int | None = None,
    ) -> Session: ...

    async def create(
        self,
        data: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        ttl: int | None = None,
    ) -> Session: ...

    async def get(self, session_id: str) -> Session | None: ...

    async def save(self, session: Session) -> bool: ...

    async def delete(self, session_id: str) -> bool: ...

    async def exists(self, session_id: str) -> bool: ...

    async def touch(self, session_id: str) -> bool: ...

    async def ttl(self, session_id: str) -> float | None: ...

    async def regenerate(self, session: Session) -> Session: ...

    async def sessions_for_user(self, user_id: str) -> list[Session]: ...

    async def delete_user_sessions(self, user_id: str, *, except_id: str | None = None) -> int: ...

    async def list_sessions(
        self, *, limit: int = 100, cursor: str | None = None, whole_steps: bool = False
    ) -> SessionPage: ...

    async def count(self) -> int: ...

    async def active_count(self) -> int: ...

    async def finish_request(self, session: Session) -> CookieSpec | None: ...

    async def save_many(self, sessions: Iterable[Session]) -> None: ...

    async def delete_many(self, session_ids: Iterable[str]) -> int: ...

    async def health(self) -> HealthReport: ...

    async def close(self) -> None: ...


class SyncAsAsync:
    """`SessionStore` with awaitable methods: each one calls the sync store and returns its result."""

    def __init__(self, inner: SessionStore) -> None:
        self.inner = inner

    @property
    def config(self) -> SessionConfig:
        return self.inner.config

    @property
    def round_trips(self) -> int:
        return self.inner.round_trips

    @property
    def _core(self) -> Any:
        return self.inner._core

    def new_session(
        self,
        data: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        ttl: int | None = None,
    ) -> Session:
        return self.inner.new_session(data, user_id=user_id, ttl=ttl)

    async def create(
        self,
        data: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        ttl: int | None = None,
    ) -> Session:
        return self.inner.create(data, user_id=user_id, ttl=ttl)

    async def get(self, session_id: str) -> Session | None:
        return self.inner.get(session_id)

    async def save(self, session: Session) -> bool:
        return self.inner.save(session)

    async def delete(self, session_id: str) -> bool:
        return self.inner.delete(session_id)

    async def exists(self, session_id: str) -> bool:
        return self.inner.exists(session_id)

    async def touch(self, session_id: str) -> bool:
        return self.inner.touch(session_id)

    async def ttl(self, session_id: str) -> float | None:
        return self.inner.ttl(session_id)

    async def regenerate(self, session: Session) -> Session:
        return self.inner.regenerate(session)

    async def sessions_for_user(self, user_id: str) -> list[Session]:
        return self.inner.sessions_for_user(user_id)

    async def delete_user_sessions(self, user_id: str, *, except_id: str | None = None) -> int:
        return self.inner.delete_user_sessions(user_id, except_id=except_id)

    async def list_sessions(
        self, *, limit: int = 100, cursor: str | None = None, whole_steps: bool = False
    ) -> SessionPage:
        return self.inner.list_sessions(limit=limit, cursor=cursor, whole_steps=whole_steps)

    async def count(self) -> int:
        return self.inner.count()

    async def active_count(self) -> int:
        return self.inner.active_count()

    async def finish_request(self, session: Session) -> CookieSpec | None:
        return self.inner.finish_request(session)

    async def save_many(self, sessions: Iterable[Session]) -> None:
        self.inner.save_many(sessions)

    async def delete_many(self, session_ids: Iterable[str]) -> int:
        return self.inner.delete_many(session_ids)

    async def health(self) -> HealthReport:
        return self.inner.health()

    async def close(self) -> None:
        self.inner.close()


StoreFactory = Callable[..., AnyStore]
"""`make_store(config=None, **overrides)`: a store of this test's kind, closed after the test."""


class Backend:
    """A look inside the backend, for the few promises the public API cannot show (index pruning)."""

    def __init__(self, url: str, prefix: str, client: Any) -> None:
        self.url = url
        self.layout = KeyLayout(prefix)
        self.client = client

    def index_members(self, user_id: str) -> set[str]:
        """Session ids in `user_id`'s index, expired or not."""
        key = self.layout.user_key(user_id)
        if self.client is not None:
            members = cast(list[bytes], self.client.zrange(key, 0, -1))
            return {m.decode() for m in members}
        return {m.decode() for m in server_for(self.url).zsets.get(key, {})}

    def put_raw(self, session_id: str, value: bytes, ttl_ms: int = 60_000) -> None:
        """Store `value` as the record of `session_id`, as another program (or a bug) might."""
        key = self.layout.session_key(session_id)
        if self.client is not None:
            self.client.set(key, value, px=ttl_ms)
            return
        server = server_for(self.url)
        with server.lock:
            server.strings[key] = value
            server.expires[key] = server.clock() + ttl_ms

    def has_key(self, session_id: str) -> bool:
        key = self.layout.session_key(session_id)
        if self.client is not None:
            return bool(self.client.exists(key))
        server = server_for(self.url)
        with server.lock:
            return server._alive(key)


async def ttl_of(store: AnyStore, session_id: str) -> float:
    left = await store.ttl(session_id)
    assert left is not None, "the session should exist"
    return left


async def loaded(store: AnyStore, session_id: str) -> Session:
    session = await store.get(session_id)
    assert session is not None, "the session should exist"
    return session

"""Fixtures of the store contract suite: {memory, redis} x {sync, async}, every test written once.

`store` is an `AnyStore`: `AsyncSessionStore` itself, or `SessionStore` behind `SyncAsAsync`, a thin
wrapper whose methods call the sync store and return awaitables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from redis_sessions import AsyncSessionStore, SessionConfig, SessionStore
from tests.contract._stores import AnyStore, Backend, StoreFactory, SyncAsAsync


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sync", "async"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_store(
    anyio_backend: str, store_kind: str, make_config: Callable[..., SessionConfig]
) -> AsyncIterator[StoreFactory]:
    made: list[AnyStore] = []

    def make(config: SessionConfig | None = None, **overrides: Any) -> AnyStore:
        if config is None:
            config = make_config(**overrides)
        elif overrides:
            config = config.replace(**overrides)
        store: AnyStore = (
            AsyncSessionStore(config) if store_kind == "async" else SyncAsAsync(SessionStore(config))
        )
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> AnyStore:
    """A store on this test's backend and key prefix, with the default settings."""
    return make_store()


@pytest.fixture
def backend(backend_url: str, key_prefix: str, request: pytest.FixtureRequest) -> Backend:
    client = None
    if backend_url.startswith("redis"):
        client = request.getfixturevalue("redis_client")
    return Backend(backend_url, key_prefix, client)

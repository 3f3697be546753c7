"""Fixtures of the store contract suite: {memory, redis, cluster, sentinel} x {sync, async}, every
test written once.

`store` is an `AnyStore`: `AsyncSessionStore` itself, or `SessionStore` behind `SyncAsAsync`, a thin
wrapper whose methods call the sync store and return awaitables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis
import redis.cluster
import redis.sentinel

from redis_sessions import AsyncSessionStore, SessionConfig, SessionStore
from tests._backends import backend_url_of
from tests.conftest import SECRET
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


@pytest.fixture(params=["memory", "redis", "redis+fallback", "cluster", "sentinel"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """Every backend: in-process, one Redis (also behind ``on_backend_error="fallback"``: a healthy
    Redis must behave the same), a local Redis Cluster (3 primaries, 3 replicas) and a Sentinel set
    (one primary, one replica, three sentinels), each started once per test run."""
    return backend_url_of(request, request.param)


def with_fallback(request: pytest.FixtureRequest) -> bool:
    """Whether this test runs on the ``redis+fallback`` backend."""
    callspec = getattr(request.node, "callspec", None)
    return callspec is not None and callspec.params.get("backend_url") == "redis+fallback"


@pytest.fixture
def make_config(backend_url: str, key_prefix: str, request: pytest.FixtureRequest) -> Any:
    """As the root `make_config`, with ``on_backend_error="fallback"`` on ``redis+fallback``."""
    policy = {"on_backend_error": "fallback"} if with_fallback(request) else {}

    def make(**overrides: Any) -> SessionConfig:
        values: dict[str, Any] = {"url": backend_url, "secret_keys": [SECRET], "key_prefix": key_prefix}
        values.update(policy, **overrides)
        return SessionConfig(**values)

    return make


@pytest.fixture
def backend(backend_url: str, key_prefix: str, request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A look inside the backend, through a redis-py client of the matching kind."""
    client: Any = None
    closing: list[Any] = []
    if backend_url.startswith("redis+cluster"):
        nodes = request.getfixturevalue("redis_cluster").startup_nodes
        startup = [redis.cluster.ClusterNode(h, p) for h, p in nodes]  # type: ignore[no-untyped-call]
        client = redis.cluster.RedisCluster(startup_nodes=startup)
    elif backend_url.startswith("redis+sentinel"):
        topology = request.getfixturevalue("redis_sentinel")
        sentinel = redis.sentinel.Sentinel(topology.sentinel_addresses)  # type: ignore[no-untyped-call]
        client = sentinel.master_for(topology.service)  # type: ignore[no-untyped-call]
        closing = sentinel.sentinels
    elif backend_url.startswith("redis"):
        client = redis.Redis.from_url(backend_url)
    yield Backend(backend_url, key_prefix, client)
    for each in [client, *closing] if client is not None else []:
        each.close()

"""Shared fixtures: one private redis-server per test run, unique key prefixes, store factories."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from redis_sessions import SessionConfig
from redis_sessions.testing import (
    LocalCluster,
    LocalSentinel,
    redis_server,
    running_redis_cluster,
    running_redis_sentinel,
)

SECRET = "test-secret-key-0123456789abcdef"
_prefixes = itertools.count()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of the test run's redis-server; skips (or fails under REQUIRE_REDIS=1) without one."""
    try:
        with redis_server() as url:
            yield url
    except FileNotFoundError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise
        pytest.skip("redis-server not installed")


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def key_prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix no other test uses (tests never FLUSHALL)."""
    return f"t{next(_prefixes)}:"


@pytest.fixture(params=["memory", "redis"])
def backend_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://tests"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
def make_config(backend_url: str, key_prefix: str) -> Any:
    """Build a `SessionConfig` on the parametrized backend with this test's prefix."""

    def make(**overrides: Any) -> SessionConfig:
        values: dict[str, Any] = {"url": backend_url, "secret_keys": [SECRET], "key_prefix": key_prefix}
        values.update(overrides)
        return SessionConfig(**values)

    return make


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """The test run's local Redis Cluster (3 primaries, 3 replicas; `redis_sessions.testing`); skips (or
    fails under REQUIRE_REDIS=1) without redis-server. Tests that fail it over or kill nodes leave it
    healthy (`wait_healthy`) with every node running."""
    try:
        with running_redis_cluster() as cluster:
            yield cluster
    except FileNotFoundError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise
        pytest.skip("redis-server not installed")


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[LocalSentinel]:
    """The test run's local Sentinel set (primary, replica, 3 sentinels; `redis_sessions.testing`); skips
    (or fails under REQUIRE_REDIS=1) without redis-server. Tests that fail it over or kill nodes leave it
    healthy (`wait_healthy`) with every process running."""
    try:
        with running_redis_sentinel() as sentinel:
            yield sentinel
    except FileNotFoundError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise
        pytest.skip("redis-server not installed")

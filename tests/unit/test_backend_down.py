"""Redis out of reach: stores raise BackendUnavailable (never a redis-py error) within the timeouts,
and health() reports ok=False instead of raising. No redis-server needed: the ports are ours.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis

from redis_sessions import (
    AsyncSessionStore,
    BackendUnavailable,
    SessionConfig,
    SessionError,
    SessionStore,
)

pytestmark = pytest.mark.anyio

SESSION_ID = "abcdABCD0123456789-_abcdefg"
LIMIT_S = 2.5  # connect_timeout / command_timeout are 0.5 s: this allows for a retry or two


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A 127.0.0.1 port that refuses connections: bound (so nobody else takes it), not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A 127.0.0.1 port that accepts connections (into the backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


def config(url: str) -> SessionConfig:
    return SessionConfig(
        url=url, secret_keys=["k"], key_prefix="down:", connect_timeout=0.5, command_timeout=0.5
    )


def check_unavailable(exc: BaseException, started: float) -> None:
    assert isinstance(exc, BackendUnavailable)
    assert isinstance(exc, SessionError)
    assert not isinstance(exc, redis.RedisError)
    assert time.monotonic() - started < LIMIT_S


SYNC_CALLS: dict[str, Callable[[SessionStore], Any]] = {
    "create": lambda s: s.create({"a": 1}),
    "get": lambda s: s.get(SESSION_ID),
    "exists": lambda s: s.exists(SESSION_ID),
    "delete": lambda s: s.delete(SESSION_ID),
    "count": lambda s: s.count(),
}
ASYNC_CALLS: dict[str, Callable[[AsyncSessionStore], Awaitable[Any]]] = {
    "create": lambda s: s.create({"a": 1}),
    "get": lambda s: s.get(SESSION_ID),
    "exists": lambda s: s.exists(SESSION_ID),
    "delete": lambda s: s.delete(SESSION_ID),
    "count": lambda s: s.count(),
}


# Every call against a refused port; a few against a silent one (each of those waits 0.5 s).
CASES = [("refused_url", call) for call in SYNC_CALLS] + [
    ("silent_url", "get"),
    ("silent_url", "create"),
]


@pytest.mark.parametrize(("url_fixture", "call"), CASES)
def test_sync_store_raises_backend_unavailable(
    call: str, url_fixture: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(url_fixture)
    with SessionStore(config(url)) as store:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as caught:
            SYNC_CALLS[call](store)
        check_unavailable(caught.value, started)


@pytest.mark.parametrize(("url_fixture", "call"), CASES)
async def test_async_store_raises_backend_unavailable(
    call: str, url_fixture: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(url_fixture)
    async with AsyncSessionStore(config(url)) as store:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as caught:
            await ASYNC_CALLS[call](store)
        check_unavailable(caught.value, started)


@pytest.mark.parametrize("url_fixture", ["refused_url", "silent_url"])
def test_sync_health_reports_not_ok(url_fixture: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(url_fixture)
    with SessionStore(config(url)) as store:
        started = time.monotonic()
        report = store.health()
        assert time.monotonic() - started < LIMIT_S
    assert report.ok is False
    assert report.backend == "redis"
    assert report.detail


@pytest.mark.parametrize("url_fixture", ["refused_url", "silent_url"])
async def test_async_health_reports_not_ok(url_fixture: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(url_fixture)
    async with AsyncSessionStore(config(url)) as store:
        started = time.monotonic()
        report = await store.health()
        assert time.monotonic() - started < LIMIT_S
    assert report.ok is False
    assert report.backend == "redis"
    assert report.detail

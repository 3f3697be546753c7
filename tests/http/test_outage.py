"""Redis unreachable: requests that need it answer 503 (never 500) within the configured timeouts,
the outage is logged once (not per request), anonymous read-only pages keep working, and service
resumes when a server is back.

Each test runs its own redis-server (never the run's shared one) so it can stop or freeze it.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from redis_sessions import AsyncSessionStore, SessionConfig
from redis_sessions.testing import free_port
from tests.http.asgi_site import build_app
from tests.http.driver import Reply, Site, SiteFactory
from tests.http.redis_tools import PrivateRedis, redis_on_port

TIMEOUTS: dict[str, Any] = {"connect_timeout": 0.5, "command_timeout": 0.5}
BOUND = 1.5  # seconds: "about" the 0.5 s timeouts; retries with backoff would take far longer


def error_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "redis_sessions" and r.levelno >= logging.ERROR]


def assert_unavailable(reply: Reply, site: Site) -> None:
    assert reply.status == 503, reply
    assert reply.elapsed < BOUND, f"503 took {reply.elapsed:.2f} s"
    assert reply.cookie(site.cookie_name) is None  # never a cookie on a 503


@pytest.fixture
def private_redis() -> Iterator[tuple[int, ExitStack, PrivateRedis]]:
    port = free_port()
    with ExitStack() as stack:
        server = stack.enter_context(redis_on_port(port))
        yield port, stack, server


def test_stopped_redis_gives_503_within_the_timeouts_and_one_error_line(
    open_redis_site: SiteFactory,
    private_redis: tuple[int, ExitStack, PrivateRedis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, stack, server = private_redis
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    with open_redis_site(url=server.url, **TIMEOUTS) as site:
        cookie = site.new_session_cookie({"k": "v"})
        stack.close()  # stop the server

        for _ in range(3):
            assert_unavailable(site.client.get("/read"), site)
        assert_unavailable(site.client.get("/noop"), site)
        assert_unavailable(site.client.post("/write", {"k": "w"}), site)
        assert site.client.jar_cookie(site.cookie_name) == cookie  # a 503 does not log anyone out

        # Without a cookie, a page that does not write needs no Redis at all.
        anonymous = site.client.get("/noop", cookie_header=b"")
        assert anonymous.status == 200 and anonymous.set_cookies == ()
        # A new session cannot be stored: 503 as well.
        assert_unavailable(site.client.post("/write", {"n": 1}, cookie_header=b""), site)

        errors = error_lines(caplog)
        assert len(errors) == 1, [r.getMessage() for r in errors]

        # Recovery: a server is back on the same address (empty: the old session is gone).
        with redis_on_port(port):
            reply = site.client.get("/read")
            assert reply.status == 200
            assert reply.body == {"data": {}}
            write = site.client.post("/write", {"after": "recovery"})
            assert write.status == 200
            new = write.cookie(site.cookie_name)
            assert new is not None and new.value != cookie
            assert site.client.get("/read").body == {"data": {"after": "recovery"}}
        assert any(
            r.name == "redis_sessions" and r.levelno == logging.WARNING and "again" in r.getMessage()
            for r in caplog.records
        )
        assert len(error_lines(caplog)) == 1


def test_frozen_redis_gives_503_within_the_command_timeout(
    open_redis_site: SiteFactory,
    private_redis: tuple[int, ExitStack, PrivateRedis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that accepts connections but never answers (paused) is caught by command_timeout."""
    _, _, server = private_redis
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    with open_redis_site(url=server.url, **TIMEOUTS) as site:
        site.new_session_cookie({"k": "v"})
        server.process.send_signal(signal.SIGSTOP)
        try:
            for _ in range(2):
                assert_unavailable(site.client.get("/read"), site)
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert len(error_lines(caplog)) == 1
        # Thawed: the same session is served again.
        assert site.client.get("/read").body == {"data": {"k": "v"}}


def test_websocket_with_a_cookie_is_closed_1011_while_redis_is_down(
    private_redis: tuple[int, ExitStack, PrivateRedis],
    redis_config: Callable[..., SessionConfig],
) -> None:
    _, stack, server = private_redis
    store = AsyncSessionStore(redis_config(url=server.url, **TIMEOUTS))
    with TestClient(build_app("starlette", store)) as client:
        assert client.post("/write", json={"k": 1}).status_code == 200
        stack.close()
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws"):
            pass
        assert closed.value.code == 1011


def test_a_full_redis_answers_writes_503_not_500_and_still_serves_reads(
    open_redis_site: SiteFactory,
    private_redis: tuple[int, ExitStack, PrivateRedis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """maxmemory reached under noeviction: Redis answers OOM to every write, which used to be an
    unhandled 500 in all three frameworks (Django's is in tests/django_engine/test_outage.py)."""
    import redis

    _, _, server = private_redis
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    admin = redis.Redis.from_url(server.url)
    try:
        with open_redis_site(url=server.url, **TIMEOUTS) as site:
            site.new_session_cookie({"k": "v"})
            admin.config_set("maxmemory-policy", "noeviction")
            admin.config_set("maxmemory", 1)  # a byte: Redis is over it, so every write is refused

            write = site.client.post("/write", {"more": "x"})
            assert write.status == 503, write
            assert write.cookie(site.cookie_name) is None
            assert site.client.get("/read").body == {"data": {"k": "v"}}  # reads still served
            assert any("OOM" in r.getMessage() for r in error_lines(caplog))
    finally:
        admin.config_set("maxmemory", 0)
        admin.close()


def test_an_open_circuit_breaker_answers_503_at_once_with_retry_after(
    open_redis_site: SiteFactory,
    private_redis: tuple[int, ExitStack, PrivateRedis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Frozen Redis: the first requests wait out command_timeout (Retry-After: 1); after
    `circuit_breaker_threshold` of them the breaker opens and requests get their 503 without waiting,
    with Retry-After saying when the breaker probes again. Thawed, the probe after the cool-down
    closes it: the session is served as before."""
    _, _, server = private_redis
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    breaker: dict[str, Any] = {"circuit_breaker_threshold": 2, "circuit_breaker_cooldown": 3.0}
    with open_redis_site(url=server.url, **TIMEOUTS, **breaker) as site:
        site.new_session_cookie({"k": "v"})
        server.process.send_signal(signal.SIGSTOP)
        try:
            for _ in range(2):
                waited = site.client.get("/read")
                assert_unavailable(waited, site)
                assert waited.elapsed >= 0.4 and waited.retry_after == "1"
            for _ in range(5):
                refused = site.client.get("/read")
                assert_unavailable(refused, site)
                assert refused.elapsed < 0.4, refused.elapsed  # not a command_timeout's wait
                assert refused.retry_after in ("2", "3"), refused.retry_after
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert site.client.get("/read").status == 503  # still cooling down, though Redis is back
        time.sleep(3.1)
        assert site.client.get("/read").body == {"data": {"k": "v"}}
        assert len(error_lines(caplog)) == 1


def test_with_the_fallback_a_frozen_redis_costs_users_nothing(
    open_redis_site: SiteFactory,
    private_redis: tuple[int, ExitStack, PrivateRedis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``on_backend_error="fallback"``: while Redis is frozen the session this process served is
    read and written here (200s, not 503s); once it is back, the change is in Redis."""
    _, _, server = private_redis
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    fallback: dict[str, Any] = {"on_backend_error": "fallback", "circuit_breaker_threshold": 1}
    with open_redis_site(url=server.url, circuit_breaker_cooldown=0.5, **TIMEOUTS, **fallback) as site:
        site.new_session_cookie({"k": "v"})
        assert site.client.get("/read").body == {"data": {"k": "v"}}  # cached on the way
        server.process.send_signal(signal.SIGSTOP)
        try:
            read = site.client.get("/read")  # waits out command_timeout once, then the fallback
            assert read.status == 200 and read.body == {"data": {"k": "v"}}
            wrote = site.client.post("/write", {"during": "outage"})
            assert wrote.status == 200 and wrote.elapsed < 0.4
            assert site.client.get("/read").body == {"data": {"k": "v", "during": "outage"}}
        finally:
            server.process.send_signal(signal.SIGCONT)
        time.sleep(0.6)
        assert site.client.get("/read").body == {"data": {"k": "v", "during": "outage"}}
        session_id = site.session_id()
        assert session_id is not None
        assert site.stored_data(session_id) == {"k": "v", "during": "outage"}
        assert error_lines(caplog) == []  # no 503 was answered

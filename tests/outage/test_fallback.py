"""``on_backend_error="fallback"`` on a real redis-server that the tests freeze (SIGSTOP) and thaw,
sync and async: sessions this process served keep being served while Redis is down, every write made
meanwhile is in Redis once it is back, and nothing deleted in Redis is brought back.

A frozen Redis costs the first call a timeout; the breaker then opens (threshold 1 here) and the
fallback answers at once. After the thaw, the first call once the breaker's cool-down is over writes
the outage's changes back, then Redis serves again.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from redis_sessions import BackendUnavailable
from redis_sessions._layout import KeyLayout
from redis_sessions.testing import RedisServer, running_redis_server
from tests.outage._stores import COOLDOWN, SOME_ID, Caller, config_for

FALLBACK: dict[str, Any] = {"on_backend_error": "fallback", "circuit_breaker_threshold": 1}


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with running_redis_server() as running:
        yield running


def frozen(server: RedisServer) -> Any:
    class Frozen:
        def __enter__(self) -> None:
            server.process.send_signal(signal.SIGSTOP)

        def __exit__(self, *exc: object) -> None:
            server.process.send_signal(signal.SIGCONT)

    return Frozen()


def stored(server: RedisServer, session_id: str) -> bool:
    with redis.Redis.from_url(server.url) as client:
        return bool(client.exists(KeyLayout("session:").session_key(session_id)))


def back_to_redis(caller: Caller) -> None:
    """Wait out the breaker's cool-down; the next call writes the outage's changes back."""
    time.sleep(COOLDOWN + 0.05)
    caller("exists", SOME_ID)
    assert not caller("health").fallback


def test_sessions_live_through_an_outage_and_its_writes_reach_redis(
    server: RedisServer, flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    caller = Caller(config_for(server.url, **FALLBACK), flavour)
    try:
        kept = caller("create", {"cart": ["a"]}, user_id="u1")
        leaving = caller("create", {"x": 1})
        caller("get", leaving.id)
        with frozen(server):
            during = caller("get", kept.id)  # times out, opens the breaker, served from the cache
            assert during is not None and dict(during) == {"cart": ["a"]} and during.user_id == "u1"
            during["cart"] = ["a", "b"]
            assert caller("save", during)
            fresh = caller("create", {"new": True})
            assert caller("delete", leaving.id)  # a logout during the outage
            assert caller("get", SOME_ID) is None  # unknown here: no session
            report = caller("health")
            assert report.fallback and report.fallback_sessions == 2 and not report.ok
        back_to_redis(caller)
        after = caller("get", kept.id)
        assert after is not None and dict(after) == {"cart": ["a", "b"]}
        new_one = caller("get", fresh.id)
        assert new_one is not None and dict(new_one) == {"new": True}
        assert caller("get", leaving.id) is None and not stored(server, leaving.id)
        lines = [r.getMessage() for r in caplog.records if r.name == "redis_sessions"]
        assert sum("serving sessions from this process" in line for line in lines) == 1
        back = [line for line in lines if "reachable again" in line]
        assert len(back) == 1 and "3 writes made meanwhile written back (0 not stored" in back[0], lines
    finally:
        caller.close()


def test_a_session_deleted_in_redis_before_the_write_back_is_not_brought_back(
    server: RedisServer, flavour: str
) -> None:
    caller = Caller(config_for(server.url, **FALLBACK), flavour)
    try:
        revoked = caller("create", {"k": 1})
        with frozen(server):
            during = caller("get", revoked.id)
            assert during is not None
            during["k"] = 2
            assert caller("save", during)  # here only, for now
        with redis.Redis.from_url(server.url) as other_process:
            other_process.delete(KeyLayout("session:").session_key(revoked.id))  # revoked meanwhile
        back_to_redis(caller)
        assert caller("get", revoked.id) is None and not stored(server, revoked.id)
    finally:
        caller.close()


def test_a_regenerate_during_the_outage_moves_the_session_in_redis_too(
    server: RedisServer, flavour: str
) -> None:
    caller = Caller(config_for(server.url, **FALLBACK), flavour)
    try:
        session = caller("create", {"k": 1})
        old_id = session.id
        caller("get", old_id)
        with frozen(server):
            loaded = caller("get", old_id)
            loaded.user_id = "u2"  # a login: bound to a user, under a new id
            moved = caller("regenerate", loaded)
            assert moved.id != old_id and caller("get", old_id) is None
        back_to_redis(caller)
        assert not stored(server, old_id)
        assert dict(caller("get", moved.id)) == {"k": 1}
        assert [s.id for s in caller("sessions_for_user", "u2")] == [moved.id]
    finally:
        caller.close()


def test_a_session_redis_confirmed_too_long_ago_is_not_served(server: RedisServer, flavour: str) -> None:
    caller = Caller(config_for(server.url, fallback_max_staleness=0.3, **FALLBACK), flavour)
    try:
        session = caller("create", {"k": 1})
        time.sleep(0.4)
        with frozen(server):
            assert caller("get", session.id) is None  # may have been revoked in Redis since
    finally:
        caller.close()


def test_what_needs_all_of_redis_is_refused_during_an_outage(server: RedisServer, flavour: str) -> None:
    caller = Caller(config_for(server.url, **FALLBACK), flavour)
    try:
        caller("create", {"k": 1}, user_id="u1")
        with frozen(server):
            for method, args in (("count", ()), ("delete_user_sessions", ("u1",)), ("list_sessions", ())):
                with pytest.raises(BackendUnavailable):
                    caller(method, *args)
    finally:
        caller.close()


def test_a_full_fallback_refuses_new_sessions(server: RedisServer, flavour: str) -> None:
    caller = Caller(config_for(server.url, fallback_max_sessions=2, **FALLBACK), flavour)
    try:
        with frozen(server):
            caller("create", {"n": 1})
            caller("create", {"n": 2})
            with pytest.raises(BackendUnavailable) as refused:
                caller("create", {"n": 3})
            assert refused.value.kind == "fallback full"
    finally:
        caller.close()


def test_a_fallback_whose_log_is_full_refuses_writes_and_keeps_serving_reads(
    server: RedisServer, flavour: str
) -> None:
    caller = Caller(config_for(server.url, fallback_max_bytes=600, **FALLBACK), flavour)
    try:
        session = caller("create", {"k": 1})
        with frozen(server):
            loaded = caller("get", session.id)
            loaded["big"] = "x" * 400
            assert caller("save", loaded)  # 400-odd bytes to write back: fits
            again = caller("get", session.id)
            again["bigger"] = "y" * 400
            with pytest.raises(BackendUnavailable) as refused:
                caller("save", again)  # would take the log over 600 bytes
            assert refused.value.kind == "fallback full"
            assert dict(caller("get", session.id)) == {"k": 1, "big": "x" * 400}  # reads still served
        back_to_redis(caller)
        assert dict(caller("get", session.id)) == {"k": 1, "big": "x" * 400}
    finally:
        caller.close()

"""Redis unreachable, through Django's middleware: "session store reachable again" is logged only
when a round trip of a request's session got an answer (once), never for requests that needed no
Redis; and a request that cannot store its new session is a 503, not a 500."""

from __future__ import annotations

import logging
import signal
import time

import django
import pytest
from django.test import Client

from redis_sessions.integrations.django import get_store
from redis_sessions.testing import running_redis_server
from tests.django_engine.conftest import Settings

pytestmark = pytest.mark.parametrize("backend_url", ["redis"], indirect=True)
TIMEOUTS = {"CONNECT_TIMEOUT": 0.3, "COMMAND_TIMEOUT": 0.3}


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "redis_sessions" and text in r.getMessage()]


def test_reachable_again_is_logged_once_and_only_when_redis_answers(
    engine_settings: Settings, built_stores: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    with running_redis_server() as server, engine_settings(URL=server.url, **TIMEOUTS):
        browser = Client(raise_request_exception=False)
        browser.get("/write/a/1")
        server.process.send_signal(signal.SIGSTOP)  # frozen: connections hang, then time out
        try:
            assert browser.get("/read/a").status_code == 503
            assert len(lines(caplog, "unavailable")) == 1
            anonymous = Client()  # no cookie: these requests need no Redis at all
            for path in ("/read/a", "/untouched", "/whoami", "/messages"):
                assert anonymous.get(path).status_code == 200, path
            assert lines(caplog, "reachable again") == []  # Redis has not answered anything
            assert browser.get("/read/a").status_code == 503
        finally:
            server.process.send_signal(signal.SIGCONT)

        path = "/async/read/a" if django.VERSION >= (5, 0) else "/read/a"
        assert browser.get(path).json() == {"value": 1}
        assert [line.split(" after ")[0] for line in lines(caplog, "reachable again")] == [
            "session store reachable again"
        ]
        assert browser.get("/read/a").json() == {"value": 1}
        assert len(lines(caplog, "reachable again")) == 1
        assert len(lines(caplog, "unavailable")) == 1


def test_a_new_session_that_cannot_be_stored_is_a_503_not_a_500(
    engine_settings: Settings, built_stores: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    with running_redis_server() as server, engine_settings(URL=server.url, **TIMEOUTS):
        client = Client(raise_request_exception=False)
        server.process.send_signal(signal.SIGSTOP)
        try:
            response = client.get("/write/a/1")  # no cookie: creating the session fails
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert response.status_code == 503
        assert response["Retry-After"] == "1"
        assert len(lines(caplog, "unavailable")) == 1


def test_a_full_redis_answers_writes_503_not_500(
    engine_settings: Settings, built_stores: object, caplog: pytest.LogCaptureFixture
) -> None:
    """maxmemory reached under noeviction: Redis answers OOM to every write (an unhandled 500 before)."""
    import redis

    caplog.set_level(logging.WARNING, logger="redis_sessions")
    with running_redis_server() as server, engine_settings(URL=server.url, **TIMEOUTS):
        browser = Client(raise_request_exception=False)
        assert browser.get("/write/a/1").status_code == 200
        admin = redis.Redis.from_url(server.url)
        admin.config_set("maxmemory", 1)  # a byte: Redis is over it, so every write is refused
        admin.close()
        assert browser.get("/write/b/2").status_code == 503
        assert browser.get("/read/a").json() == {"value": 1}  # reads still served
        assert any("OOM" in line for line in lines(caplog, "unavailable"))


def test_an_open_circuit_breaker_answers_503_at_once_with_retry_after(
    engine_settings: Settings, built_stores: object, caplog: pytest.LogCaptureFixture
) -> None:
    breaker = {"CIRCUIT_BREAKER_THRESHOLD": 1, "CIRCUIT_BREAKER_COOLDOWN": 3.0}
    with running_redis_server() as server, engine_settings(URL=server.url, **TIMEOUTS, **breaker):
        browser = Client(raise_request_exception=False)
        browser.get("/write/a/1")
        server.process.send_signal(signal.SIGSTOP)
        try:
            assert browser.get("/read/a").status_code == 503  # times out: the breaker opens
            started = time.monotonic()
            refused = browser.get("/read/a")
            assert time.monotonic() - started < 0.25  # no command_timeout's wait
            assert refused.status_code == 503 and refused["Retry-After"] in ("2", "3")
        finally:
            server.process.send_signal(signal.SIGCONT)
        time.sleep(3.1)
        assert browser.get("/read/a").json() == {"value": 1}
        assert len(lines(caplog, "unavailable")) == 1


def test_the_health_view_follows_redis_and_the_circuit_breaker(
    engine_settings: Settings, built_stores: object
) -> None:
    breaker = {"CIRCUIT_BREAKER_THRESHOLD": 1, "CIRCUIT_BREAKER_COOLDOWN": 30.0}
    with running_redis_server() as server, engine_settings(URL=server.url, **TIMEOUTS, **breaker):
        probe = Client()
        ready = probe.get("/healthz")
        assert ready.status_code == 200 and ready["Content-Type"] == "application/json"
        assert ready.json()["status"] == "ok" and ready.json()["breaker"] == "closed"
        assert not ready.cookies
        server.process.send_signal(signal.SIGSTOP)
        try:
            assert probe.get("/healthz").json()["status"] == "unavailable"  # timed out: breaker opens
            down = probe.get("/healthz")
            assert down.status_code == 503 and down.json()["breaker"] == "open"
        finally:
            server.process.send_signal(signal.SIGCONT)


def test_with_the_fallback_a_frozen_redis_costs_users_nothing(
    engine_settings: Settings, built_stores: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    fallback = {
        "ON_BACKEND_ERROR": "fallback",
        "CIRCUIT_BREAKER_THRESHOLD": 1,
        "CIRCUIT_BREAKER_COOLDOWN": 0.5,
    }
    with running_redis_server() as server, engine_settings(URL=server.url, **TIMEOUTS, **fallback):
        browser = Client(raise_request_exception=False)
        browser.get("/write/a/1")
        assert browser.get("/read/a").json() == {"value": 1}
        server.process.send_signal(signal.SIGSTOP)
        try:
            assert browser.get("/read/a").json() == {"value": 1}  # one timeout, then the fallback
            assert browser.get("/write/b/2").status_code == 200
            assert browser.get("/read/b").json() == {"value": 2}
            assert browser.get("/healthz").json()["status"] == "degraded"
        finally:
            server.process.send_signal(signal.SIGCONT)
        time.sleep(0.6)
        assert browser.get("/read/b").json() == {"value": 2}  # written back, then read from Redis
        health = browser.get("/healthz").json()
        assert (health["status"], health["fallback"]) == ("ok", False)
        assert lines(caplog, "unavailable, answering 503") == []
        assert len(lines(caplog, "serving sessions from this process")) == 1
        assert len(lines(caplog, "reachable again after")) == 1


def test_a_request_meets_an_outage_once(engine_settings: Settings, built_stores: object) -> None:
    """Django reads the session several times in a request (auth middleware, view, response): once
    a read met an outage, the others fail at once instead of each waiting out a timeout."""
    with (
        running_redis_server() as server,
        engine_settings(URL=server.url, CIRCUIT_BREAKER_THRESHOLD=0, **TIMEOUTS),
    ):
        browser = Client(raise_request_exception=False)
        browser.get("/write/a/1")
        store = get_store()
        server.process.send_signal(signal.SIGSTOP)
        try:
            for path in ("/read/a", "/whoami", "/write/b/2"):
                tried = store.round_trips
                assert browser.get(path).status_code == 503
                assert store.round_trips - tried == 1, path
        finally:
            server.process.send_signal(signal.SIGCONT)

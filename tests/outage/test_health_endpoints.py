"""The readiness endpoint of the ASGI middleware (`health_path`) and the Flask extension
(``REDIS_SESSIONS_HEALTH_PATH``), over a private redis-server that the tests freeze (SIGSTOP): 200
with ``"status": "ok"`` while Redis answers, 503 ``"unavailable"`` while it does not (at once, with
``"breaker": "open"``, once the circuit breaker has opened), never a session cookie. Django's view is
tested with the engine's suite (tests/django_engine/test_outage.py)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.testclient import TestClient

from redis_sessions import AsyncSessionStore, SessionConfig
from redis_sessions.integrations.asgi import SessionMiddleware
from redis_sessions.integrations.flask import RedisSessions
from redis_sessions.testing import RedisServer, running_redis_server
from tests.conftest import SECRET
from tests.http.flask_site import flask_config

PATH = "/healthz"
SETTINGS: dict[str, Any] = {
    "connect_timeout": 0.3,
    "command_timeout": 0.3,
    "circuit_breaker_threshold": 1,
    "circuit_breaker_cooldown": 30.0,
}
Get = Callable[[], tuple[int, dict[str, Any], dict[str, str]]]  # status, JSON body, headers


@contextmanager
def asgi_endpoint(config: SessionConfig) -> Iterator[Get]:
    app = Starlette()
    app.add_middleware(SessionMiddleware, store=AsyncSessionStore(config), health_path=PATH)
    with TestClient(app) as client:

        def get() -> tuple[int, dict[str, Any], dict[str, str]]:
            response = client.get(PATH)
            return response.status_code, response.json(), {k.lower(): v for k, v in response.headers.items()}

        yield get


@contextmanager
def flask_endpoint(config: SessionConfig) -> Iterator[Get]:
    app = Flask(__name__)
    app.config.update(flask_config(config), REDIS_SESSIONS_HEALTH_PATH=PATH)
    RedisSessions(app)
    client = app.test_client()

    def get() -> tuple[int, dict[str, Any], dict[str, str]]:
        response = client.get(PATH)
        return (
            response.status_code,
            json.loads(response.get_data()),
            {k.lower(): v for k, v in response.headers.items()},
        )

    yield get


@pytest.fixture(params=["asgi", "flask"])
def endpoint(request: pytest.FixtureRequest) -> Callable[[SessionConfig], Any]:
    return asgi_endpoint if request.param == "asgi" else flask_endpoint


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with running_redis_server() as running:
        yield running


def test_the_health_endpoint_follows_redis_and_the_circuit_breaker(
    endpoint: Callable[[SessionConfig], Any], server: RedisServer
) -> None:
    config = SessionConfig(url=server.url, secret_keys=[SECRET], **SETTINGS)
    with endpoint(config) as get:
        status, body, headers = get()
        assert status == 200, body
        assert body["status"] == "ok" and body["backend"] == "redis" and body["breaker"] == "closed"
        assert isinstance(body["latency_ms"], float) and body["latency_ms"] >= 0
        assert set(body) == {"status", "backend", "latency_ms", "breaker"}  # no detail: hosts, errors
        assert headers["content-type"].startswith("application/json")
        assert "set-cookie" not in {name.lower() for name in headers}
        server.process.send_signal(signal.SIGSTOP)
        try:
            status, body, _ = get()  # times out, and opens the breaker (threshold 1)
            assert (status, body["status"], body["latency_ms"]) == (503, "unavailable", None)
            started = time.monotonic()
            status, body, _ = get()
            assert time.monotonic() - started < 0.25  # refused by the open breaker, no timeout
            assert (status, body["status"], body["breaker"]) == (503, "unavailable", "open")
        finally:
            server.process.send_signal(signal.SIGCONT)


def test_the_health_endpoint_is_off_by_default(server: RedisServer) -> None:
    config = SessionConfig(url=server.url, secret_keys=[SECRET])
    app = Starlette()
    app.add_middleware(SessionMiddleware, store=AsyncSessionStore(config))
    with TestClient(app) as client:
        assert client.get(PATH).status_code == 404
    flask_app = Flask(__name__)
    flask_app.config.update(flask_config(config))
    RedisSessions(flask_app)
    assert flask_app.test_client().get(PATH).status_code == 404

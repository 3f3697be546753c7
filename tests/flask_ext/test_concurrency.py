"""Interleaved requests on one session over real HTTP: a threaded Werkzeug server, httpx clients in
threads, and a view that holds after Flask opened the session until the test lets it go on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from flask import Flask, jsonify, request, session
from werkzeug.serving import make_server

from redis_sessions import SessionIdSigner
from redis_sessions.integrations.flask import clear_session, get_store
from tests.conftest import SECRET
from tests.flask_ext.conftest import AppFactory

WAIT = 5.0  # seconds: a bound for a stuck interleaving, never a speed assertion


class Gates:
    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}

    def __call__(self, name: str) -> threading.Event:
        return self._events.setdefault(name, threading.Event())


@pytest.fixture
def served(make_app: AppFactory) -> Iterator[tuple[Flask, str, Gates]]:
    app = make_app()
    gates = Gates()

    @app.post("/slow/<name>")
    def slow(name: str) -> Any:
        gates(f"{name}:arrived").set()
        assert gates(f"{name}:go").wait(WAIT)
        session.update(request.get_json())
        return jsonify(ok=True)

    @app.post("/signout")
    def signout() -> Any:
        clear_session()
        return jsonify(ok=True)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", gates
    finally:
        server.shutdown()
        thread.join(WAIT)


@pytest.fixture
def browser(served: tuple[Flask, str, Gates]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[1], timeout=WAIT) as client:
        yield client


def _seeded(client: httpx.Client) -> tuple[httpx.Client, str]:
    assert client.get("/write/seed/0").status_code == 200
    cookie = client.cookies["session"]
    return client, cookie


def _start(
    pool: ThreadPoolExecutor, client: httpx.Client, gates: Gates, name: str, body: dict[str, Any]
) -> Future[httpx.Response]:
    future = pool.submit(client.post, f"/slow/{name}", json=body)
    assert gates(f"{name}:arrived").wait(WAIT)
    return future


def test_concurrent_requests_changing_different_keys_both_keep_their_change(
    served: tuple[Flask, str, Gates], browser: httpx.Client
) -> None:
    app, _, gates = served
    client, cookie = _seeded(browser)
    with ThreadPoolExecutor(2) as pool:
        first = _start(pool, client, gates, "first", {"a": 1})
        second = _start(pool, client, gates, "second", {"b": 2})
        gates("second:go").set()
        assert second.result(WAIT).status_code == 200
        gates("first:go").set()
        assert first.result(WAIT).status_code == 200
    session_id = SessionIdSigner([SECRET]).unsign(cookie)
    assert session_id is not None
    stored = get_store(app).get(session_id)
    assert stored is not None and dict(stored) == {"seed": "0", "a": 1, "b": 2}


def test_logout_survives_a_slower_request_in_flight(
    served: tuple[Flask, str, Gates], browser: httpx.Client
) -> None:
    app, _, gates = served
    client, cookie = _seeded(browser)
    session_id = SessionIdSigner([SECRET]).unsign(cookie)
    assert session_id is not None
    with ThreadPoolExecutor(1) as pool:
        slow = _start(pool, client, gates, "slow", {"late": True})
        assert client.post("/signout").status_code == 200
        assert not get_store(app).exists(session_id)
        gates("slow:go").set()
        reply = slow.result(WAIT)
    assert reply.status_code == 200
    assert "set-cookie" not in reply.headers  # no cookie brings the old id back
    assert not get_store(app).exists(session_id)  # and nothing was stored under it
    assert get_store(app).count() == 0

"""The scenario app for Flask (`RedisSessions`), and the Werkzeug test client driver.

The app reads its settings the way a Flask user writes them: the `SessionConfig` of a scenario is
turned into ``SECRET_KEY``, ``SESSION_COOKIE_*`` and ``REDIS_SESSIONS_*`` config keys. Sessions are
permanent by default (``REDIS_SESSIONS_PERMANENT``), so the cookie carries ``Max-Age`` as the
other integrations' do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, jsonify, request, session
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from redis_sessions import SessionConfig, SessionStore
from redis_sessions.integrations.flask import (
    RedisSessions,
    clear_session,
    get_session,
    get_store,
    regenerate_session,
)
from tests.http.driver import Reply, Site, iter_set_cookie

SERVER_NAME = "testserver.local"  # the Domain the jar files cookies under (as Starlette's client)


def flask_config(config: SessionConfig) -> dict[str, Any]:
    """The Flask config keys that give `RedisSessions` exactly `config`."""
    first, *fallbacks = config.secret_keys
    return {
        "SECRET_KEY": first,
        "SECRET_KEY_FALLBACKS": fallbacks,
        "SESSION_COOKIE_NAME": config.cookie_name,
        "SESSION_COOKIE_PATH": config.cookie_path,
        "SESSION_COOKIE_DOMAIN": config.cookie_domain,
        "SESSION_COOKIE_SECURE": config.cookie_secure,
        "SESSION_COOKIE_HTTPONLY": config.cookie_httponly,
        "SESSION_COOKIE_SAMESITE": config.cookie_samesite.capitalize(),
        "REDIS_SESSIONS_URL": config.url,
        "REDIS_SESSIONS_KEY_PREFIX": config.key_prefix,
        "REDIS_SESSIONS_TTL": config.ttl,
        "REDIS_SESSIONS_ABSOLUTE_TTL": config.absolute_ttl,
        "REDIS_SESSIONS_MAX_SIZE": config.max_size,
        "REDIS_SESSIONS_CONNECT_TIMEOUT": config.connect_timeout,
        "REDIS_SESSIONS_COMMAND_TIMEOUT": config.command_timeout,
        "REDIS_SESSIONS_CIRCUIT_BREAKER_THRESHOLD": config.circuit_breaker_threshold,
        "REDIS_SESSIONS_CIRCUIT_BREAKER_COOLDOWN": config.circuit_breaker_cooldown,
        "REDIS_SESSIONS_ON_BACKEND_ERROR": config.on_backend_error,
        "REDIS_SESSIONS_FALLBACK_MAX_STALENESS": config.fallback_max_staleness,
        "REDIS_SESSIONS_OBSERVER": config.observer,
        "REDIS_SESSIONS_PERMANENT": True,
    }


def build_app(config: SessionConfig, clock: Callable[[], int] | None = None) -> Flask:
    """The scenario routes of `tests.http.driver` on Flask, with `RedisSessions` from `config`."""
    app = Flask(__name__)
    app.config.update(flask_config(config))
    RedisSessions(app)
    if clock is not None:
        get_store(app)._core.now_ms = clock

    def data() -> Any:
        return jsonify(data=dict(session))

    @app.get("/read")
    def read() -> Any:
        return data()

    @app.get("/noop")
    def noop() -> Any:
        return jsonify(ok=True)

    @app.get("/whoami")
    def whoami() -> Any:
        current = get_session()
        return jsonify(id=current.id, user_id=current.user_id, is_new=current.is_new)

    @app.post("/write")
    def write() -> Any:
        session.update(request.get_json())
        return data()

    @app.post("/remove")
    def remove() -> Any:
        for key in request.get_json():
            del session[key]
        return data()

    @app.post("/empty")
    def empty() -> Any:
        for key in list(session):
            del session[key]
        return data()

    @app.post("/logout")
    def logout() -> Any:
        clear_session()
        return data()

    @app.post("/regenerate")
    def regenerate() -> Any:
        regenerate_session()
        return data()

    @app.post("/login")
    def login() -> Any:
        regenerate_session().user_id = request.get_json()["user"]
        return data()

    @app.post("/bind")
    def bind() -> Any:
        get_session().user_id = request.get_json()["user"]
        return data()

    return app


class FlaskDriver:
    """`ClientDriver` over Flask's test client (Werkzeug's, with its cookie jar)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self._bare: FlaskClient = app.test_client(use_cookies=False)  # for hand-made Cookie headers

    def _call(self, method: str, path: str, json: Any, cookie_header: bytes | None) -> Reply:
        client = self.client if cookie_header is None else self._bare
        headers = {} if cookie_header is None else {"Cookie": cookie_header.decode("latin-1")}
        started = time.monotonic()
        response: TestResponse = client.open(
            path, method=method, json=json, headers=headers, base_url=f"http://{SERVER_NAME}"
        )
        elapsed = time.monotonic() - started
        try:
            body: Any = response.get_json(silent=False) if response.is_json else response.get_data(True)
        finally:
            response.close()
        cookies = iter_set_cookie(iter(response.headers.getlist("Set-Cookie")))
        vary, retry_after = response.headers.get("Vary"), response.headers.get("Retry-After")
        return Reply(response.status_code, body, cookies, elapsed, vary, retry_after)

    def get(self, path: str, *, cookie_header: bytes | None = None) -> Reply:
        return self._call("GET", path, None, cookie_header)

    def post(self, path: str, json: Any = None, *, cookie_header: bytes | None = None) -> Reply:
        return self._call("POST", path, json, cookie_header)

    def jar_cookie(self, name: str) -> str | None:
        cookie = self.client.get_cookie(name, domain=SERVER_NAME)
        return None if cookie is None else cookie.value

    def set_jar_cookie(self, name: str, value: str) -> None:
        self.clear_jar()
        self.client.set_cookie(name, value, domain=SERVER_NAME, path="/")

    def clear_jar(self) -> None:
        jar = self.client._cookies
        assert jar is not None
        jar.clear()


@contextmanager
def open_flask_site(config: SessionConfig, clock: Callable[[], int] | None = None) -> Iterator[Site]:
    """Serve the scenario app on Flask through its test client."""
    app = build_app(config, clock)
    store = get_store(app)
    with SessionStore(config) as inspector:
        try:
            yield Site(FlaskDriver(app), config, lambda: store.round_trips, inspector)
        finally:
            store.close()

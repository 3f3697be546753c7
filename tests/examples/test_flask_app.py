"""The Flask example app, driven like a browser: over real HTTP (werkzeug's server in a thread)
against Redis, at the site root and mounted under ``/flask``, and next to the ASGI example."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server

from example_apps import asgi_app, flask_app
from example_apps.flask_app import create_app
from redis_sessions import SessionConfig, SessionStore
from redis_sessions.integrations.flask import get_store
from tests.conftest import SECRET
from tests.examples._shop import SIGNER, Browser, browsers, log_in, rows, served_by, session_id


def links(page: httpx.Response) -> list[str]:
    """Every link and form action of a page."""
    return re.findall(r"""(?:href|action)=["']([^"']*)["']""", page.text)


@pytest.fixture
def store(redis_url: str, key_prefix: str) -> Iterator[SessionStore]:
    with SessionStore(SessionConfig(url=redis_url, secret_keys=[SECRET], key_prefix=key_prefix)) as store:
        yield store


@pytest.fixture
def app(redis_url: str, key_prefix: str) -> Iterator[Flask]:
    """The example app on the test run's Redis, with this test's key prefix and the tests' secret."""
    app = create_app(
        {
            "SECRET_KEY": SECRET,
            "SECRET_KEY_FALLBACKS": [],
            "REDIS_SESSIONS_URL": redis_url,
            "REDIS_SESSIONS_KEY_PREFIX": key_prefix,
        }
    )
    yield app
    get_store(app).close()


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # no line per request in the test output


@pytest.fixture(params=["", "/flask"], ids=["at-root", "under-flask"])
def mount(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def flask_url(app: Flask, mount: str) -> Iterator[str]:
    """Serve `app` with werkzeug in a thread on a free 127.0.0.1 port, at `mount` (404 elsewhere)."""
    wsgi = DispatcherMiddleware(NotFound(), {mount: app}) if mount else app
    server = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{mount}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture
def flask_browser(flask_url: str) -> Iterator[Browser]:
    """Make httpx clients on the Flask app, one cookie jar each (one per device), closed afterwards."""
    with browsers(flask_url) as make:
        yield make


@pytest.mark.slow
def test_login_cart_sessions_revoke_logout(flask_browser: Browser, store: SessionStore, mount: str) -> None:
    laptop = flask_browser()
    page = laptop.get("/")
    assert page.status_code == 200 and "Log in" in page.text and served_by(page) == "Flask"
    assert "set-cookie" not in page.headers  # reading creates nothing
    laptop.post("/cart/add", data={"item": "apple"})
    anonymous = session_id(laptop)
    assert anonymous is not None and store.get(anonymous) is not None

    page = log_in(laptop, "alice")
    first = session_id(laptop)
    assert first is not None and first != anonymous  # a fresh id at login
    assert not store.exists(anonymous)
    assert page.url.path == f"{mount}/" and "Max-Age=" in page.history[0].headers["set-cookie"]
    assert "Logged in as <b>alice</b>" in page.text and "apple &times; 1" in page.text  # the cart moved over
    assert links(page) and all(link.startswith(f"{mount}/") for link in links(page))

    laptop.post("/cart/add", data={"item": "coffee"})
    page = laptop.post("/cart/add", data={"item": "coffee"})
    assert "apple &times; 1" in page.text and "coffee &times; 2" in page.text
    page = laptop.post("/cart/remove", data={"item": "apple"})
    assert "apple &times;" not in page.text and "coffee &times; 2" in page.text
    assert "coffee &times; 2" in laptop.get("/").text
    saved = store.get(first)  # in Redis, as the ASGI app keeps it
    assert saved is not None and saved.user_id == "alice" and saved["cart"] == {"coffee": 2}

    phone = flask_browser()
    log_in(phone, "alice")
    second = session_id(phone)
    assert second is not None and second != first
    page = laptop.get("/sessions")
    assert rows(page) == 2 and page.text.count("(this device)") == 1 and served_by(page) == "Flask"
    assert first[:8] in page.text and second[:8] in page.text
    assert first not in page.text and second not in page.text  # id prefixes only
    assert all(link.startswith(f"{mount}/") for link in links(page))

    page = laptop.post("/sessions/revoke", data={"session": second[:8]})
    assert page.url.path == f"{mount}/sessions" and rows(page) == 1 and "Revoked 1 session(s)" in page.text
    assert not store.exists(second)
    assert "Not logged in" in phone.get("/").text
    assert phone.get("/sessions").url.path == f"{mount}/"
    assert "Logged in as <b>alice</b>" in laptop.get("/").text

    page = laptop.post("/logout")
    assert page.url.path == f"{mount}/" and "Not logged in" in page.text
    assert "Max-Age=0" in page.history[0].headers["set-cookie"] and "session" not in laptop.cookies
    assert store.sessions_for_user("alice") == [] and not store.exists(first)


@pytest.mark.slow
def test_log_out_all_other_sessions(flask_browser: Browser, store: SessionStore) -> None:
    devices = [flask_browser() for _ in range(3)]
    for device in devices:
        log_in(device, "bob")
    log_in(flask_browser(), "carol")
    page = devices[0].post("/sessions/revoke-others")
    assert "Revoked 2 session(s)" in page.text and rows(page) == 1
    assert ["Not logged in" in d.get("/").text for d in devices] == [False, True, True]
    assert [s.id for s in store.sessions_for_user("bob")] == [session_id(devices[0])]
    assert len(store.sessions_for_user("carol")) == 1


@pytest.mark.slow
def test_revoking_the_current_session_logs_out(flask_browser: Browser, store: SessionStore) -> None:
    client = flask_browser()
    log_in(client, "dora")
    own = session_id(client)
    assert own is not None
    assert client.post("/sessions/revoke", data={"session": "nope"}).status_code == 404
    assert client.post("/sessions/revoke", data={"session": ""}).status_code == 404
    page = client.post("/sessions/revoke", data={"session": own[:8]})
    assert "Not logged in" in page.text and session_id(client) is None and not store.exists(own)


@pytest.mark.slow
def test_bad_input_is_refused(flask_browser: Browser, store: SessionStore) -> None:
    client = flask_browser()
    assert client.post("/cart/add", data={"item": "caviar"}).status_code == 400
    assert client.post("/login", data={"username": " "}).status_code == 400
    assert client.post("/login", data={"username": "x" * 41}).status_code == 400
    assert client.get("/login").status_code == 405  # state changes are POST only
    assert "session" not in client.cookies  # nothing was stored for all that
    for path in ("/sessions/revoke", "/sessions/revoke-others"):  # anonymous: nothing to revoke
        assert client.post(path, data={"session": "x"}).url.path.endswith("/")
    client.post("/cart/add", data={"item": "tea"})
    removed = client.post("/cart/remove", data={"item": "tea"})
    assert "Max-Age=0" in removed.history[0].headers["set-cookie"]  # the emptied session is deleted


@pytest.mark.slow
def test_a_tampered_cookie_is_no_session(flask_browser: Browser, store: SessionStore) -> None:
    alice = flask_browser()
    alice.post("/cart/add", data={"item": "tea"})
    before_login = alice.cookies["session"]
    log_in(alice, "alice")
    genuine = alice.cookies["session"]
    own = session_id(alice)
    assert own is not None
    unknown = SIGNER.sign(own[:-1] + ("A" if own[-1] != "A" else "B"))  # well signed, never issued
    flipped = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")  # signature broken
    forged_id = ("A" if genuine[0] != "A" else "B") + genuine[1:]  # id changed under its signature
    for value in (flipped, forged_id, unknown, before_login, "garbage", "a.b.c", "%00", '"', "x" * 5000):
        mallory = flask_browser()
        mallory.cookies.set("session", value, domain="127.0.0.1")  # as the server sets it: one jar entry
        page = mallory.get("/")
        assert page.status_code == 200 and "Not logged in" in page.text, value
        assert "tea &times;" not in page.text  # neither alice's cart nor her login
        assert mallory.get("/sessions").url.path.endswith("/")
        page = mallory.post("/cart/add", data={"item": "apple"})
        assert page.status_code == 200 and "apple &times; 1" in page.text
        fresh = session_id(mallory)
        assert fresh is not None and fresh != own  # a new session of its own, never the forged one
    with httpx.Client(timeout=5) as raw:  # bytes no encoding names, as a broken client may send
        page = raw.get(f"{alice.base_url}", headers={b"Cookie": b"session=\xe9\xff; x=\x80"})
        assert page.status_code == 200 and "Not logged in" in page.text
    assert "Logged in as <b>alice</b>" in alice.get("/").text and [
        s.id for s in store.sessions_for_user("alice")
    ] == [own]


@pytest.mark.slow
@pytest.mark.parametrize("mount", ["/flask"], indirect=True)
def test_one_login_for_the_flask_and_the_asgi_apps(
    flask_url: str, live_url: str, store: SessionStore, example_config: SessionConfig
) -> None:
    """Same Redis, secret and prefix: one browser (cookies are per host, not per port) is one user
    on both, as in the shared demo (ASGI at /, Flask at /flask)."""
    assert (example_config.url, example_config.key_prefix) == (store.config.url, store.config.key_prefix)
    with httpx.Client(follow_redirects=True, timeout=5) as browser:
        browser.post(f"{live_url}/cart/add", data={"item": "bread"})
        page = browser.post(f"{flask_url}/cart/add", data={"item": "bread"})
        assert "bread &times; 2" in page.text and "Max-Age=" in page.history[0].headers["set-cookie"]
        page = browser.post(f"{flask_url}/login", data={"username": "erin"})
        assert "Logged in as <b>erin</b>" in page.text
        page = browser.post(f"{live_url}/cart/add", data={"item": "bread"})
        assert "Logged in as <b>erin</b>" in page.text and "bread &times; 3" in page.text
        assert "bread &times; 3" in browser.get(f"{flask_url}/").text
        [stored] = store.sessions_for_user("erin")
        assert dict(stored) == {"cart": {"bread": 3}, "device": browser.headers["user-agent"]}  # no more
        page = browser.get(f"{live_url}/sessions")
        assert rows(page) == 1 and "(this device)" in page.text and "python-httpx" in page.text
        browser.post(f"{live_url}/logout")
        assert "Not logged in" in browser.get(f"{flask_url}/").text
        assert store.sessions_for_user("erin") == []


ENVIRONMENTS: list[dict[str, str]] = [
    {},
    {"SESSION_SECRET_KEYS": "new-key, old-key", "REDIS_URL": "redis://10.1.2.3:6380/2"},
    {"REDIS_URL": "redis://10.1.2.3:6380/2", "USE_REDIS_SESSIONS": "false", "SESSION_KEY_PREFIX": "demo:"},
    {"SESSION_TTL": "600", "SESSION_ABSOLUTE_TTL": "3600", "SESSION_COOKIE_NAME": "sid"},
    {"SESSION_COOKIE_SECURE": "true", "SESSION_COOKIE_SAMESITE": "strict", "SESSION_COOKIE_PATH": "/shop"},
]


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda env: ",".join(env) or "unset")
def test_settings_from_the_environment_as_the_asgi_app_reads_them(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("REDIS_URL", "USE_REDIS_SESSIONS", "SESSION_SECRET_KEYS", "SESSION_KEY_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    try:
        assert get_store(app).config == asgi_app.config_from_env()  # same store, same cookie
    finally:
        get_store(app).close()
    warned = "public demo secret" in capsys.readouterr().err
    assert warned is ("SESSION_SECRET_KEYS" not in env)
    settings: dict[str, Any] = flask_app.settings_from_env()
    if "SESSION_SECRET_KEYS" in env:
        assert (settings["SECRET_KEY"], settings["SECRET_KEY_FALLBACKS"]) == ("new-key", ["old-key"])
    else:
        assert (settings["SECRET_KEY"], settings["SECRET_KEY_FALLBACKS"]) == (asgi_app.DEMO_SECRET, [])


def test_config_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEYS", "from-env")
    app = create_app({"SECRET_KEY": "from-overrides", "REDIS_SESSIONS_URL": "memory://overrides"})
    try:
        config = get_store(app).config
        assert config.secret_keys == ("from-overrides",) and config.url == "memory://overrides"
    finally:
        get_store(app).close()

"""The ASGI example app, driven like a browser: over real HTTP against Redis, and in memory."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from example_apps.asgi_app import create_app
from redis_sessions import SessionConfig, SessionStore
from tests.conftest import SECRET
from tests.examples._shop import Browser, browsers, log_in, rows, served_by, session_id
from tests.examples.conftest import serving


@pytest.fixture
def store(example_config: SessionConfig) -> Iterator[SessionStore]:
    with SessionStore(example_config) as store:
        yield store


@pytest.mark.slow
def test_login_cart_sessions_revoke_logout(browser: Browser, store: SessionStore) -> None:
    laptop = browser()
    page = laptop.get("/")
    assert "Log in" in page.text and "set-cookie" not in page.headers  # reading creates nothing
    assert served_by(page) == "FastAPI"
    laptop.post("/cart/add", data={"item": "apple"})
    anonymous = session_id(laptop)
    assert anonymous is not None

    page = log_in(laptop, "alice")
    first = session_id(laptop)
    assert first is not None and first != anonymous  # a fresh id at login
    assert not store.exists(anonymous)
    assert "Logged in as <b>alice</b>" in page.text and "apple &times; 1" in page.text  # the cart moved over

    laptop.post("/cart/add", data={"item": "coffee"})
    page = laptop.post("/cart/add", data={"item": "coffee"})
    assert "apple &times; 1" in page.text and "coffee &times; 2" in page.text
    page = laptop.post("/cart/remove", data={"item": "apple"})
    assert "apple &times;" not in page.text and "coffee &times; 2" in page.text

    phone = browser()
    log_in(phone, "alice")
    second = session_id(phone)
    assert second is not None
    page = laptop.get("/sessions")
    assert rows(page) == 2 and page.text.count("(this device)") == 1 and served_by(page) == "FastAPI"
    assert first[:8] in page.text and second[:8] in page.text
    assert first not in page.text and second not in page.text  # id prefixes only

    page = laptop.post("/sessions/revoke", data={"session": second[:8]})
    assert page.url.path == "/sessions" and rows(page) == 1 and "Revoked 1 session(s)" in page.text
    assert "Not logged in" in phone.get("/").text
    assert phone.get("/sessions").url.path == "/"
    assert "Logged in as <b>alice</b>" in laptop.get("/").text

    page = laptop.post("/logout")
    assert "Not logged in" in page.text and "session" not in laptop.cookies
    assert store.sessions_for_user("alice") == [] and not store.exists(first)


@pytest.mark.slow
def test_log_out_all_other_sessions(browser: Browser, store: SessionStore) -> None:
    devices = [browser() for _ in range(3)]
    for device in devices:
        log_in(device, "bob")
    log_in(browser(), "carol")
    page = devices[0].post("/sessions/revoke-others")
    assert "Revoked 2 session(s)" in page.text and rows(page) == 1
    assert ["Not logged in" in d.get("/").text for d in devices] == [False, True, True]
    assert [s.id for s in store.sessions_for_user("bob")] == [session_id(devices[0])]
    assert len(store.sessions_for_user("carol")) == 1


def test_in_memory_with_test_client(key_prefix: str) -> None:
    config = SessionConfig(url="memory://examples", secret_keys=[SECRET], key_prefix=key_prefix)
    with TestClient(create_app(config)) as client:
        assert "set-cookie" not in client.get("/").headers
        assert client.post("/cart/add", data={"item": "tea"}).history[0].headers["set-cookie"]
        removed = client.post("/cart/remove", data={"item": "tea"}, follow_redirects=False)
        assert "Max-Age=0" in removed.headers["set-cookie"]  # the emptied session is deleted
        assert client.post("/cart/add", data={"item": "caviar"}).status_code == 400
        assert client.post("/login", data={"username": " "}).status_code == 400

        assert "Logged in as <b>dora</b>" in client.post("/login", data={"username": "dora"}).text
        page = client.get("/sessions")
        assert rows(page) == 1 and "(this device)" in page.text
        assert client.post("/sessions/revoke", data={"session": "nope"}).status_code == 404
        own = session_id(client)
        assert own is not None
        page = client.post("/sessions/revoke", data={"session": own[:8]})
        assert "Not logged in" in page.text and session_id(client) is None


@pytest.mark.slow
def test_open_pages_close_when_their_user_logs_out_everywhere(example_config: SessionConfig) -> None:
    """Two processes (two app instances, each with its own store and event subscription): a page
    streaming from one ends when the user logs out everywhere on the other."""
    from example_apps.asgi_app import create_app

    config = example_config.replace(publish_events=True)
    with (
        serving(create_app(config)) as first,
        serving(create_app(config)) as second,
        browsers(first) as on_first,
        browsers(second) as on_second,
    ):
        laptop, phone = on_first(), on_second()
        log_in(laptop, "alice")
        log_in(phone, "alice")
        with laptop.stream("GET", "/live") as stream:
            lines = stream.iter_lines()
            assert next(lines) == "event: hello"
            started = time.monotonic()
            revoked = phone.post("/sessions/revoke-others")
            assert revoked.status_code == 200
            rest = [line for line in lines if line]
        assert rest[-2:] == ["event: logout", "data: logged out everywhere"]
        assert time.monotonic() - started < 3
        assert laptop.get("/").text.count("Log in") >= 1  # and the laptop's session is gone

"""The ASGI example app, driven like a browser: over real HTTP against Redis, and in memory."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from example_apps.asgi_app import create_app
from redis_sessions import SessionConfig, SessionStore
from tests.conftest import SECRET
from tests.examples._shop import Browser, log_in, rows, session_id

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(example_config: SessionConfig) -> Iterator[SessionStore]:
    with SessionStore(example_config) as store:
        yield store


@pytest.mark.slow
def test_login_cart_sessions_revoke_logout(browser: Browser, store: SessionStore) -> None:
    laptop = browser()
    page = laptop.get("/")
    assert "Log in" in page.text and "set-cookie" not in page.headers  # reading creates nothing
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
    assert rows(page) == 2 and page.text.count("(this device)") == 1
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["REDIS_URL", "private redis-server", "memory fallback"])
def test_demo_server_picks_a_backend(backend: str, request: pytest.FixtureRequest, key_prefix: str) -> None:
    """`python example_apps/serve.py`, which scripts/demo.sh runs after set-up."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "SESSION_", "USE_REDIS"))}
    env.update(PORT=str(port), SESSION_KEY_PREFIX=key_prefix)
    expected = {"private redis-server": "a private redis-server at redis://", "memory fallback": "memory://"}
    if backend == "REDIS_URL":
        env["REDIS_URL"] = url = request.getfixturevalue("redis_url")
        expected[backend] = f"Redis at {url} (REDIS_URL)"
    elif backend == "private redis-server":
        request.getfixturevalue("redis_url")  # skips (fails under REQUIRE_REDIS=1) without redis-server
    else:
        env["PATH"] = str(Path(sys.executable).parent)  # no redis-server there
    proc = subprocess.Popen(
        [sys.executable, "example_apps/serve.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"demo: sessions in {expected[backend]}" in line and f"open http://127.0.0.1:{port}/" in line
        page = _post_when_up(f"http://127.0.0.1:{port}/cart/add", {"item": "tea"})
        assert page.status_code == 303 and "set-cookie" in page.headers
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode in (0, 128 + signal.SIGTERM) and "public demo secret" in stderr
    if backend == "REDIS_URL":
        client = request.getfixturevalue("redis_client")
        assert next(client.scan_iter(f"{key_prefix}*"), None) is not None  # the cart went there
    if match := re.search(r"private redis-server at redis://127\.0\.0\.1:(\d+)", line):
        with pytest.raises(OSError):  # it stopped with the demo
            socket.create_connection(("127.0.0.1", int(match[1])), timeout=1).close()


def _post_when_up(url: str, data: dict[str, str]) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:
        try:
            return httpx.post(url, data=data)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

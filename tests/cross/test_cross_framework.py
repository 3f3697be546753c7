"""One browser session (one cookie jar) walked through ASGI, Flask and Django in turn, over real
HTTP against real Redis: each reads what the others wrote and writes for them, under one id.

The three apps are one ASGI app (`tests.cross.site`) served by uvicorn in a subprocess.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from redis_sessions import SessionConfig, SessionIdSigner, SessionStore
from tests.served import uvicorn_process

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SECRET = "cross-framework-test-secret-0123456789"
FRAMEWORKS = ("asgi", "flask", "django")


@pytest.fixture(scope="module")
def served(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SessionStore]]:
    prefix = f"cross{os.getpid()}:"
    log = tmp_path_factory.mktemp("cross") / "uvicorn.log"
    env = {**os.environ, "CROSS_REDIS_URL": redis_url, "CROSS_KEY_PREFIX": prefix, "CROSS_SECRET": SECRET}
    config = SessionConfig(url=redis_url, secret_keys=[SECRET], key_prefix=prefix)
    with (
        uvicorn_process("tests.cross.site:app", env, log, "/asgi/read") as url,
        SessionStore(config) as store,
    ):
        yield url, store


@pytest.fixture
def browser(served: tuple[str, SessionStore]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0], timeout=5) as client:
        yield client


def read(browser: httpx.Client, framework: str) -> dict[str, Any]:
    response = browser.get(f"/{framework}/read")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def write(browser: httpx.Client, framework: str, data: dict[str, Any]) -> httpx.Response:
    response = browser.post(f"/{framework}/write", json=data)
    assert response.status_code == 200, response.text
    return response


def jar_id(browser: httpx.Client) -> str | None:
    value = browser.cookies.get("session")
    return None if value is None else SessionIdSigner([SECRET]).unsign(value)


@pytest.mark.parametrize("order", [FRAMEWORKS, FRAMEWORKS[::-1], ("flask", "asgi", "django")], ids="-".join)
def test_a_session_is_read_and_written_by_all_three_under_one_id(
    browser: httpx.Client, order: tuple[str, ...]
) -> None:
    expected: dict[str, Any] = {}
    session_id = None
    for framework in order + order:  # twice round: each reads what every other one wrote
        assert read(browser, framework)["data"] == expected
        change = {framework: len(expected), "nested": {"by": framework, "items": [1, 2.5, "three", None]}}
        response = write(browser, framework, change)
        expected.update(change)
        assert response.json()["data"] == expected
        if session_id is None:
            session_id = jar_id(browser)
            assert session_id is not None
        assert jar_id(browser) == session_id  # no framework changes the id
        cookie = response.headers.get("set-cookie", "")
        assert "Max-Age=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        assert read(browser, framework)["id"] == session_id


@pytest.mark.parametrize("login_on", FRAMEWORKS)
def test_login_anywhere_is_seen_everywhere_and_logout_anywhere_ends_it(
    served: tuple[str, SessionStore], browser: httpx.Client, login_on: str
) -> None:
    _, store = served
    write(browser, "asgi", {"cart": ["tea"]})
    anonymous = jar_id(browser)
    assert browser.post(f"/{login_on}/login", json={"user": f"user-{login_on}"}).status_code == 200
    logged_in = jar_id(browser)
    assert logged_in is not None and logged_in != anonymous  # a fresh id at login, everywhere
    assert anonymous is not None and not store.exists(anonymous)
    for framework in FRAMEWORKS:
        seen = read(browser, framework)
        assert (seen["id"], seen["user_id"], seen["data"]) == (
            logged_in,
            f"user-{login_on}",
            {"cart": ["tea"]},
        )
    assert [s.id for s in store.sessions_for_user(f"user-{login_on}")] == [logged_in]

    logout_on = FRAMEWORKS[(FRAMEWORKS.index(login_on) + 1) % 3]
    assert browser.post(f"/{logout_on}/logout").status_code == 200
    assert jar_id(browser) is None  # the cookie was expired
    assert not store.exists(logged_in)
    assert store.sessions_for_user(f"user-{login_on}") == []
    for framework in FRAMEWORKS:
        assert read(browser, framework)["data"] == {}

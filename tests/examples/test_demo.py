"""The demo (`example_apps.combined`: FastAPI at /, Flask at /flask/, Django at /django/) over real
HTTP: one browser, one cookie, one session and one login across the three apps."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.examples._shop import served_by
from tests.served import uvicorn_process

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SECRET = "demo-test-secret-0123456789abcdef"


@pytest.fixture
def demo(redis_url: str, key_prefix: str, tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_", "SESSION_"))}
    env.update(
        REDIS_URL=redis_url,
        SESSION_KEY_PREFIX=key_prefix,
        SESSION_SECRET_KEYS=SECRET,
        DJANGO_DB_PATH=str(tmp_path / "db.sqlite3"),
    )
    with uvicorn_process("example_apps.combined:app", env, tmp_path / "demo.log") as url:
        yield url


def logged_in_as(page: httpx.Response) -> str | None:
    assert page.status_code == 200, page.text
    match = re.search(r"Logged in as <b>([^<]+)</b>", page.text)
    return match[1] if match else None


def django_post(browser: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.get(page).text)
    assert token, f"no CSRF token on {page}"
    return browser.post(action, data={**data, "csrfmiddlewaretoken": token[1]})


def test_one_login_and_one_cart_across_the_three_apps(demo: str) -> None:
    with httpx.Client(base_url=demo, follow_redirects=True, timeout=10) as browser:
        page = browser.get("/")
        assert "/flask/" in page.text and "/django/" in page.text  # the apps link each other
        browser.post("/flask/cart/add", data={"item": "tea"})  # anonymous cart, in Flask
        assert "tea" in browser.get("/").text  # ... seen by FastAPI
        browser.post("/login", data={"username": "alice"})  # log in on FastAPI
        cookie = browser.cookies["session"]
        assert logged_in_as(browser.get("/flask/")) == "alice"
        assert logged_in_as(browser.get("/django/")) == "alice"  # Django logs the bound user in...
        assert "tea" in browser.get("/flask/").text
        assert logged_in_as(browser.get("/")) == "alice"  # ...and its new id is everyone's
        assert browser.cookies["session"] != cookie  # (Django's login cycles the key)
        sessions = browser.get("/flask/sessions").text
        assert sessions.count("(this device)") == 1  # one session, listed once, for all three apps

        page = django_post(browser, "/django/", "/django/logout", {})  # log out on Django
        assert logged_in_as(page) is None
        assert logged_in_as(browser.get("/")) is None
        assert logged_in_as(browser.get("/flask/")) is None


def sessions_page_words(page: httpx.Response) -> tuple[str, list[str], list[str], list[str]]:
    """What a "your sessions" page says: its heading, column headers, markers and buttons."""
    assert page.status_code == 200, page.text
    heading = re.search(r"<h1>([^<]*)</h1>", page.text)
    assert heading, page.text
    headers = re.findall(r"<th>([^<]*)</th>", page.text)
    markers = re.findall(r'<span class="me">([^<]*)</span>', page.text)
    return heading[1], headers, markers, sorted(re.findall(r"<button>([^<]*)</button>", page.text))


def test_each_page_names_its_framework_and_the_sessions_pages_read_alike(demo: str) -> None:
    with (
        httpx.Client(base_url=demo, follow_redirects=True, timeout=10) as browser,
        httpx.Client(base_url=demo, follow_redirects=True, timeout=10) as phone,
    ):
        browser.post("/cart/add", data={"item": "tea"})
        browser.post("/flask/cart/add", data={"item": "tea"})
        page = browser.get("/django/")
        assert served_by(page) == "Django" and "<li>tea &times; 2</li>" in page.text  # the shared cart
        browser.post("/login", data={"username": "carol"})
        phone.post("/flask/login", data={"username": "carol"})  # a second session: two rows
        roots = {"FastAPI": "/", "Flask": "/flask/", "Django": "/django/"}
        words = {}
        for framework, root in roots.items():
            assert served_by(browser.get(root)) == framework, root
            page = browser.get(f"{root}sessions")
            assert served_by(page) == framework and page.url.path == f"{root}sessions"
            words[framework] = sessions_page_words(page)
        assert words["FastAPI"] == words["Flask"] == words["Django"]
        heading, headers, markers, buttons = words["Django"]
        assert heading == "Your sessions" and markers == ["(this device)"]
        assert headers == ["Session", "Device", "Created", "Last seen", "Expires", ""]
        assert {"Log out here", "Revoke", "Log out all other sessions"} <= set(buttons)
        assert "tea &times; 2" in browser.get("/django/").text  # still there after the logins


def test_a_django_sign_up_is_a_login_everywhere(demo: str) -> None:
    with httpx.Client(base_url=demo, follow_redirects=True, timeout=10) as browser:
        password = "Correct-horse-battery-9"
        data = {"username": "bob", "password1": password, "password2": password}
        assert logged_in_as(django_post(browser, "/django/signup", "/django/signup", data)) == "bob"
        assert logged_in_as(browser.get("/")) == "bob"
        assert logged_in_as(browser.get("/flask/")) == "bob"
        browser.post("/flask/logout")
        assert logged_in_as(browser.get("/django/")) is None

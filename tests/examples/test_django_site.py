"""The Django example site over real HTTP: served by uvicorn in a subprocess (Django's settings are
process-wide, and this process has its own), driven by httpx clients, one cookie jar per browser."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from redis_sessions import SessionIdSigner
from redis_sessions.testing import free_port
from tests.examples._shop import served_by
from tests.served import start_uvicorn

ROOT = Path(__file__).resolve().parents[2]
MANAGE = str(ROOT / "example_apps" / "django_site" / "manage.py")
DJANGO_SECRET = "django-site-test-secret-0123456789abcdef"
SIGNER = SessionIdSigner([DJANGO_SECRET])
PASSWORD = "Correct-horse-battery-9"
ADMIN = {"username": "admin", "password": "Admin-password-for-tests-7"}
Browser = Callable[[], httpx.Client]


class Site:
    """The example site in a uvicorn subprocess on a fixed port, so that it can be restarted."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, MANAGE, *args], cwd=ROOT, env=self.env, check=True, capture_output=True
        )

    def start(self) -> None:
        self.process = start_uvicorn(
            "example_apps.django_site.asgi:application", self.port, self.env, self.log, "/admin/login/"
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without our settings' variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_", "SESSION_"))}
    return {**env, **extra}


@pytest.fixture
def site(redis_url: str, key_prefix: str, tmp_path: Path) -> Iterator[Site]:
    env = _clean_env(
        REDIS_URL=redis_url,
        REDIS_SESSIONS_KEY_PREFIX=key_prefix,
        DJANGO_SECRET_KEY=DJANGO_SECRET,
        DJANGO_DB_PATH=str(tmp_path / "db.sqlite3"),
        DJANGO_SUPERUSER_PASSWORD=ADMIN["password"],
    )
    site = Site(env, tmp_path / "site.log")
    site.manage("migrate", "--noinput")
    site.manage("createsuperuser", "--noinput", "--username", ADMIN["username"], "--email", "a@example.com")
    try:
        site.start()
        yield site
    finally:
        site.stop()


@pytest.fixture
def browser(site: Site) -> Iterator[Browser]:
    clients: list[httpx.Client] = []

    def make() -> httpx.Client:
        clients.append(httpx.Client(base_url=site.url, follow_redirects=True, timeout=10))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def submit(client: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    """Open `page` and post its form to `action`, with the CSRF token the page carries."""
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(page).text)
    assert match, f"no CSRF token on {page}"
    return client.post(action, data={**data, "csrfmiddlewaretoken": match[1]})


def log_in(client: httpx.Client, username: str) -> httpx.Response:
    return submit(client, "/login", "/login", {"username": username, "password": PASSWORD})


def sign_up(client: httpx.Client, username: str) -> httpx.Response:
    data = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    return submit(client, "/signup", "/signup", data)


def session_id(client: httpx.Client) -> str:
    raw = SIGNER.unsign(client.cookies["sessionid"])
    assert raw is not None
    return raw


def rows(page: httpx.Response) -> int:
    return page.text.count("<td><code>")


def logged_in_as(page: httpx.Response) -> str | None:
    match = re.search(r"Logged in as <b>([^<]+)</b>", page.text)
    return match[1] if match else None


def with_cookie(site: Site, cookie: str) -> httpx.Response:
    """The home page for a browser that kept an old session cookie."""
    return httpx.get(f"{site.url}/", headers={"Cookie": f"sessionid={cookie}"})


@pytest.mark.slow
def test_notes_login_sessions_revoke_logout(
    site: Site, browser: Browser, redis_client: redis.Redis, key_prefix: str
) -> None:
    laptop = browser()
    page = laptop.get("/")
    assert "Not logged in" in page.text and "sessionid" not in laptop.cookies  # reading stores nothing
    assert served_by(page) == "Django"
    assert laptop.post("/notes/add", data={"text": "no token"}).status_code == 403  # CSRF is on
    page = submit(laptop, "/", "/notes/add", {"text": "buy <milk>"})
    assert "<li>buy &lt;milk&gt;</li>" in page.text
    anonymous = laptop.cookies["sessionid"]

    page = sign_up(laptop, "alice")
    assert logged_in_as(page) == "alice" and "Welcome, alice" in page.text
    assert "<li>buy &lt;milk&gt;</li>" in page.text  # login kept the notes...
    assert laptop.cookies["sessionid"] != anonymous  # ...under a new session id
    assert "buy" not in with_cookie(site, anonymous).text
    assert next(redis_client.scan_iter(f"{key_prefix}*"), None) is not None

    site.stop()
    site.start()
    page = laptop.get("/")
    assert logged_in_as(page) == "alice" and "<li>buy &lt;milk&gt;</li>" in page.text

    phone = browser()
    submit(phone, "/", "/notes/add", {"text": "on the phone"})
    before = phone.cookies["sessionid"]
    page = log_in(phone, "alice")
    assert logged_in_as(page) == "alice" and "<li>on the phone</li>" in page.text
    assert phone.cookies["sessionid"] != before
    assert "on the phone" not in laptop.get("/").text  # one session per browser

    ours, theirs = session_id(laptop), session_id(phone)
    page = laptop.get("/sessions")
    assert rows(page) == 2 and page.text.count("(this device)") == 1 and served_by(page) == "Django"
    assert f'<code>{ours[:8]}…</code> <span class="me">(this device)</span>' in page.text
    assert f"<code>{theirs[:8]}…</code></td>" in page.text
    assert ours not in page.text and theirs not in page.text  # never a whole id

    bob = browser()
    sign_up(bob, "bob")
    for handle in (session_id(bob)[:8], "nope", ""):  # only alice's own sessions
        assert submit(laptop, "/sessions", "/sessions/revoke", {"session": handle}).status_code == 404
    assert logged_in_as(bob.get("/")) == "bob"

    page = submit(laptop, "/sessions", "/sessions/revoke", {"session": theirs[:8]})
    assert "Revoked 1 session(s)." in page.text and rows(page) == 1
    assert "Not logged in" in phone.get("/").text
    assert phone.get("/sessions").url.path == "/login"

    tablet = browser()
    log_in(tablet, "alice")
    page = submit(laptop, "/sessions", "/sessions/revoke-others", {})
    assert "Revoked 1 session(s)." in page.text and rows(page) == 1
    assert logged_in_as(tablet.get("/")) is None and logged_in_as(bob.get("/")) == "bob"

    cookie = laptop.cookies["sessionid"]
    page = submit(laptop, "/", "/logout", {})
    assert "Not logged in" in page.text and "You are logged out." in page.text and "milk" not in page.text
    assert laptop.cookies.get("sessionid") != cookie
    assert "Not logged in" in with_cookie(site, cookie).text


@pytest.mark.slow
def test_admin(browser: Browser) -> None:
    admin = browser()
    page = admin.get("/admin/")
    assert page.status_code == 200 and page.url.path == "/admin/login/"
    page = submit(admin, "/admin/login/", "/admin/login/", {**ADMIN, "next": "/admin/"})
    assert page.url.path == "/admin/" and "Site administration" in page.text
    page = admin.get("/admin/django_site/user/")
    assert page.status_code == 200 and "Select user to change" in page.text


@pytest.mark.slow
def test_defaults_are_announced(tmp_path: Path) -> None:
    env = _clean_env(DJANGO_DB_PATH=str(tmp_path / "db.sqlite3"))
    result = subprocess.run(
        [sys.executable, MANAGE, "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert "REDIS_URL is not set" in result.stderr and "memory://" in result.stderr
    assert "INSECURE" in result.stderr

"""The README's Python snippets run as written: each compiles, has no unused import and no undefined
name (pyflakes' rules through ruff), and the ones that are whole programs or settings edits are run:
the store script against the test run's redis-server, the Django settings edit inside a fresh
``startproject`` (whose system checks and admin must then pass), the FastAPI and Flask apps through
their test clients. The install lines name extras the package has."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = [m[1] for m in re.finditer(r"^```python\n(.*?)^```", README, re.M | re.S)]
SETTINGS_EDIT = "# settings.py"  # the first line of the Django settings snippet
# Fragments edit the reader's own code: their app, settings.py's lists. Whole programs are also run below.
READERS_NAMES = "app = INSTALLED_APPS = MIDDLEWARE = None\n"
# pyflakes' rules (unused imports, undefined names...) only: the snippets are not held to our style.
RUFF = [
    sys.executable,
    "-m",
    "ruff",
    "check",
    "--isolated",
    "--no-cache",
    "--select",
    "F",
    "--output-format=concise",
]
SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
OUR_MIDDLEWARE = "redis_sessions.integrations.django.SessionMiddleware"


def block(start: str) -> str:
    """The one README Python block that begins with `start`."""
    found = [code for code in BLOCKS if code.startswith(start)]
    assert len(found) == 1, f"{len(found)} README blocks begin with {start!r}"
    return found[0]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_", "SESSION_"))}
    return {**env, **extra}


def test_the_readme_has_the_snippets() -> None:
    assert len(BLOCKS) >= 5
    for start in ("from fastapi import", SETTINGS_EDIT, "from flask import", "import asyncio"):
        block(start)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_python_block_compiles(index: int) -> None:
    compile(BLOCKS[index], f"README.md python block {index}", "exec")


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_no_unused_import_and_no_undefined_name(index: int) -> None:
    code = READERS_NAMES + BLOCKS[index]  # ruff's line numbers: one more than the block's
    result = subprocess.run(
        [*RUFF, "--stdin-filename", f"readme_block_{index}.py", "-"],
        input=code,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"README python block {index}:\n{result.stdout}{result.stderr}"


def test_install_lines_name_extras_the_package_has() -> None:
    lines = [line for line in README.splitlines() if re.match(r"#? ?pip install ", line)]
    assert lines
    extras = set(metadata.metadata("redis-sessions").get_all("Provides-Extra") or [])
    for line in lines:
        requirement = re.search(r'"([^"]*)"', line)
        assert requirement, line
        named = re.search(r"\[([^]]*)\]", requirement[1])
        assert named and set(named[1].split(",")) <= extras, line
        # Not on a package index yet: from a checkout (".[...]") or a Git URL, never a bare name.
        assert requirement[1].startswith(".[") or "@ git+https://" in requirement[1], line


@pytest.fixture
def startproject(tmp_path: Path) -> Path:
    """A fresh ``django-admin startproject mysite`` in `tmp_path`; its settings.py."""
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return tmp_path / "mysite" / "settings.py"


def test_the_django_snippet_edits_startprojects_lists(startproject: Path) -> None:
    settings: dict[str, Any] = {"__file__": str(startproject)}
    exec(startproject.read_text(), settings)
    installed, middleware = list(settings["INSTALLED_APPS"]), list(settings["MIDDLEWARE"])
    exec(block(SETTINGS_EDIT), settings)
    assert settings["SESSION_ENGINE"] == "redis_sessions.integrations.django"
    assert settings["INSTALLED_APPS"] == [*installed, "redis_sessions.integrations.django"]
    expected = [OUR_MIDDLEWARE if name == SESSION_MIDDLEWARE else name for name in middleware]
    assert settings["MIDDLEWARE"] == expected and expected != middleware  # in place, nothing else moved


@pytest.mark.slow
def test_a_startproject_with_the_django_snippet_passes_checks_and_serves_the_admin(
    startproject: Path, redis_url: str, key_prefix: str, redis_client: redis.Redis
) -> None:
    with startproject.open("a") as settings:
        settings.write(f"\n{block(SETTINGS_EDIT)}\n")
        settings.write(f"REDIS_SESSIONS.update(URL={redis_url!r}, KEY_PREFIX={key_prefix!r})  # the test's\n")
    manage = [sys.executable, str(startproject.parents[1] / "manage.py")]
    env = clean_env()
    check = subprocess.run([*manage, "check"], env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "no issues" in check.stdout, check.stdout + check.stderr
    subprocess.run([*manage, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    admin = (
        "from django.contrib.auth.models import User; from django.test import Client; "
        "User.objects.create_superuser('admin', 'a@example.com', 'Admin-password-7'); "
        "client = Client(HTTP_HOST='localhost'); "
        "assert client.login(username='admin', password='Admin-password-7'); "
        "page = client.get('/admin/'); "
        "assert page.status_code == 200 and b'Site administration' in page.content, page.status_code; "
        "print('admin ok')"
    )
    shell = subprocess.run(
        [*manage, "shell", "-c", admin], env=env, capture_output=True, text=True, timeout=60
    )
    assert shell.returncode == 0 and "admin ok" in shell.stdout, shell.stdout + shell.stderr
    assert next(redis_client.scan_iter(f"{key_prefix}*"), None) is not None  # the session is in Redis


@pytest.mark.slow
def test_the_store_script_runs_against_redis(
    tmp_path: Path, redis_url: str, key_prefix: str, redis_client: redis.Redis
) -> None:
    script = tmp_path / "store_tour.py"
    script.write_text(block("import asyncio"))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=clean_env(REDIS_URL=redis_url, SESSION_KEY_PREFIX=key_prefix),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "u42: ['light']" in result.stdout
    assert "listed: 1 counted: 1" in result.stdout
    assert re.search(r"health: HealthReport\(ok=True, backend='redis'", result.stdout), result.stdout
    assert list(redis_client.scan_iter(f"{key_prefix}*")) == []  # it cleaned up after itself


def _with_test_redis(code: str, url_setting: str, prefix_setting: str, redis_url: str, prefix: str) -> str:
    """`code` with its Redis URL setting pointed at the test run's server and this test's prefix."""
    found = re.findall(rf'{url_setting}="redis://[^"]+"', code)
    assert len(found) == 1, found
    return code.replace(found[0], f'{url_setting}="{redis_url}", {prefix_setting}="{prefix}"')


def test_the_fastapi_snippet_logs_in_and_out(redis_url: str, key_prefix: str) -> None:
    from starlette.testclient import TestClient

    code = _with_test_redis(block("from fastapi import"), "url", "key_prefix", redis_url, key_prefix)
    namespace: dict[str, Any] = {"__name__": "readme_fastapi"}
    exec(compile(code, "README.md (FastAPI)", "exec"), namespace)
    with TestClient(namespace["app"]) as client:
        assert client.post("/login").json() == {"ok": True}
        assert "session" in client.cookies
        assert client.get("/cart").json() == []
        assert client.post("/logout").json() == {"ok": True}
        assert "session" not in client.cookies


def test_the_flask_snippet_logs_in_and_out(redis_url: str, key_prefix: str) -> None:
    from redis_sessions.integrations.flask import get_store

    code = block("from flask import")
    code = _with_test_redis(code, "REDIS_SESSIONS_URL", "REDIS_SESSIONS_KEY_PREFIX", redis_url, key_prefix)
    namespace: dict[str, Any] = {"__name__": "readme_flask"}
    exec(compile(code, "README.md (Flask)", "exec"), namespace)
    app = namespace["app"]
    try:
        with app.test_client() as client:
            assert client.post("/login").json == {"ok": True}
            assert client.get_cookie("session") is not None
            assert client.post("/logout").json == {"ok": True}
            assert client.get_cookie("session") is None
    finally:
        get_store(app).close()


def test_the_demo_paragraph_names_its_data_folder_port_and_stop() -> None:
    """The folder where the demo keeps its redis-server's data is the README's, and git ignores it."""
    if str(ROOT) not in sys.path:  # example_apps is not installed; after site-packages, as serve.py does
        sys.path.append(str(ROOT))
    from example_apps.serve import DATA_DIR

    assert DATA_DIR.parent == ROOT
    assert f"`{DATA_DIR.name}/redis/`" in README and f"rm -rf {DATA_DIR.name}" in README
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert f"{DATA_DIR.name}/" in ignored
    assert "PORT=8080 bash scripts/demo.sh" in README.replace("\n", " ") and "Ctrl-C" in README

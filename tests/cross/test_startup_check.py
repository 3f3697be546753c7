"""The start-up check of every integration: one WARNING naming what is wrong with the store
(unreachable, missing ACL rules, an evicting maxmemory-policy) when the app starts, and nothing
when all is well."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable

import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.testclient import TestClient

from redis_sessions import SessionConfig
from redis_sessions.integrations.asgi import SessionMiddleware
from redis_sessions.integrations.flask import RedisSessions, get_store
from redis_sessions.testing import free_port
from tests.conftest import SECRET

CHECK = "session store check at start-up"


@pytest.fixture
def refused_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


def start_flask(url: str) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, REDIS_SESSIONS_URL=url)
    RedisSessions(app)
    get_store(app).close()


def start_asgi(url: str) -> None:
    app = Starlette()
    app.add_middleware(SessionMiddleware, config=SessionConfig(url=url, secret_keys=[SECRET]))
    with TestClient(app):  # runs the lifespan: start-up, then shutdown
        pass


@pytest.mark.parametrize("start", [start_flask, start_asgi], ids=["flask", "asgi"])
def test_an_unreachable_store_is_one_warning_at_start_up(
    start: Callable[[str], None], refused_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="redis_sessions"):
        start(refused_url)
    checks = [r for r in caplog.records if CHECK in r.getMessage()]
    assert len(checks) == 1 and checks[0].levelno == logging.WARNING
    assert "unreachable" in checks[0].getMessage().lower()


@pytest.mark.parametrize("start", [start_flask, start_asgi], ids=["flask", "asgi"])
def test_a_healthy_store_is_silent_at_start_up(
    start: Callable[[str], None], redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="redis_sessions"):
        start(redis_url)
    assert [r for r in caplog.records if CHECK in r.getMessage()] == []


DJANGO = """
import logging, sys
logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(levelname)s %(message)s")
import django
from django.conf import settings
settings.configure(
    SECRET_KEY="k" * 40,
    INSTALLED_APPS=["redis_sessions.integrations.django"],
    SESSION_ENGINE="redis_sessions.integrations.django",
    REDIS_SESSIONS={"URL": sys.argv[1]},
)
django.setup()
"""


@pytest.mark.parametrize("reachable", [False, True])
def test_django_checks_the_store_when_the_app_is_ready(
    reachable: bool, redis_url: str, refused_url: str
) -> None:
    url = redis_url if reachable else refused_url
    done = subprocess.run(
        [sys.executable, "-c", DJANGO, url], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [line for line in done.stdout.splitlines() if CHECK in line]
    assert len(lines) == (0 if reachable else 1)
    assert all(line.startswith("WARNING") for line in lines)

"""The extension closes the store it built: when the process exits (a subprocess serves a request
and exits; its connection is closed before the interpreter ends, with no ResourceWarning), and when
the app is garbage collected (it is held weakly)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
import redis
from flask import Flask, session

from redis_sessions.integrations.flask import RedisSessions
from tests.conftest import SECRET
from tests.exit_check import connected, named_url, serve_once_and_exit, wait_until_gone

pytestmark = pytest.mark.slow

# After tests.exit_check.PRELUDE: build the app, serve one request that stores a session, exit.
SCRIPT = """
from flask import Flask, session
from redis_sessions.integrations.flask import RedisSessions

app = Flask(__name__)
app.config.update(SECRET_KEY="k" * 40, REDIS_SESSIONS_URL=URL)
RedisSessions(app)


@app.get("/write")
def write() -> str:
    session["a"] = 1
    return "ok"


response = app.test_client().get("/write")
assert response.status_code == 200, response.status
print("served", flush=True)
"""


def test_the_store_is_closed_when_the_process_exits(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    serve_once_and_exit(SCRIPT, redis_url, redis_client, tmp_path, "flask")


def test_an_app_can_be_garbage_collected_and_its_store_is_closed_then(
    redis_url: str, redis_client: redis.Redis
) -> None:
    url, name = named_url(redis_url, "flask")
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, REDIS_SESSIONS_URL=url)
    RedisSessions(app)

    @app.get("/write")
    def write() -> str:
        session["a"] = 1
        return "ok"

    assert app.test_client().get("/write").status_code == 200
    assert connected(redis_client, name) == 1
    collected = weakref.ref(app)
    del app, write
    gc.collect()
    assert collected() is None  # the extension holds the app weakly
    assert wait_until_gone(redis_client, name) == 0

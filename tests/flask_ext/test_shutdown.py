"""The extension closes the store it built: when the process exits (a subprocess serves a request
and exits; its connection is closed before the interpreter ends, with no ResourceWarning), and when
the app is garbage collected (it is held weakly)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import uuid
import weakref
from pathlib import Path

import pytest
import redis
from flask import Flask, session

from redis_sessions.integrations.flask import RedisSessions
from tests.conftest import SECRET

pytestmark = pytest.mark.slow

# Run as a script: build the app, serve one request that stores a session, exit. The atexit hook
# registered first runs last, after the extension's clean-up: it reports what is still connected.
SCRIPT = """
import atexit, sys
import redis

URL, NAME = sys.argv[1], sys.argv[2]


def report() -> None:
    client = redis.Redis.from_url(URL.split("?")[0])
    still = [c for c in client.client_list() if c.get("name") == NAME]
    client.close()
    print(f"connected at exit: {len(still)}", flush=True)


atexit.register(report)

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


def named_url(redis_url: str) -> tuple[str, str]:
    name = f"flask-exit-{uuid.uuid4().hex[:12]}"
    return f"{redis_url}?client_name={name}", name


def connected(client: redis.Redis, name: str) -> int:
    return sum(1 for c in client.client_list() if c.get("name") == name)


def wait_until_gone(client: redis.Redis, name: str) -> int:
    deadline = time.monotonic() + 5  # the server notices a closed socket at once; bounded anyway
    while connected(client, name) and time.monotonic() < deadline:
        time.sleep(0.02)
    return connected(client, name)


def test_the_store_is_closed_when_the_process_exits(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    url, name = named_url(redis_url)
    script = tmp_path / "serve_once.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONWARNINGS": "error::ResourceWarning"}
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", str(script), url, name],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["served", "connected", "at", "exit:", "0"], done.stdout
    assert "ResourceWarning" not in done.stderr and "unclosed" not in done.stderr, done.stderr
    assert wait_until_gone(redis_client, name) == 0


def test_an_app_can_be_garbage_collected_and_its_store_is_closed_then(
    redis_url: str, redis_client: redis.Redis
) -> None:
    url, name = named_url(redis_url)
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

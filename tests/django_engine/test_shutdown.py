"""The engine closes its clients when the process exits: a subprocess configures Django, serves a
sync and an async request that store a session, and exits; its connections are closed before the
interpreter ends, with no ResourceWarning."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

pytestmark = pytest.mark.slow

# The atexit hook registered first runs last, after the engine's own clean-up: it reports what is
# still connected then.
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

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="k" * 40,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["redis_sessions.integrations.django"],
    MIDDLEWARE=["redis_sessions.integrations.django.SessionMiddleware"],
    SESSION_ENGINE="redis_sessions.integrations.django",
    REDIS_SESSIONS={"URL": URL},
)
django.setup()

from django.http import HttpResponse
from django.test import Client
from django.urls import path


def write(request):
    request.session["a"] = 1
    return HttpResponse("ok")


async def async_write(request):
    await request.session.aset("b", 2)
    return HttpResponse("ok")


urlpatterns = [path("write", write), path("async-write", async_write)]

client = Client()
for url in ("/write", "/async-write" if django.VERSION >= (5, 0) else "/write"):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
print("served", flush=True)
"""


def connected(client: redis.Redis, name: str) -> int:
    return sum(1 for c in client.client_list() if c.get("name") == name)


def test_the_engine_closes_its_clients_when_the_process_exits(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    name = f"django-exit-{uuid.uuid4().hex[:12]}"
    script = tmp_path / "serve_once.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "dev",
            "-W",
            "error::ResourceWarning",
            str(script),
            f"{redis_url}?client_name={name}",
            name,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error::ResourceWarning"},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["served", "connected", "at", "exit:", "0"], done.stdout
    assert "ResourceWarning" not in done.stderr and "unclosed" not in done.stderr, done.stderr
    deadline = time.monotonic() + 5
    while connected(redis_client, name) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert connected(redis_client, name) == 0

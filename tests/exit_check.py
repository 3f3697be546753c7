"""Serve a request in a subprocess and see what it leaves connected when it exits: the shared part
of the Flask and Django shutdown tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

# Put before a script's own code: argv is (URL with client_name, that name). The atexit hook
# registered first runs last, after the integration's clean-up: it reports what is still connected.
PRELUDE = """
import atexit, sys
import redis

URL, NAME = sys.argv[1], sys.argv[2]


def report() -> None:
    client = redis.Redis.from_url(URL.split("?")[0])
    still = [c for c in client.client_list() if c.get("name") == NAME]
    client.close()
    print(f"connected at exit: {len(still)}", flush=True)


atexit.register(report)
"""


def connected(client: redis.Redis, name: str) -> int:
    return sum(1 for c in client.client_list() if c.get("name") == name)


def wait_until_gone(client: redis.Redis, name: str) -> int:
    """Connections still named `name` once they are gone, or after 5 s (bounded)."""
    deadline = time.monotonic() + 5  # the server notices a closed socket at once
    while connected(client, name) and time.monotonic() < deadline:
        time.sleep(0.02)
    return connected(client, name)


def named_url(redis_url: str, kind: str) -> tuple[str, str]:
    name = f"{kind}-exit-{uuid.uuid4().hex[:12]}"
    return f"{redis_url}?client_name={name}", name


def serve_once_and_exit(
    body: str, redis_url: str, redis_client: redis.Redis, folder: Path, kind: str
) -> None:
    """Run `PRELUDE` + `body` (which serves requests and prints "served") in a subprocess that turns
    ResourceWarnings into errors; assert it exits cleanly with nothing connected."""
    url, name = named_url(redis_url, kind)
    script = folder / "serve_once.py"
    script.write_text(PRELUDE + body)
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", str(script), url, name],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error::ResourceWarning"},
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["served", "connected", "at", "exit:", "0"], done.stdout
    assert "ResourceWarning" not in done.stderr and "unclosed" not in done.stderr, done.stderr
    assert wait_until_gone(redis_client, name) == 0

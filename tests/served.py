"""An app of the repository served in a subprocess (ASGI by uvicorn, WSGI by werkzeug's threaded
server), for tests over real HTTP that need a process of their own (Django's settings are
process-wide)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from redis_sessions.testing import free_port

ROOT = Path(__file__).resolve().parents[1]


def start_uvicorn(
    app: str, port: int, env: dict[str, str], log: Path, probe: str = "/"
) -> subprocess.Popen[bytes]:
    """Start uvicorn serving `app` ("module:attribute", importable from the repository root: the
    editable install keeps `redis_sessions.integrations` importable next to it) on 127.0.0.1:`port`;
    return once `probe` answers. Fails the test, with the log, if it never does."""
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    return _start([*argv, "--log-level", "warning"], app, port, env, log, probe)


def _start(
    argv: list[str], app: str, port: int, env: dict[str, str], log: Path, probe: str
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=1)
            return process
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"{app} did not start:\n{log.read_text()}")
            time.sleep(0.05)


@contextmanager
def uvicorn_process(app: str, env: dict[str, str], log: Path, probe: str = "/") -> Iterator[str]:
    """`start_uvicorn` on a free port; yield its base URL, then stop it."""
    port = free_port()
    process = start_uvicorn(app, port, env, log, probe)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def wsgi_process(app: str, env: dict[str, str], log: Path, probe: str = "/") -> Iterator[str]:
    """A WSGI `app` ("module:attribute") under werkzeug's threaded server (`tests.wsgi_serve`) on a
    free port, stopped by its PID afterwards; yield its base URL once `probe` answers."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.wsgi_serve", app, str(port)]
    process = _start(argv, app, port, env, log, probe)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)

"""`example_apps/serve.py`, which ``scripts/demo.sh`` runs after set-up: the backend it picks, and the
demo's own redis-server, whose sessions survive a restart of the demo."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from example_apps.serve import own_redis_server
from redis_sessions import SessionConfig, SessionStore
from redis_sessions.testing import free_port
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def binary(redis_url: str) -> str:
    """The redis-server on PATH (the `redis_url` fixture skips, or fails under REQUIRE_REDIS=1, without)."""
    found = shutil.which("redis-server")
    assert found is not None
    return found


def _stopped(process: subprocess.Popen[bytes]) -> bool:
    return process.returncode == 0  # Redis exits 0 after a clean shutdown (SIGTERM)


@pytest.mark.slow
def test_the_demos_redis_server_keeps_sessions_across_a_restart(binary: str, tmp_path: Path) -> None:
    with (
        own_redis_server(binary, tmp_path) as server,
        SessionStore(SessionConfig(url=server.url, secret_keys=[SECRET])) as store,
    ):
        session = store.create({"cart": {"tea": 2}}, user_id="alice")
        first = server.process
    assert _stopped(first) and (tmp_path / "appendonlydir").is_dir()

    with (
        own_redis_server(binary, tmp_path) as server,
        SessionStore(SessionConfig(url=server.url, secret_keys=[SECRET])) as store,
    ):
        assert server.process.pid != first.pid
        again = store.get(session.id)
        assert again is not None and again["cart"] == {"tea": 2} and again.user_id == "alice"
        assert [s.id for s in store.sessions_for_user("alice")] == [session.id]
        ttl = store.ttl(session.id)
        assert ttl is not None and ttl > 0
    assert _stopped(server.process)


@pytest.mark.slow
def test_one_redis_server_per_data_folder(binary: str, tmp_path: Path) -> None:
    with own_redis_server(binary, tmp_path) as server:
        with (
            pytest.raises(RuntimeError, match=rf"pid {server.process.pid}\)"),
            own_redis_server(binary, tmp_path),
        ):
            pass
        with redis.Redis.from_url(server.url) as client:
            assert client.ping()  # the first one still serves
    assert _stopped(server.process)


@pytest.mark.slow
def test_a_redis_server_left_by_a_killed_demo_keeps_its_folder(binary: str, tmp_path: Path) -> None:
    """The server inherits the folder's lock: a demo killed with SIGKILL (its server left running)
    cannot lead a second server to write the same files."""
    code = (
        "import sys, time; from pathlib import Path; sys.path.append(sys.argv[1]); "
        "from example_apps.serve import own_redis_server; "
        "running = own_redis_server(sys.argv[2], Path(sys.argv[3])); server = running.__enter__(); "
        "print(server.process.pid, flush=True); time.sleep(60)"
    )
    demo = subprocess.Popen(
        [sys.executable, "-c", code, str(ROOT), binary, str(tmp_path)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert demo.stdout is not None
    orphan = int(demo.stdout.readline())
    demo.kill()
    demo.wait(10)
    demo.stdout.close()
    try:
        with pytest.raises(RuntimeError, match=rf"pid {orphan}\)"), own_redis_server(binary, tmp_path):
            pass
    finally:
        os.kill(orphan, signal.SIGTERM)  # not our child: wait for it to be gone
        deadline = time.monotonic() + 10
        while _alive(orphan):
            assert time.monotonic() < deadline, f"redis-server {orphan} did not stop"
            time.sleep(0.05)
    with own_redis_server(binary, tmp_path) as server:
        assert server.process.poll() is None
    assert _stopped(server.process)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def _demo(env: dict[str, str], stderr: list[str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run serve.py with `env`; yield its first line and the process; stop it with SIGTERM (then
    append what it wrote to stderr to `stderr`)."""
    proc = subprocess.Popen(
        [sys.executable, "example_apps/serve.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline(), proc
    finally:
        proc.terminate()
        try:
            stderr.append(proc.communicate(timeout=20)[1])
        except subprocess.TimeoutExpired:
            proc.kill()
            stderr.append(proc.communicate(timeout=10)[1])


def _when_up(call: Callable[[], httpx.Response]) -> httpx.Response:
    """`call()`, retried while the server is not listening yet (20 seconds at most)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return call()
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["REDIS_URL", "own redis-server", "memory fallback"])
def test_demo_server_picks_a_backend(
    backend: str, request: pytest.FixtureRequest, key_prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REDIS_", "SESSION_", "USE_REDIS", "DJANGO_", "DEMO_"))
    }
    env.update(PORT=str(port), SESSION_KEY_PREFIX=key_prefix, DEMO_DATA_DIR=str(tmp_path))
    expected = {"own redis-server": "the demo's own redis-server at redis://", "memory fallback": "memory://"}
    if backend == "REDIS_URL":
        env["REDIS_URL"] = url = request.getfixturevalue("redis_url")
        expected[backend] = f"Redis at {url} (REDIS_URL)"
    elif backend == "own redis-server":
        request.getfixturevalue("redis_url")  # skips (fails under REQUIRE_REDIS=1) without redis-server
    else:
        env["PATH"] = str(Path(sys.executable).parent)  # no redis-server there
    base, stderr = f"http://127.0.0.1:{port}", list[str]()
    browser = httpx.Client(base_url=base, timeout=5)
    request.addfinalizer(browser.close)
    with _demo(env, stderr) as (line, proc):
        assert f"demo: sessions in {expected[backend]}" in line and f"open {base}/" in line
        assert f"kill {proc.pid}) stops the demo" in line
        page = _when_up(lambda: browser.post("/cart/add", data={"item": "tea"}))
        assert page.status_code == 303 and "set-cookie" in page.headers
    assert proc.returncode in (0, 128 + signal.SIGTERM) and "public demo secret" in stderr[0]
    assert (tmp_path / "django.sqlite3").is_file()  # the Django site's users, next to the sessions
    if backend == "REDIS_URL":
        client = request.getfixturevalue("redis_client")
        assert next(client.scan_iter(f"{key_prefix}*"), None) is not None  # the cart went there
    if match := re.search(r"own redis-server at redis://127\.0\.0\.1:(\d+)", line):
        with pytest.raises(OSError):  # it stopped with the demo
            socket.create_connection(("127.0.0.1", int(match[1])), timeout=1).close()
        assert f"its data in {tmp_path / 'redis'} (kept when the demo restarts)" in line
        with _demo(env, stderr) as (line, _):  # a restart: the browser's cart is still there
            assert "own redis-server" in line
            page = _when_up(lambda: browser.get("/"))
            assert page.status_code == 200 and "tea &times; 1" in page.text

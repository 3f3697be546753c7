"""Redis down under real HTTP load, through each integration (the ASGI middleware under uvicorn,
Flask and Django under werkzeug's threaded WSGI server), with ``on_backend_error`` "raise" and
"fallback": redis-server killed with SIGKILL and restarted on the same port from its append-only
file, and paused with ``CLIENT PAUSE``.

Every scenario: no 500, no cross-talk (each client's session holds its own token), no request
hanging, requests served again soon after Redis is. "raise" answers 503s meanwhile and loses no
acknowledged write (the append-only file has every write Redis acknowledged); "fallback" answers
no 503 at all: every client's session is served from the app's process while Redis is down, and
every write acknowledged meanwhile is in Redis afterwards (the final reads find it). Figures with -s.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from redis_sessions.testing import free_port
from redis_sessions.testing._server import _find_binary, _wait_for_pong
from tests.faults.conftest import started
from tests.faults.load import Figures, assert_sound, scenario

pytestmark = pytest.mark.slow

OUTAGE = 2.0  # seconds Redis is gone (killed) or paused
FRAMEWORKS = ["asgi", "flask", "django"]
POLICIES = ["raise", "fallback"]


class PersistentRedis:
    """A redis-server with an append-only file, killed and restarted on the same port and directory.
    ``appendfsync always``: what Redis acknowledged is in the file before the reply leaves. (With
    ``everysec`` Redis may reply before writing when an fsync runs long, and a SIGKILL then loses an
    acknowledged write: it did once in CI, one increment in a Django run. That is Redis' own
    durability setting, not what this test is about.)"""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        options = {
            "bind": "127.0.0.1",
            "port": str(self.port),
            "dir": str(workdir),
            "appendonly": "yes",
            "appendfsync": "always",
        }
        self.argv = [
            _find_binary(None),
            *(p for name, value in options.items() for p in (f"--{name}", value)),
        ]
        self.argv += ["--save", ""]
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_pong(process, self.port)
        return process

    def kill_and_restart(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        time.sleep(OUTAGE)
        self.process = self._start()

    def pause(self) -> None:
        """``CLIENT PAUSE`` every client for `OUTAGE` seconds; return once it is over."""
        with redis.Redis(port=self.port) as admin:
            admin.execute_command("CLIENT", "PAUSE", int(OUTAGE * 1000), "ALL")
        time.sleep(OUTAGE)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module")
def persistent_redis() -> Iterator[PersistentRedis]:
    def start() -> Iterator[PersistentRedis]:
        with tempfile.TemporaryDirectory() as workdir:
            server = PersistentRedis(Path(workdir))
            try:
                yield server
            finally:
                server.stop()

    yield from started(contextmanager(start))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("fault", ["SIGKILL and restart", "CLIENT PAUSE"])
def test_redis_down_under_load(
    persistent_redis: PersistentRedis,
    framework: str,
    policy: str,
    fault: str,
    key_prefix: str,
    tmp_path: Path,
    figures: list[Figures],
) -> None:
    inject = persistent_redis.kill_and_restart if fault == "SIGKILL and restart" else persistent_redis.pause
    log = tmp_path / "server.log"
    result = scenario(
        f"Redis {fault}",
        persistent_redis.url,
        replicas=0,
        replica_acks=0,
        prefix=key_prefix,
        log=log,
        fault=lambda _ids: inject(),
        framework=framework,
        on_backend_error=policy,
        check_stored=True,
    )
    figures.append(result)
    assert_sound(result, log, lossless=True)
    assert result.missing_in_redis == 0, result  # every acknowledged write is in Redis afterwards
    assert result.outage_lines >= 1, result  # the outage was logged (once per process: see the log)
    if policy == "fallback":
        assert result.errors_503 == 0, result  # every request served, from the app's process meanwhile
    else:
        assert result.errors_503 > 0, result  # the outage was seen: a 503, never a 500

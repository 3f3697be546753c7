"""Test helpers: a private `redis-server` on a loopback port, for this suite and for yours.

with redis_server() as url:   # "redis://127.0.0.1:<port>/0", gone after the block
    store = SessionStore(SessionConfig(url=url, secret_keys=["..."]))
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RedisServer:
    """A running private server: its URL, port and process (to stop or freeze it in a test)."""

    url: str
    port: int
    process: subprocess.Popen[bytes]


@contextmanager
def running_redis_server(binary: str | None = None, *, port: int | None = None) -> Iterator[RedisServer]:
    """Start `redis-server` (from PATH unless `binary` is given) without persistence on 127.0.0.1
    (`port`, or a free one); stop it afterwards. Raises `FileNotFoundError` if none is installed,
    `RuntimeError` if it does not answer PING within 10 seconds."""
    binary = binary or shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not on PATH")
    port = port or free_port()
    with tempfile.TemporaryDirectory() as workdir:
        options = {"bind": "127.0.0.1", "port": str(port), "save": "", "appendonly": "no", "dir": workdir}
        argv = [binary, *(part for name, value in options.items() for part in (f"--{name}", value))]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_pong(proc, port)
            yield RedisServer(f"redis://127.0.0.1:{port}/0", port, proc)
        finally:
            proc.send_signal(signal.SIGCONT)  # in case a test froze it
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def redis_server(binary: str | None = None) -> Iterator[str]:
    """`running_redis_server` on a free port, yielding just its URL."""
    with running_redis_server(binary) as server:
        yield server.url


def _wait_for_pong(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start on port {port}")
        time.sleep(0.02)

"""Redis-side helpers of the HTTP suite: what a server received (MONITOR), a server a test can
stop, freeze and restart, and loading our scripts before round trips are counted."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import redis

from redis_sessions import SessionConfig, SessionStore


@dataclass
class CommandLog:
    """Commands Redis executed while a `CommandRecorder.record` block ran, from MONITOR.

    `sent` are the commands clients sent (each round trip sends at least one, so ``len(sent)`` bounds
    the round trips from above); `lua` are the calls scripts made inside Redis, which are no round
    trips.
    """

    sent: list[list[str]] = field(default_factory=list)
    lua: list[list[str]] = field(default_factory=list)

    @property
    def sent_names(self) -> list[str]:
        return [c[0].upper() for c in self.sent]

    @property
    def lua_names(self) -> list[str]:
        return [c[0].upper() for c in self.lua]


class CommandRecorder:
    """``with recorder.record() as log:`` collects what Redis executes inside the block.

    The block's end is marked by an ECHO of a fresh token from a connection of our own: MONITOR
    reports commands in execution order, so everything before the token belongs to the block. Tests
    run one at a time, so no other client talks to the server meanwhile.
    """

    def __init__(self, url: str) -> None:
        self._watcher = redis.Redis.from_url(url, socket_timeout=5)
        self._marker = redis.Redis.from_url(url, socket_timeout=5)
        self._marker.ping()  # its connection handshake (HELLO, ...) happens now, not in a block

    @contextmanager
    def record(self) -> Iterator[CommandLog]:
        log = CommandLog()
        with self._watcher.monitor() as monitor:  # type: ignore[no-untyped-call]
            yield log
            token = f"end-of-block-{uuid.uuid4().hex}"
            self._marker.echo(token)
            while True:
                entry = monitor.next_command()
                words = str(entry["command"]).split(" ")
                if entry["client_type"] == "lua":
                    log.lua.append(words)
                elif words == ["ECHO", token]:
                    break
                else:
                    log.sent.append(words)

    def close(self) -> None:
        self._marker.close()
        self._watcher.close()


_warm: set[str] = set()


def load_scripts(config: SessionConfig) -> None:
    """Have the Redis server know our Lua scripts before a test counts round trips.

    The first script call on a fresh server answers NOSCRIPT and the driver loads every script (a
    one-off cost, not part of any request's budget); saving a throwaway session under its own prefix
    triggers that once per server.
    """
    if not config.url.startswith("redis") or config.url in _warm:
        return
    with SessionStore(config.replace(key_prefix="http-tests-warmup:")) as store:
        session = store.create({"warm": True})
        session["warm"] = False
        assert store.save(session)  # a script call: loads them all
        store.delete(session.id)
    _warm.add(config.url)


@dataclass
class PrivateRedis:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def redis_on_port(port: int) -> Iterator[PrivateRedis]:
    """Run a throwaway redis-server on `port` (as `redis_sessions.testing.redis_server` does, but on
    a port the test chooses, so a restart comes back at the same URL, and with its process at hand
    to freeze it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    with tempfile.TemporaryDirectory() as workdir:
        args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
        proc = subprocess.Popen(
            [*args, "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                        conn.sendall(b"PING\r\n")
                        if conn.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}")
                time.sleep(0.02)
            yield PrivateRedis(f"redis://127.0.0.1:{port}/0", proc)
        finally:
            proc.send_signal(signal.SIGCONT)  # in case a test froze it
            proc.terminate()
            proc.wait(timeout=10)

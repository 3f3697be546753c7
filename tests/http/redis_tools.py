"""Redis-side helpers of the HTTP suite: what a server received (MONITOR), a server a test can
stop, freeze and restart, and loading our scripts before round trips are counted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import redis

from redis_sessions import SessionConfig, SessionStore
from redis_sessions.testing import RedisServer, running_redis_server


@dataclass
class CommandLog:
    """Commands Redis executed while a `CommandRecorder.record` block ran, from MONITOR.

    `sent` are the commands clients sent (each round trip sends at least one, so ``len(sent)`` bounds
    the round trips from above), but ``SCRIPT LOAD``: a driver loads a script it has not used yet on
    that server in the same write as its first call (`loads`). `lua` are the calls scripts made
    inside Redis, which are no round trips.
    """

    sent: list[list[str]] = field(default_factory=list)
    lua: list[list[str]] = field(default_factory=list)
    loads: list[list[str]] = field(default_factory=list)

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
                elif [w.upper() for w in words[:2]] == ["SCRIPT", "LOAD"]:
                    log.loads.append(words)
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
    with SessionStore(config.replace(key_prefix="http-tests-warmup:", observer=None)) as store:
        session = store.create({"warm": True})
        session["warm"] = False
        assert store.save(session)  # a script call: loads them all
        store.delete(session.id)
    _warm.add(config.url)


PrivateRedis = RedisServer


@contextmanager
def redis_on_port(port: int) -> Iterator[RedisServer]:
    """A throwaway redis-server on a port the test chooses, so a restart comes back at the same URL,
    with its process at hand to freeze it."""
    try:
        with running_redis_server(port=port) as server:
            yield server
    except FileNotFoundError:
        pytest.skip("redis-server not installed")

"""The circuit breaker (`redis_sessions._drivers.breaker`), sync and async, against servers that do
not answer: a black hole (a loopback listener that accepts connections and never replies, counting
them) and a frozen redis-server (SIGSTOP).

Promises: after `circuit_breaker_threshold` timeouts in a row, calls fail with ``kind == "circuit
open"`` without a connection attempt until the cool-down ends; then exactly one call probes (the
others still fail at once); a probe that reaches Redis closes the breaker; a refused connection
(nothing listening) never opens it; `health()` reports the state.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from redis_sessions import SessionStore
from redis_sessions.testing import free_port, running_redis_server
from tests.outage._stores import COOLDOWN, SOME_ID, THRESHOLD, TIMEOUT, Caller, config_for, failure_kind


class BlackHole:
    """A TCP listener on 127.0.0.1 that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():  # bounded by close(); each accept waits at most 50 ms
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._listener.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def test_an_open_breaker_makes_no_connection_attempt(black_hole: BlackHole, flavour: str) -> None:
    caller = Caller(config_for(f"redis://127.0.0.1:{black_hole.port}/0"), flavour)
    try:
        assert [caller.kind() for _ in range(THRESHOLD)] == ["timeout"] * THRESHOLD
        tried = black_hole.accepted
        assert tried >= 1
        health = caller("health")
        assert not health.ok and health.breaker == "open" and "circuit breaker open" in health.detail
        refused, slowest = [], 0.0
        for _ in range(50):
            started = time.monotonic()
            refused.append(caller.kind())
            slowest = max(slowest, time.monotonic() - started)
        assert refused == ["circuit open"] * 50
        # No refusal waits out a timeout (each takes well under a millisecond; the bound is per call,
        # so a scheduling stall of the CI machine across the 50 does not fail it: it did once, 0.2 s).
        assert slowest < TIMEOUT
        assert black_hole.accepted == tried  # not one connection attempt while open
        time.sleep(COOLDOWN + 0.05)
        assert caller.kind() == "timeout"  # the probe, on a new connection: it times out
        assert black_hole.accepted == tried + 1
        assert caller.kind() == "circuit open"  # open again for another cool-down
        assert caller("health").breaker == "open"
    finally:
        caller.close()


def test_while_half_open_one_call_probes_and_the_others_fail_at_once(black_hole: BlackHole) -> None:
    with SessionStore(config_for(f"redis://127.0.0.1:{black_hole.port}/0")) as store:
        for _ in range(THRESHOLD):
            failure_kind(lambda: store.get(SOME_ID))
        time.sleep(COOLDOWN + 0.05)
        tried = black_hole.accepted
        kinds: list[str] = []
        start = threading.Barrier(8)

        def call() -> None:
            start.wait(timeout=5)
            kinds.append(failure_kind(lambda: store.get(SOME_ID)))

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert sorted(kinds) == ["circuit open"] * 7 + ["timeout"]
        assert black_hole.accepted == tried + 1


def test_a_frozen_redis_opens_the_breaker_and_the_first_probe_after_it_thaws_closes_it(
    flavour: str,
) -> None:
    with running_redis_server() as server:
        caller = Caller(config_for(server.url), flavour)
        try:
            session = caller("create", {"k": "v"})
            server.process.send_signal(signal.SIGSTOP)
            try:
                assert [caller.kind() for _ in range(THRESHOLD)] == ["timeout"] * THRESHOLD
                assert caller.kind("get", session.id) == "circuit open"
            finally:
                server.process.send_signal(signal.SIGCONT)
            assert caller.kind("get", session.id) == "circuit open"  # back, but still cooling down
            time.sleep(COOLDOWN + 0.05)
            assert dict(caller("get", session.id)) == {"k": "v"}  # the probe: closed again
            assert caller("health").breaker == "closed"
            assert dict(caller("get", session.id)) == {"k": "v"}
        finally:
            caller.close()


def test_refused_connections_never_open_the_breaker(flavour: str) -> None:
    """Nothing listening (Redis restarting) fails at once anyway: a restarted Redis serves the
    very next call."""
    port = free_port()
    caller = Caller(config_for(f"redis://127.0.0.1:{port}/0"), flavour)
    try:
        assert [caller.kind() for _ in range(3 * THRESHOLD)] == ["connection"] * 3 * THRESHOLD
        with running_redis_server(port=port):
            assert caller("get", SOME_ID) is None
            assert caller("health").breaker == "closed"
    finally:
        caller.close()


def test_a_threshold_of_zero_turns_the_breaker_off(black_hole: BlackHole) -> None:
    config = config_for(f"redis://127.0.0.1:{black_hole.port}/0", circuit_breaker_threshold=0)
    with SessionStore(config) as store:
        kinds = [failure_kind(lambda: store.get(SOME_ID)) for _ in range(THRESHOLD + 2)]
        assert kinds == ["timeout"] * (THRESHOLD + 2)
        assert store.health().breaker == "off"

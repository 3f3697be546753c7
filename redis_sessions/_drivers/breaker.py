"""The circuit breaker: while Redis cannot be reached, answer "unavailable" at once instead of
after a timeout.

After `threshold` batches in a row timed out (connecting or waiting for a reply: a server frozen,
overloaded or unreachable through the network; what makes a request wait), the breaker opens: for
`cooldown` seconds every batch raises `BackendUnavailable` (``kind == "circuit open"``) without a
connection attempt. Then it lets one batch through (half-open: the probe; the others still fail at
once): if the probe reaches Redis the breaker closes, else it opens for another `cooldown`. Any
reply from Redis, an error reply included, counts as reaching it; a refused connection (nothing
listens: a restart) fails at once anyway and does not count, so a restarted Redis serves the next
request. One state machine for both drivers: its methods never block.

Our own rather than a library's: pybreaker is sync only (its async path needs Tornado), and the
asyncio breakers do not serve threads; this is the whole of it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from redis_sessions._plan import Batch
from redis_sessions.errors import BackendUnavailable

from .driver import AsyncDriver, Driver

TRIPPING = frozenset({"timeout"})  # failures that cost a wait: what the breaker saves


class CircuitBreaker:
    """Thread-safe breaker state; see the module docstring. `clock` gives seconds (monotonic)."""

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0  # batches in a row that did not reach Redis
        self._opened_at: float | None = None
        self._probing = False
        self._reason = ""

    @property
    def state(self) -> Literal["closed", "open", "half-open"]:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half-open" if self._probing or self._wait() <= 0 else "open"

    def _wait(self) -> float:
        assert self._opened_at is not None
        return self._opened_at + self.cooldown - self._clock()

    def admit(self) -> bool:
        """Before a batch: return whether it is the probe; raise `BackendUnavailable` (``"circuit
        open"``, with `retry_after` in seconds) while the breaker is open or another batch probes."""
        if self._opened_at is None:  # closed: the usual case, without the lock
            return False
        with self._lock:
            if self._opened_at is None:
                return False
            wait = self._wait()
            if wait > 0 or self._probing:
                raise self._refusal(max(wait, 0.0))
            self._probing = True
            return True

    def _refusal(self, wait: float) -> BackendUnavailable:
        error = BackendUnavailable(
            f"circuit breaker open after {self._failures} failures in a row to reach Redis "
            f"({self._reason}); next try in {wait:.1f} s",
            "circuit open",
        )
        error.retry_after = max(1, math.ceil(wait))
        return error

    def reached(self, probe: bool) -> None:
        """After a batch that got replies (error replies included): close the breaker."""
        if not self._failures and self._opened_at is None and not probe:  # nothing to forget
            return
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def failed(self, exc: BackendUnavailable, probe: bool) -> None:
        """After a batch that raised `exc`: count a timeout; open at the threshold."""
        if exc.kind not in TRIPPING:
            self.reached(probe)
            return
        with self._lock:
            self._failures += 1
            self._reason = str(exc)
            if probe or (self._opened_at is None and self._failures >= self.threshold):
                self._opened_at = self._clock()
            if probe:
                self._probing = False

    def abandoned(self, probe: bool) -> None:
        """After a batch cut off by something else (a cancelled task): a probe leaves the breaker
        half-open for the next batch to probe."""
        if probe:
            with self._lock:
                self._probing = False


class GuardedDriver:
    """`Driver` behind a `CircuitBreaker`."""

    def __init__(self, inner: Driver, breaker: CircuitBreaker) -> None:
        self.inner = inner
        self.breaker = breaker
        self.backend = inner.backend

    @property
    def round_trips(self) -> int:
        return self.inner.round_trips

    def execute(self, batch: Batch, keep_errors: bool = False) -> list[Any]:
        probe = self.breaker.admit()
        try:
            replies = self.inner.execute(batch, keep_errors)
        except BackendUnavailable as exc:
            self.breaker.failed(exc, probe)
            raise
        except BaseException:
            self.breaker.abandoned(probe)
            raise
        self.breaker.reached(probe)
        return replies

    def probe(self, batch: Batch) -> list[Any]:
        return self.execute(batch, keep_errors=True)

    def close(self) -> None:
        self.inner.close()


class AsyncGuardedDriver:
    """`AsyncDriver` behind a `CircuitBreaker`."""

    def __init__(self, inner: AsyncDriver, breaker: CircuitBreaker) -> None:
        self.inner = inner
        self.breaker = breaker
        self.backend = inner.backend

    @property
    def round_trips(self) -> int:
        return self.inner.round_trips

    async def execute(self, batch: Batch, keep_errors: bool = False) -> list[Any]:
        probe = self.breaker.admit()
        try:
            replies = await self.inner.execute(batch, keep_errors)
        except BackendUnavailable as exc:
            self.breaker.failed(exc, probe)
            raise
        except BaseException:
            self.breaker.abandoned(probe)
            raise
        self.breaker.reached(probe)
        return replies

    async def probe(self, batch: Batch) -> list[Any]:
        return await self.execute(batch, keep_errors=True)

    async def close(self) -> None:
        await self.inner.close()

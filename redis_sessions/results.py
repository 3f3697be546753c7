"""Result types of store operations."""

from __future__ import annotations

from dataclasses import dataclass

from .session import Session


@dataclass(frozen=True, slots=True)
class SessionPage:
    """One page of `list_sessions`: pass `next_cursor` back for the next; None at the end."""

    sessions: list[Session]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Outcome of `health()` (`redis_sessions._health`).

    `ok`: the store can serve sessions (Redis reachable, answering, every needed command permitted).
    `latency_ms`: the health check's one round trip, in milliseconds (None when unreachable).
    `degraded`: served, but sessions are at risk: a ``maxmemory-policy`` that evicts them, evictions
    seen (``INFO stats evicted_keys``), or memory over 90% of ``maxmemory``. `detail` says all of it
    in words. `missing_permissions`: ACL rules the Redis user lacks (``"+evalsha"``, ``"~prefix*"``).
    `maxmemory_policy`, `evicted_keys`, `used_memory` and `maxmemory` (bytes; 0: no limit) as ``INFO``
    gives them, summed over a Cluster's primaries; None when not read. `breaker`: the
    circuit breaker's state, ``"closed"``, ``"open"`` (the check was refused without calling Redis),
    ``"half-open"``, or ``"off"`` (``memory://``, or `circuit_breaker_threshold` 0). With
    ``on_backend_error="fallback"``: `fallback`, whether requests are being served from this
    process because Redis is down, and `fallback_sessions`, how many sessions it holds for that
    (cached, or in use during the outage); None without a fallback.
    """

    ok: bool
    backend: str
    latency_ms: float | None
    degraded: bool
    detail: str
    missing_permissions: tuple[str, ...] = ()
    maxmemory_policy: str | None = None
    evicted_keys: int | None = None
    breaker: str = "off"
    fallback: bool = False
    fallback_sessions: int | None = None
    used_memory: int | None = None
    maxmemory: int | None = None

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
    """Outcome of `health()`: `latency_ms` is one PING round trip in milliseconds."""

    ok: bool
    backend: str
    latency_ms: float | None
    degraded: bool
    detail: str

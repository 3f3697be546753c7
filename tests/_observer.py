"""`Recorder`: a `SessionObserver` that keeps every call, for tests of what stores report."""

from __future__ import annotations

import threading
from typing import Any

from redis_sessions.observer import SessionObserver


class Recorder(SessionObserver):
    """Every call as ``(method, args...)``, in order (thread-safe)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def _add(self, *call: Any) -> None:
        with self._lock:
            self.calls.append(call)

    def operation(self, name: str, outcome: str, start_ns: int, end_ns: int) -> None:
        assert 0 < start_ns <= end_ns
        self._add("operation", name, outcome)

    def session_created(self) -> None:
        self._add("created")

    def session_regenerated(self) -> None:
        self._add("regenerated")

    def session_destroyed(self, reason: str, count: int = 1) -> None:
        self._add("destroyed", reason, count)

    def cookie_rejected(self, reason: str) -> None:
        self._add("rejected", reason)

    def backend_error(self, kind: str) -> None:
        self._add("backend_error", kind)

    def fallback_changed(self, active: bool) -> None:
        self._add("fallback", active)

    def events(self) -> list[tuple[Any, ...]]:
        """The calls other than `operation`."""
        return [c for c in self.calls if c[0] != "operation"]

    def operations(self) -> list[tuple[str, str]]:
        return [(c[1], c[2]) for c in self.calls if c[0] == "operation"]

    def take(self) -> list[tuple[Any, ...]]:
        """`events()`, then forget every call."""
        with self._lock:
            events = [c for c in self.calls if c[0] != "operation"]
            self.calls.clear()
        return events

"""`OpenTelemetryObserver`: the store's figures as OpenTelemetry metrics, and a span per operation
(``opentelemetry-api``; the app's SDK, if any, exports them).

The store talks to Redis on its own connections (never through redis-py's ``execute_command``,
which `opentelemetry-instrumentation-redis` wraps), so that instrumentation does not see the
store's commands: the spans here stand in for them, one CLIENT span per store operation, with the
database attributes of OpenTelemetry's semantic conventions.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from redis_sessions.metrics import DURATION_BUCKETS
from redis_sessions.observer import SessionObserver

_SCOPE = "redis_sessions"


class OpenTelemetryObserver(SessionObserver):
    """OpenTelemetry instruments for every store sharing this observer.

    Metrics (names and units after the ``db.client.operation.duration`` convention):

    - ``redis_sessions.operation.duration`` (histogram, ``s``), attributes ``db.system.name``
      (``redis``), ``db.operation.name`` (the operation) and, on failure, ``error.type``
      (``unavailable`` or ``error``);
    - ``redis_sessions.sessions.created``, ``redis_sessions.sessions.regenerated``,
      ``redis_sessions.sessions.destroyed`` (attribute ``redis_sessions.reason``),
      ``redis_sessions.cookies.rejected`` (``redis_sessions.reason``),
      ``redis_sessions.backend.errors`` (``error.type``: `BackendUnavailable.kind`): counters;
    - ``redis_sessions.fallback.active``: up-down counter, the stores whose fallback serves now.

    With `spans` (default), each operation is also a CLIENT span ``redis_sessions <operation>``
    placed at its start and end times, a child of the span current when it ended (the request's).
    `meter_provider` / `tracer_provider`: the global ones unless given.
    """

    def __init__(
        self, meter_provider: Any = None, tracer_provider: Any = None, *, spans: bool = True
    ) -> None:
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "redis_sessions.operation.duration",
            unit="s",
            description="Session store operations, in seconds.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self.created = meter.create_counter("redis_sessions.sessions.created", unit="{session}")
        self.regenerated = meter.create_counter("redis_sessions.sessions.regenerated", unit="{session}")
        self.destroyed = meter.create_counter("redis_sessions.sessions.destroyed", unit="{session}")
        self.rejected = meter.create_counter("redis_sessions.cookies.rejected", unit="{cookie}")
        self.errors = meter.create_counter("redis_sessions.backend.errors", unit="{error}")
        self.fallback = meter.create_up_down_counter("redis_sessions.fallback.active", unit="1")
        self.tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider) if spans else None
        self._attributes: dict[tuple[str, str], dict[str, str]] = {}

    def operation(self, name: str, outcome: str, start_ns: int, end_ns: int) -> None:
        attributes = self._attributes.get((name, outcome))
        if attributes is None:
            attributes = {"db.system.name": "redis", "db.operation.name": name}
            if outcome != "ok":
                attributes["error.type"] = outcome
            self._attributes[name, outcome] = attributes
        self.duration.record((end_ns - start_ns) / 1e9, attributes)
        if self.tracer is not None:
            span = self.tracer.start_span(
                f"redis_sessions {name}", kind=SpanKind.CLIENT, attributes=attributes, start_time=start_ns
            )
            if outcome != "ok":
                span.set_status(Status(StatusCode.ERROR, outcome))
            span.end(end_time=end_ns)

    def session_created(self) -> None:
        self.created.add(1)

    def session_regenerated(self) -> None:
        self.regenerated.add(1)

    def session_destroyed(self, reason: str, count: int = 1) -> None:
        self.destroyed.add(count, {"redis_sessions.reason": reason})

    def cookie_rejected(self, reason: str) -> None:
        self.rejected.add(1, {"redis_sessions.reason": reason})

    def backend_error(self, kind: str) -> None:
        self.errors.add(1, {"error.type": kind})

    def fallback_changed(self, active: bool) -> None:
        self.fallback.add(1 if active else -1)

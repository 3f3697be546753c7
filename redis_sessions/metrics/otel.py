"""`OpenTelemetryObserver`: the store's figures as OpenTelemetry metrics, and a span per operation
(``opentelemetry-api``; the app's SDK, if any, exports them).

The store talks to Redis on its own connections (never through redis-py's ``execute_command``,
which `opentelemetry-instrumentation-redis` wraps), so that instrumentation does not see the
store's commands: the spans here stand in for them, one CLIENT span per store operation, with the
database attributes of OpenTelemetry's semantic conventions.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode

from redis_sessions.errors import BackendUnavailable
from redis_sessions.metrics import DURATION_BUCKETS
from redis_sessions.observer import SessionObserver

_SCOPE = "redis_sessions"
_REASON = "redis_sessions.reason"


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

    The counters are asynchronous (counted here, read by the SDK when it collects): a synchronous
    instrument costs 15-25 µs per call in the OpenTelemetry SDK, so only the duration histogram is
    recorded on the request path, once per operation. With `spans` (default), each operation is
    also a CLIENT span ``redis_sessions <operation>`` placed at its start and end times, a child of
    the span current when it ended (the request's). `meter_provider` / `tracer_provider`: the
    global ones unless given.
    """

    def __init__(
        self, meter_provider: Any = None, tracer_provider: Any = None, *, spans: bool = True
    ) -> None:
        self.meter = meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "redis_sessions.operation.duration",
            unit="s",
            description="Session store operations, in seconds.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self._counts: dict[tuple[str, str | None], int] = defaultdict(int)
        self._lock = threading.Lock()
        for name, unit, label, description in (
            ("sessions.created", "{session}", None, "Sessions created."),
            ("sessions.regenerated", "{session}", None, "Sessions moved to a fresh id."),
            ("sessions.destroyed", "{session}", _REASON, "Sessions ended, by reason."),
            ("cookies.rejected", "{cookie}", _REASON, "Session cookies not honoured, by reason."),
            ("backend.errors", "{error}", "error.type", "Redis calls that failed, by kind."),
        ):
            meter.create_observable_counter(
                f"redis_sessions.{name}", [self._reader(name, label)], unit=unit, description=description
            )
        meter.create_observable_up_down_counter(
            "redis_sessions.fallback.active",
            [self._reader("fallback.active", None)],
            unit="1",
            description="Session stores serving from their in-process fallback now.",
        )
        self.tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider) if spans else None
        self._attributes: dict[tuple[str, str], dict[str, str]] = {}

    def observe_active_sessions(self, store: Any) -> None:
        """Report `store.active_count()` as the gauge ``redis_sessions.sessions.active`` at each
        collection (one round trip; needs ``track_active_sessions=True``). `store`: a sync
        `SessionStore` (the SDK collects in its own thread). A collection while Redis is
        unreachable reports no value for it."""

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            try:
                return [Observation(store.active_count())]
            except BackendUnavailable:
                return []

        self.meter.create_observable_gauge(
            "redis_sessions.sessions.active",
            [observe],
            unit="{session}",
            description="Sessions alive in Redis (the active-session gauge).",
        )

    def _reader(self, name: str, label: str | None) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            with self._lock:
                counted = [(value, n) for (metric, value), n in self._counts.items() if metric == name]
            if label is None:
                return [Observation(sum(n for _, n in counted))]
            return [Observation(n, {label: value}) for value, n in counted]

        return observe

    def _count(self, name: str, value: str | None = None, n: int = 1) -> None:
        with self._lock:
            self._counts[name, value] += n

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
        self._count("sessions.created")

    def session_regenerated(self) -> None:
        self._count("sessions.regenerated")

    def session_destroyed(self, reason: str, count: int = 1) -> None:
        self._count("sessions.destroyed", reason, count)

    def cookie_rejected(self, reason: str) -> None:
        self._count("cookies.rejected", reason)

    def backend_error(self, kind: str) -> None:
        self._count("backend.errors", kind)

    def fallback_changed(self, active: bool) -> None:
        self._count("fallback.active", None, 1 if active else -1)

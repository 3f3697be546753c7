"""`PrometheusObserver`: the store's figures as Prometheus metrics (``prometheus_client``).

Names follow Prometheus' conventions (base units, ``_seconds``, ``_total``), under a namespace
(default ``redis_sessions``); labels hold only the closed sets of `redis_sessions.observer`, never a
session or user id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from redis_sessions.errors import BackendUnavailable
from redis_sessions.metrics import DURATION_BUCKETS
from redis_sessions.observer import SessionObserver


class PrometheusObserver(SessionObserver):
    """Prometheus metrics for every store sharing this observer (give one `SessionConfig` to all).

    - ``redis_sessions_operation_duration_seconds{operation, outcome}``: histogram; its
      ``_count`` is the operations by kind and outcome (``ok``, ``unavailable``, ``error``);
    - ``redis_sessions_created_total``, ``redis_sessions_regenerated_total``,
      ``redis_sessions_destroyed_total{reason}`` (``logout``, ``revoked``, ``emptied``, ``expired``);
    - ``redis_sessions_cookies_rejected_total{reason}`` (``tampered``, ``unknown``, ``expired``);
    - ``redis_sessions_backend_errors_total{kind}`` (`BackendUnavailable.kind`);
    - ``redis_sessions_fallback_active``: stores (of this process) whose fallback serves now.

    `registry`: where to register (prometheus_client's default registry unless given);
    `namespace`: the name prefix. Raises ``ValueError`` (prometheus_client's) when the names are
    already registered there: make one observer per registry and share it.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = REGISTRY,
        namespace: str = "redis_sessions",
        buckets: tuple[float, ...] = DURATION_BUCKETS,
    ) -> None:
        def named(name: str) -> dict[str, Any]:
            return {"name": name, "namespace": namespace, "registry": registry}

        self.duration = Histogram(
            documentation="Session store operations by name and outcome, in seconds.",
            labelnames=("operation", "outcome"),
            buckets=buckets,
            **named("operation_duration_seconds"),
        )
        self.created = Counter(documentation="Sessions created.", **named("created"))
        self.regenerated = Counter(
            documentation="Sessions moved to a fresh id (login, regenerate, cycle_key).",
            **named("regenerated"),
        )
        self.destroyed = Counter(
            documentation="Sessions ended, by reason.", labelnames=("reason",), **named("destroyed")
        )
        self.cookies_rejected = Counter(
            documentation="Session cookies not honoured, by reason.",
            labelnames=("reason",),
            **named("cookies_rejected"),
        )
        self.backend_errors = Counter(
            documentation="Redis calls that failed, by kind.", labelnames=("kind",), **named("backend_errors")
        )
        self.fallback_active = Gauge(
            documentation="Session stores serving from their in-process fallback now.",
            multiprocess_mode="livesum",
            **named("fallback_active"),
        )
        # Label children resolved once: `.labels()` costs a lock and a dict lookup per call.
        self._timers: dict[tuple[str, str], Any] = {}

    def operation(self, name: str, outcome: str, start_ns: int, end_ns: int) -> None:
        timer = self._timers.get((name, outcome))
        if timer is None:
            timer = self._timers[name, outcome] = self.duration.labels(name, outcome)
        timer.observe((end_ns - start_ns) / 1e9)

    def session_created(self) -> None:
        self.created.inc()

    def session_regenerated(self) -> None:
        self.regenerated.inc()

    def session_destroyed(self, reason: str, count: int = 1) -> None:
        self.destroyed.labels(reason).inc(count)

    def cookie_rejected(self, reason: str) -> None:
        self.cookies_rejected.labels(reason).inc()

    def backend_error(self, kind: str) -> None:
        self.backend_errors.labels(kind).inc()

    def fallback_changed(self, active: bool) -> None:
        if active:
            self.fallback_active.inc()
        else:
            self.fallback_active.dec()


class ActiveSessionsCollector(Collector):
    """``redis_sessions_active_sessions``: the active-session gauge, read from Redis at each scrape
    (`SessionStore.active_count`: one round trip; needs ``track_active_sessions=True``).

    `store`: a sync `SessionStore` (scrapes run in prometheus_client's thread). A scrape while
    Redis is unreachable reports no sample rather than failing the whole scrape. Register it with
    ``registry.register(ActiveSessionsCollector(store))``.
    """

    def __init__(self, store: Any, namespace: str = "redis_sessions") -> None:
        self.store = store
        self.name = f"{namespace}_active_sessions"

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self.name, "Sessions alive in Redis (the active-session gauge).")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, "Sessions alive in Redis (the active-session gauge).")
        with contextlib.suppress(BackendUnavailable):
            family.add_metric([], self.store.active_count())
        yield family

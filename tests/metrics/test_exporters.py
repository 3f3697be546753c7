"""The Prometheus and OpenTelemetry observers, read back from a real registry and an in-memory
reader, on a real Redis (sync and async stores)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from redis_sessions import AsyncSessionStore, BackendUnavailable, SessionConfig, SessionStore
from redis_sessions.metrics import ActiveSessionsCollector, OpenTelemetryObserver, PrometheusObserver
from redis_sessions.observer import SessionObserver
from redis_sessions.testing import RedisServer, free_port, running_redis_server
from tests.conftest import SECRET

pytestmark = pytest.mark.anyio
SOME_ID = "abcd" + "A" * 23


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def config(url: str, prefix: str, observer: SessionObserver, **more: Any) -> SessionConfig:
    return SessionConfig(url=url, secret_keys=[SECRET], key_prefix=prefix, observer=observer, **more)


async def exercise(store: SessionStore | AsyncSessionStore) -> None:
    """One session's life through the store, sync or async."""

    async def call(result: Any) -> Any:
        return await result if isinstance(store, AsyncSessionStore) else result

    session = await call(store.create({"a": 1}))
    await call(store.get(session.id))
    await call(store.regenerate(session))
    await call(store.open_request("forged"))  # no I/O: rejected, and no operation
    await call(store.open_request(store.signer.sign(session.id)))
    await call(store.delete(session.id))


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_prometheus_metrics_read_back(
    kind: str, redis_url: str, key_prefix: str, registry: CollectorRegistry
) -> None:
    observer = PrometheusObserver(registry=registry)
    made = config(redis_url, key_prefix, observer)
    if kind == "sync":
        with SessionStore(made) as store:
            await exercise(store)
    else:
        async with AsyncSessionStore(made) as astore:
            await exercise(astore)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(f"redis_sessions_{name}", labels)

    for operation in ("create", "get", "regenerate", "request_start", "delete"):
        assert value("operation_duration_seconds_count", operation=operation, outcome="ok") == 1
    assert 0 < (value("operation_duration_seconds_sum", operation="get", outcome="ok") or 0) < 1
    assert value("created_total") == 1
    assert value("regenerated_total") == 1
    assert value("destroyed_total", reason="revoked") == 1
    assert value("cookies_rejected_total", reason="tampered") == 1
    assert value("fallback_active") == 0
    exposition = generate_latest(registry).decode()
    assert key_prefix not in exposition and "session:" not in exposition


def test_backend_errors_by_kind(key_prefix: str, registry: CollectorRegistry) -> None:
    observer = PrometheusObserver(registry=registry)
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with SessionStore(config(closed, key_prefix, observer)) as store:
        for _ in range(2):
            with pytest.raises(BackendUnavailable):
                store.get(SOME_ID)
    labels = {"operation": "get", "outcome": "unavailable"}
    assert registry.get_sample_value("redis_sessions_operation_duration_seconds_count", labels) == 2
    assert registry.get_sample_value("redis_sessions_backend_errors_total", {"kind": "connection"}) == 2


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with running_redis_server() as running:
        yield running


def test_fallback_state_and_the_outage_cause(
    server: RedisServer, key_prefix: str, registry: CollectorRegistry
) -> None:
    observer = PrometheusObserver(registry=registry)
    fallback = {"on_backend_error": "fallback", "command_timeout": 0.2, "circuit_breaker_threshold": 1}
    with SessionStore(config(server.url, key_prefix, observer, **fallback)) as store:
        session = store.create({"a": 1})
        server.process.send_signal(signal.SIGSTOP)
        try:
            assert store.get(session.id) is not None  # served by the fallback
            assert registry.get_sample_value("redis_sessions_fallback_active") == 1
        finally:
            server.process.send_signal(signal.SIGCONT)
        labels = {"kind": "timeout"}
        assert registry.get_sample_value("redis_sessions_backend_errors_total", labels) == 1


async def test_opentelemetry_metrics_and_spans(redis_url: str, key_prefix: str) -> None:
    reader = InMemoryMetricReader()
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    observer = OpenTelemetryObserver(MeterProvider(metric_readers=[reader]), tracer_provider)
    async with AsyncSessionStore(config(redis_url, key_prefix, observer)) as store:
        with tracer_provider.get_tracer("test").start_as_current_span("request") as request_span:
            await exercise(store)

    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, list[Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "redis_sessions"
            for metric in scope.metrics:
                points[metric.name] = list(metric.data.data_points)
    durations = {p.attributes["db.operation.name"]: p for p in points["redis_sessions.operation.duration"]}
    assert set(durations) == {"create", "get", "regenerate", "request_start", "delete"}
    assert durations["get"].count == 1
    assert durations["get"].attributes["db.system.name"] == "redis"
    assert durations["get"].explicit_bounds[0] == 0.0001
    assert [p.value for p in points["redis_sessions.sessions.created"]] == [1]
    assert [(dict(p.attributes), p.value) for p in points["redis_sessions.cookies.rejected"]] == [
        ({"redis_sessions.reason": "tampered"}, 1)
    ]

    finished = spans.get_finished_spans()
    names = [s.name for s in finished if s.name.startswith("redis_sessions")]
    operations = ("create", "get", "regenerate", "request_start", "delete")
    assert names == [f"redis_sessions {op}" for op in operations]
    get_span = next(s for s in finished if s.name == "redis_sessions get")
    assert get_span.parent is not None
    assert get_span.parent.span_id == request_span.get_span_context().span_id
    assert get_span.attributes is not None and get_span.attributes["db.operation.name"] == "get"
    assert get_span.start_time is not None and get_span.end_time is not None
    assert 0 < get_span.end_time - get_span.start_time < 10**9


def test_the_active_gauge_in_a_prometheus_scrape(redis_url: str, key_prefix: str) -> None:
    registry = CollectorRegistry()
    made = config(redis_url, key_prefix, PrometheusObserver(registry=registry), track_active_sessions=True)
    with SessionStore(made) as store:
        registry.register(ActiveSessionsCollector(store))
        for n in range(3):
            store.create({"n": n})
        assert registry.get_sample_value("redis_sessions_active_sessions") == 3
    closed = config(
        f"redis://127.0.0.1:{free_port()}/0", key_prefix, SessionObserver(), track_active_sessions=True
    )
    other = CollectorRegistry()
    with SessionStore(closed) as down:
        other.register(ActiveSessionsCollector(down))
        assert other.get_sample_value("redis_sessions_active_sessions") is None  # no sample, no failure
        assert "redis_sessions_active_sessions" in generate_latest(other).decode()  # described still


def test_the_active_gauge_in_an_opentelemetry_collection(redis_url: str, key_prefix: str) -> None:
    reader = InMemoryMetricReader()
    observer = OpenTelemetryObserver(MeterProvider(metric_readers=[reader]), spans=False)
    with SessionStore(config(redis_url, key_prefix, observer, track_active_sessions=True)) as store:
        observer.observe_active_sessions(store)
        store.create({"a": 1})
        data = reader.get_metrics_data()
    assert data is not None
    values = [
        point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "redis_sessions.sessions.active"
        for point in metric.data.data_points
        if isinstance(point, NumberDataPoint)
    ]
    assert values == [1]

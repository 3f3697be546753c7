#!/usr/bin/env python
"""What metrics cost per request, and what the active-session gauge costs to read at a million sessions.

Run from the repository root::

    .venv/bin/python benchmarks/metrics_sessions.py            # full run (a million sessions: minutes)
    .venv/bin/python benchmarks/metrics_sessions.py --quick    # a smoke test (10,000 sessions)
    .venv/bin/python benchmarks/metrics_sessions.py --json results.json

One private redis-server (`redis_sessions.testing`), stopped by its PID at the end.

1. Per request: the Starlette app of ``asgi_sessions.py`` behind our ``SessionMiddleware``, driven
   in-process (a hand-built scope straight into the app), with the store's ``observer`` off; with
   `PrometheusObserver` (a private registry); with `OpenTelemetryObserver` on the OpenTelemetry SDK
   (an in-memory metric reader), without spans and with them (a tracer provider without exporters:
   the spans are made, not shipped); and with ``track_active_sessions`` (observer off). Each also
   with Redis' replies canned (`outage_sessions.CannedByCall`: no I/O, the in-process cost alone),
   which is where a few microseconds can be seen at all. Every cell is timed in turn within each
   repeat; "- off" is the difference of the medians, with the range of the per-repeat differences.
2. The gauge: ``--gauge-sessions`` sessions (a million) stored with ``SessionStore.save_many`` and
   ``track_active_sessions``; ``active_count()`` timed ``--gauge-runs`` times against one full
   ``count()`` (a SCAN walk), round trips counted by the store; the gauge's Redis memory by
   ``MEMORY USAGE`` of its keys, per session.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import starlette
from _cells import Cell, request_steps, seed_sessions, time_cells
from _cli import Counts, finish, make_parser, needs_redis_server, parse
from _measure import pin_all
from _report import KIND, heading, run_meta, table, target_lines
from asgi_sessions import SECRET, Step, build_app
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from outage_sessions import CannedByCall
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware

import redis_sessions
from redis_sessions import AsyncSessionStore, SessionConfig, SessionStore
from redis_sessions._plan import Command
from redis_sessions.integrations.asgi import SessionMiddleware
from redis_sessions.metrics import OpenTelemetryObserver, PrometheusObserver
from redis_sessions.observer import SessionObserver
from redis_sessions.testing import RedisServer, running_redis_server

COUNTS = Counts(iterations=(500, 100), warmup=(200, 50), repeats=(20, 3))
MODES = ("off", "prometheus", "otel", "otel+spans", "active gauge")
OPERATIONS = {"b": KIND["b"].label, "d": KIND["d"].label, "e": KIND["e"].label}
TARGET_DELTA_US = 5.0  # the issue: metrics on cost at most 5 µs per request
NO_IO = ", no I/O"


def observer_for(mode: str) -> SessionObserver | None:
    if mode == "prometheus":
        return PrometheusObserver(registry=CollectorRegistry())
    if mode.startswith("otel"):
        meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
        return OpenTelemetryObserver(meters, TracerProvider(), spans=mode == "otel+spans")
    return None


@dataclass
class Subject:
    mode: str
    store: AsyncSessionStore
    app: Starlette
    cookies: list[bytes] = field(default_factory=list)

    def steps(self, op: str, n: int) -> list[Step]:
        return request_steps(self.app, op, self.cookies, n)


async def open_subject(url: str, mode: str, sessions: int, cookies: list[bytes] | None = None) -> Subject:
    config = SessionConfig(
        url=url,
        secret_keys=[SECRET],
        key_prefix="metrics-bench:",
        observer=observer_for(mode),
        track_active_sessions=mode == "active gauge",
    )
    store = AsyncSessionStore(config)
    app = build_app([Middleware(SessionMiddleware, store=store)])
    if cookies is None:
        cookies, _ = await seed_sessions(app, store, sessions)
    return Subject(mode, store, app, cookies)


async def canned(subject: Subject, record: bytes) -> Subject:
    """`subject` again, its store's Redis replaced by canned replies (no I/O)."""
    store = AsyncSessionStore(subject.store.config)
    store._driver = CannedByCall(record)  # type: ignore[assignment]
    app = build_app([Middleware(SessionMiddleware, store=store)])
    return Subject(subject.mode + NO_IO, store, app, subject.cookies)


async def round_trips(subject: Subject, op: str, n: int) -> float:
    before = subject.store.round_trips
    for step in subject.steps(op, n):
        await step()
    return (subject.store.round_trips - before) / n


async def measure_requests(args: argparse.Namespace, server: RedisServer) -> dict[str, Any]:
    first = await open_subject(server.url, MODES[0], args.sessions)
    subjects = [first, *[await open_subject(server.url, m, 0, first.cookies) for m in MODES[1:]]]
    try:
        trips = {
            f"{s.mode}/{op}": await round_trips(s, op, args.traffic_requests)
            for s in subjects
            for op in OPERATIONS
        }
        session_id = first.store.signer.unsign(first.cookies[0].split(b"=", 1)[1].decode())
        assert session_id is not None
        key = first.store._core.keys.session_key(session_id)
        (record,) = await first.store._driver.execute([Command(("GET", key))])
        everyone = [*subjects, *[await canned(s, record) for s in subjects]]
        cells = [
            Cell(f"{s.mode}/{op}", functools.partial(s.steps, op)) for op in OPERATIONS for s in everyone
        ]
        await time_cells(cells, args.repeats, args.iterations, args.warmup, "requests")
        return {
            "otel_sdk_record_us": sdk_record_us(),
            "round_trips": trips,
            "requests": {
                c.key: {**c.timing.summary(), "repeat_medians_us": c.repeat_medians_us} for c in cells
            },
        }
    finally:
        for s in subjects:
            await s.store.close()


def sdk_record_us(n: int = 20_000) -> float:
    """What one `Histogram.record` costs in the OpenTelemetry SDK alone (µs; best of 5 runs)."""
    meter = MeterProvider(metric_readers=[InMemoryMetricReader()]).get_meter("bench")
    histogram = meter.create_histogram("h")
    attributes = {"db.system.name": "redis", "db.operation.name": "get"}
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter_ns()
        for _ in range(n):
            histogram.record(0.0002, attributes)
        best = min(best, (time.perf_counter_ns() - started) / n / 1000)
    return best


def measure_gauge(args: argparse.Namespace, server: RedisServer) -> dict[str, Any]:
    config = SessionConfig(
        url=server.url, secret_keys=[SECRET], key_prefix="gauge-bench:", track_active_sessions=True
    )
    admin = redis.Redis.from_url(server.url)
    with SessionStore(config) as store:
        memory_before = int(admin.info("memory")["used_memory"])
        started = time.perf_counter()
        made = 0
        while made < args.gauge_sessions:
            chunk = min(1000, args.gauge_sessions - made)
            store.save_many([store.new_session({"user": "x" * 16, "n": made + i}) for i in range(chunk)])
            made += chunk
            if made % 100_000 == 0:
                print(f"  gauge: {made} sessions stored", file=sys.stderr)
        seed_s = time.perf_counter() - started
        memory_after = int(admin.info("memory")["used_memory"])
        active = store._core.active
        assert active is not None
        gauge_bytes = 0
        for shard in active.shards:
            for key in shard:
                gauge_bytes += int(admin.memory_usage(key, samples=0) or 0)
        gauge_ms, gauge_trips = [], []
        for _ in range(args.gauge_runs):
            before = store.round_trips
            started = time.perf_counter()
            counted = store.active_count()
            gauge_ms.append((time.perf_counter() - started) * 1000)
            gauge_trips.append(store.round_trips - before)
            assert counted == args.gauge_sessions, (counted, args.gauge_sessions)
        before = store.round_trips
        started = time.perf_counter()
        walked = store.count()
        count_ms = (time.perf_counter() - started) * 1000
        count_trips = store.round_trips - before
        assert walked == args.gauge_sessions
    admin.close()
    return {
        "sessions": args.gauge_sessions,
        "seed_seconds": round(seed_s, 1),
        "active_count_ms": gauge_ms,
        "active_count_round_trips": gauge_trips,
        "count_ms": count_ms,
        "count_round_trips": count_trips,
        "gauge_bytes": gauge_bytes,
        "used_memory_delta": memory_after - memory_before,
    }


def delta(results: dict[str, Any], mode: str, op: str, suffix: str = "") -> tuple[float, float, float]:
    """`mode` - off for `op`: median (µs), and the range of the per-repeat median differences."""
    off, on = results["requests"][f"off{suffix}/{op}"], results["requests"][f"{mode}{suffix}/{op}"]
    per_repeat = [a - b for a, b in zip(on["repeat_medians_us"], off["repeat_medians_us"], strict=True)]
    return on["median_us"] - off["median_us"], min(per_repeat), max(per_repeat)


def quiet_delta(results: dict[str, Any], mode: str, op: str) -> float:
    """`mode` - off without I/O between the quietest repeats (the lowest per-repeat medians)."""
    off, on = results["requests"][f"off{NO_IO}/{op}"], results["requests"][f"{mode}{NO_IO}/{op}"]
    return float(min(on["repeat_medians_us"]) - min(off["repeat_medians_us"]))


def request_rows(results: dict[str, Any], suffix: str) -> list[list[str]]:
    rows = []
    for op, label in OPERATIONS.items():
        for mode in MODES:
            t = results["requests"][f"{mode}{suffix}/{op}"]
            rt = "-" if suffix else f"{results['round_trips'][f'{mode}/{op}']:g}"
            shift = ""
            if mode != "off":
                med, low, high = delta(results, mode, op, suffix)
                shift = f"{med:+.1f} ({low:+.1f} to {high:+.1f})"
            first = label if mode == "off" else ""
            rows.append(
                [first, mode, f"{t['median_us']:.1f}", f"{t['p99_us']:.1f}", f"{t['cpu_us']:.1f}", shift, rt]
            )
    return rows


def report(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = heading(
        meta, "Our ASGI middleware with metrics off and on", f"Starlette {meta['starlette']}", "iterations"
    )
    headers = ["request", "metrics", "median", "p99", "CPU", "- off (per repeat)", "RT"]
    lines += ["", "Real Redis (µs per request; CPU = this process's; RT = round trips per request):"]
    lines.append(table(headers, request_rows(results, ""), {2, 3, 4}))
    lines += ["", "Redis' replies canned (no I/O: the in-process cost alone):"]
    lines.append(table(headers, request_rows(results, NO_IO), {2, 3, 4}))
    g = results["gauge"]
    gauge_ms = g["active_count_ms"]
    lines += [
        "",
        f"Active-session gauge at {g['sessions']:,} sessions (stored in {g['seed_seconds']:.0f} s):",
        f"  active_count(): median {statistics.median(gauge_ms):.2f} ms (min {min(gauge_ms):.2f}, max "
        f"{max(gauge_ms):.2f}) over {len(gauge_ms)} runs, {max(g['active_count_round_trips'])} round trip(s)",
        f"  count() (SCAN walk): {g['count_ms']:.0f} ms, {g['count_round_trips']} round trips",
        f"  gauge memory: {g['gauge_bytes'] / g['sessions']:.0f} bytes per session (MEMORY USAGE of its "
        f"{3 * 16} keys); all of Redis grew {g['used_memory_delta'] / g['sessions']:.0f} bytes per session",
    ]
    lines += ["", *target_lines(results["targets"])]
    return "\n".join(lines)


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    for mode in MODES[1:]:
        worst = max(quiet_delta(results, mode, op) for op in OPERATIONS)
        checks.append(
            {
                "name": f"{mode}: at most {TARGET_DELTA_US:g} µs per request over metrics off (no I/O)",
                "ok": worst <= TARGET_DELTA_US,
                "detail": ", ".join(
                    f"{KIND[op].label} {quiet_delta(results, mode, op):+.1f} µs" for op in OPERATIONS
                )
                + " (between the quietest repeats)"
                + (
                    f"; the SDK's Histogram.record alone: {results['otel_sdk_record_us']:.1f} µs a call"
                    if mode.startswith("otel")
                    else ""
                ),
            }
        )
    read_rt = {mode: results["round_trips"][f"{mode}/b"] for mode in MODES}
    checks.append(
        {
            "name": "a read is one round trip in every mode",
            "ok": set(read_rt.values()) == {1},
            "detail": ", ".join(f"{m} {rt:g}" for m, rt in read_rt.items()),
        }
    )
    g = results["gauge"]
    checks.append(
        {
            "name": f"active_count() at {g['sessions']:,} sessions: one round trip, a few ms",
            "ok": max(g["active_count_round_trips"]) == 1 and statistics.median(g["active_count_ms"]) < 50,
            "detail": f"median {statistics.median(g['active_count_ms']):.2f} ms, "
            f"count() {g['count_ms']:.0f} ms",
        }
    )
    return checks


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = make_parser("Time metrics off and on, and the active-session gauge.", COUNTS, pin="this process")
    parser.add_argument("--sessions", type=int, default=30, help="seeded sessions the requests cycle over")
    parser.add_argument(
        "--gauge-sessions", type=int, help="sessions the gauge counts (1,000,000; quick 10,000)"
    )
    parser.add_argument("--gauge-runs", type=int, default=20, help="timed active_count() calls")
    args = parse(parser, COUNTS, argv, "sessions", "gauge_runs")
    if args.gauge_sessions is None:
        args.gauge_sessions = 10_000 if args.quick else 1_000_000
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(None if argv is None else list(argv))
    started = time.monotonic()
    with needs_redis_server(), running_redis_server() as server:
        placement = pin_all(args.pin, [server.process.pid])
        server_version = redis.Redis.from_url(server.url).info("server")["redis_version"]
        results: dict[str, Any] = {
            "meta": {
                **run_meta(
                    args,
                    {"starlette": starlette.__version__},
                    redis_sessions.__version__,
                    server_version,
                    "iterations",
                ),
                "placement": placement,
                "starlette": starlette.__version__,
            }
        }
        results.update(asyncio.run(measure_requests(args, server)))
        print("gauge ...", file=sys.stderr)
        results["gauge"] = measure_gauge(args, server)
    results["targets"] = evaluate(results)
    return finish(results, report, started, args.json)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""What ``on_backend_error`` and the circuit breaker cost: on the healthy path, and while Redis is down.

Run from the repository root::

    .venv/bin/python benchmarks/outage_sessions.py            # full run (about a minute)
    .venv/bin/python benchmarks/outage_sessions.py --quick    # a smoke test
    .venv/bin/python benchmarks/outage_sessions.py --json results.json

One private redis-server (`redis_sessions.testing`), stopped by its PID at the end. The same Starlette app
as ``asgi_sessions.py`` behind our ``SessionMiddleware``, driven in-process (a hand-built scope straight
into the app, no HTTP server), twice: a store with ``on_backend_error="raise"`` (the default) and one with
``"fallback"``.

1. Healthy: (b) a cookie, the handler reads a key; (d) a cookie, the handler writes a key; (e) no cookie,
   the handler writes; and ``AsyncSessionStore.get(id)``. Every cell is timed in turn within each repeat;
   ``fallback - raise`` is the difference of the medians (and of this process's CPU per request), with
   the range of the per-repeat differences. Round trips are ``store.round_trips`` deltas.
2. Redis frozen (SIGSTOP): one request trips each store's circuit breaker (threshold 1; it waits out
   ``command_timeout``), then requests are timed: "raise" answers 503 at once (the open breaker makes
   no connection attempt), "fallback" answers 200 from this process.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import starlette
from _cells import Cell, request_steps, seed_sessions, time_cells
from _cli import Counts, finish, make_parser, needs_redis_server, parse
from _measure import pin_all
from _report import KIND, heading, run_meta, table, target_lines
from asgi_sessions import SECRET, Step, build_app, call, make_scope
from starlette.applications import Starlette
from starlette.middleware import Middleware

import redis_sessions
from redis_sessions import AsyncSessionStore, SessionConfig
from redis_sessions._drivers.fallback import Fallback
from redis_sessions._drivers.fallback_driver import AsyncFallbackDriver
from redis_sessions._plan import Command, Script
from redis_sessions.integrations.asgi import SessionMiddleware
from redis_sessions.testing import RedisServer, running_redis_server

COUNTS = Counts(iterations=(500, 100), warmup=(200, 50), repeats=(20, 3))
POLICIES = ("raise", "fallback")
OPERATIONS = {
    "b": KIND["b"].label,
    "d": KIND["d"].label,
    "e": KIND["e"].label,
    "get": "AsyncSessionStore.get(id)",
}
DOWN_OPERATIONS = ("b", "d")
TARGET_DELTA_US = 5.0  # the issue: fallback within 5 µs of raise per request, healthy
TIMEOUT = 0.5  # seconds: connect and command timeouts (the tripping request waits this long)


class CannedByCall:
    """A stand-in driver without I/O: a load gets `record`, a save "stored", anything else 1."""

    backend = "redis"
    round_trips = 0

    def __init__(self, record: bytes) -> None:
        self.record = record

    async def execute(self, batch: list[Any], keep_errors: bool = False) -> list[Any]:
        self.round_trips += 1  # as a driver counts them (an observer reports operations that made one)
        return [self._reply(call) for call in batch]

    def _reply(self, call: Any) -> Any:
        if isinstance(call, Command) and call.args[0] == "GETEX":
            return self.record
        if isinstance(call, Script) and call.name == "save":
            return time.time_ns() // 1_000_000 + 3_600_000
        return 1

    async def close(self) -> None:
        return None


async def canned_subjects(subjects: list[Subject]) -> list[Subject]:
    """Each subject again, its store's Redis replaced by `CannedByCall` (no I/O: our CPU alone),
    behind the same layers: the fallback's (`AsyncFallbackDriver`) for "fallback", none for "raise"."""
    source = subjects[0]
    key = source.store._core.keys.session_key(source.ids[0])
    (record,) = await source.store._driver.execute([Command(("GET", key))])
    canned = []
    for subject in subjects:
        config = subject.store.config
        store = AsyncSessionStore(config)
        inner: Any = CannedByCall(record)
        store._driver = (
            AsyncFallbackDriver(inner, Fallback(config)) if subject.policy == "fallback" else inner
        )
        app = build_app([Middleware(SessionMiddleware, store=store)])
        canned.append(Subject(f"{subject.policy}, no I/O", store, app, source.cookies, source.ids))
    return canned


@dataclass
class Subject:
    policy: str
    store: AsyncSessionStore
    app: Starlette
    cookies: list[bytes] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def steps(self, op: str, n: int) -> list[Step]:
        k = len(self.cookies)
        if op == "get":
            return [functools.partial(self.store.get, self.ids[i % k]) for i in range(n)]
        return request_steps(self.app, op, self.cookies, n)


async def open_subject(url: str, policy: str, sessions: int) -> Subject:
    config = SessionConfig(
        url=url,
        secret_keys=[SECRET],
        on_backend_error=policy,  # type: ignore[arg-type]
        connect_timeout=TIMEOUT,
        command_timeout=TIMEOUT,
        circuit_breaker_threshold=1,
        circuit_breaker_cooldown=3600.0,  # stays open for the whole outage part
    )
    store = AsyncSessionStore(config)
    app = build_app([Middleware(SessionMiddleware, store=store)])
    return Subject(policy, store, app, *await seed_sessions(app, store, sessions))


async def round_trips(subject: Subject, op: str, n: int) -> float:
    before = subject.store.round_trips
    for step in subject.steps(op, n):
        await step()
    return (subject.store.round_trips - before) / n


async def measure(args: argparse.Namespace, server: RedisServer) -> dict[str, Any]:
    subjects = [await open_subject(server.url, policy, args.sessions) for policy in POLICIES]
    try:
        print("healthy ...", file=sys.stderr)
        trips = {
            f"{s.policy}/{op}": await round_trips(s, op, args.traffic_requests)
            for s in subjects
            for op in OPERATIONS
        }
        everyone = [*subjects, *await canned_subjects(subjects)]
        healthy = [
            Cell(f"{s.policy}/{op}", functools.partial(s.steps, op)) for op in OPERATIONS for s in everyone
        ]
        await time_cells(healthy, args.repeats, args.iterations, args.warmup, "healthy")

        print("Redis frozen ...", file=sys.stderr)
        server.process.send_signal(signal.SIGSTOP)
        try:
            statuses: dict[str, int] = {}
            trip_ms: dict[str, float] = {}
            for s in subjects:
                started = time.perf_counter()
                await call(s.app, make_scope(KIND["b"].path, s.cookies[0], None))  # opens the breaker
                trip_ms[s.policy] = (time.perf_counter() - started) * 1000
                for op in DOWN_OPERATIONS:
                    reply = await call(s.app, make_scope(KIND[op].path, s.cookies[1], None))
                    statuses[f"{s.policy}/{op}"] = reply.status
            down = [
                Cell(f"{s.policy}/{op}", functools.partial(s.steps, op))
                for op in DOWN_OPERATIONS
                for s in subjects
            ]
            await time_cells(down, args.repeats, args.iterations, args.warmup, "down")
            health = {s.policy: (await s.store.health()).breaker for s in subjects}
        finally:
            server.process.send_signal(signal.SIGCONT)
        return {
            "round_trips": trips,
            "healthy": {
                c.key: {**c.timing.summary(), "repeat_medians_us": c.repeat_medians_us} for c in healthy
            },
            "down": {c.key: {**c.timing.summary(), "repeat_medians_us": c.repeat_medians_us} for c in down},
            "down_statuses": statuses,
            "tripping_request_ms": trip_ms,
            "breaker_during_outage": health,
        }
    finally:
        for s in subjects:
            await s.store.close()


NO_IO = ", no I/O"


def deltas(results: dict[str, Any], op: str, suffix: str = "") -> tuple[float, float, float, float]:
    """fallback - raise for `op` (`suffix` NO_IO: with canned replies): median (µs), CPU per request
    (µs), and the range of the per-repeat median differences."""
    raising, falling = results["healthy"][f"raise{suffix}/{op}"], results["healthy"][f"fallback{suffix}/{op}"]
    per_repeat = [
        f - r for f, r in zip(falling["repeat_medians_us"], raising["repeat_medians_us"], strict=True)
    ]
    return (
        falling["median_us"] - raising["median_us"],
        falling["cpu_us"] - raising["cpu_us"],
        min(per_repeat),
        max(per_repeat),
    )


def best_delta(results: dict[str, Any], op: str) -> float:
    """fallback - raise for `op` without I/O, between the quietest repeats (the lowest per-repeat
    medians): the figure least moved by other work on the machine."""
    raising, falling = results["healthy"][f"raise{NO_IO}/{op}"], results["healthy"][f"fallback{NO_IO}/{op}"]
    return float(min(falling["repeat_medians_us"]) - min(raising["repeat_medians_us"]))


def healthy_rows(results: dict[str, Any], suffix: str) -> list[list[str]]:
    rows = []
    for op, label in OPERATIONS.items():
        for policy in POLICIES:
            t = results["healthy"][f"{policy}{suffix}/{op}"]
            rt = "-" if suffix else f"{results['round_trips'][f'{policy}/{op}']:g}"
            first = label if policy == "raise" else ""
            rows.append(
                [first, policy, f"{t['median_us']:.1f}", f"{t['p99_us']:.1f}", f"{t['cpu_us']:.1f}", rt]
            )
        d_med, d_cpu, low, high = deltas(results, op, suffix)
        spread = f"(per repeat {low:+.1f} to {high:+.1f})"
        rows.append(["", "fallback - raise", f"{d_med:+.1f}", "", f"{d_cpu:+.1f}", spread])
    return rows


def report(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = heading(
        meta,
        "Our ASGI middleware, on_backend_error raise vs fallback",
        f"Starlette {meta['starlette']}",
        "iterations",
    )
    headers = ["request", "on_backend_error", "median", "p99", "CPU", "RT"]
    lines += ["", "Healthy Redis (µs per request; CPU = this process's; RT = round trips per request):"]
    lines.append(table(headers, healthy_rows(results, ""), {2, 3, 4}))
    lines += [
        "",
        "The same with Redis' replies canned (no I/O: the in-process cost alone; the fallback's layer kept):",
    ]
    lines.append(table(headers, healthy_rows(results, NO_IO), {2, 3, 4}))
    lines += ["", "Redis frozen (SIGSTOP), after one request opened each store's circuit breaker:"]
    trip = results["tripping_request_ms"]
    lines.append(
        f"  the tripping request waited {trip['raise']:.0f} ms (raise), {trip['fallback']:.0f} ms "
        f"(fallback): command_timeout {TIMEOUT} s"
    )
    rows = []
    for op in DOWN_OPERATIONS:
        for policy in POLICIES:
            t = results["down"][f"{policy}/{op}"]
            status = str(results["down_statuses"][f"{policy}/{op}"])
            first = KIND[op].label if policy == "raise" else ""
            rows.append(
                [first, policy, status, f"{t['median_us']:.1f}", f"{t['p99_us']:.1f}", f"{t['cpu_us']:.1f}"]
            )
    lines.append(table(["request", "on_backend_error", "status", "median", "p99", "CPU"], rows, {3, 4, 5}))
    lines += ["", *target_lines(results["targets"])]
    return "\n".join(lines)


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    for op in ("b", "d"):
        d_med, d_cpu, _, _ = deltas(results, op, NO_IO)
        quiet = best_delta(results, op)
        checks.append(
            {
                "name": f"healthy {KIND[op].label}: fallback within {TARGET_DELTA_US:g} µs of raise (no I/O)",
                "ok": quiet <= TARGET_DELTA_US,
                "detail": f"{quiet:+.1f} µs between the quietest repeats (all: median {d_med:+.1f} µs, "
                f"CPU {d_cpu:+.1f} µs per request)",
            }
        )
    read_rt = results["round_trips"]["fallback/b"]
    checks.append(
        {
            "name": "healthy read with fallback: one round trip",
            "ok": read_rt == 1,
            "detail": f"{read_rt:g} RT",
        }
    )
    for policy, expected in (("raise", 503), ("fallback", 200)):
        t = results["down"][f"{policy}/b"]
        status = results["down_statuses"][f"{policy}/b"]
        checks.append(
            {
                "name": f"Redis down, breaker open, {policy}: {expected} within a few ms",
                "ok": status == expected and t["p99_us"] < 5000,
                "detail": f"status {status}, median {t['median_us']:.0f} µs, p99 {t['p99_us']:.0f} µs",
            }
        )
    return checks


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = make_parser(
        "Time on_backend_error raise vs fallback, healthy and with Redis down.", COUNTS, pin="this process"
    )
    parser.add_argument("--sessions", type=int, default=30, help="seeded sessions the requests cycle over")
    return parse(parser, COUNTS, argv, "sessions")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(None if argv is None else list(argv))
    started = time.monotonic()
    with needs_redis_server(), running_redis_server() as server:
        placement = pin_all(args.pin, [server.process.pid])
        results: dict[str, Any] = {
            "meta": {
                **run_meta(
                    args, {"starlette": starlette.__version__}, redis_sessions.__version__, "", "iterations"
                ),
                "placement": placement,
                "starlette": starlette.__version__,
            }
        }
        results.update(asyncio.run(measure(args, server)))
    results["targets"] = evaluate(results)
    return finish(results, report, started, args.json)


if __name__ == "__main__":
    sys.exit(main())

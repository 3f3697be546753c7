#!/usr/bin/env python
"""Our ASGI middleware and store on one redis-server, a Redis Cluster and a Sentinel set, in one run.

Run from the repository root::

    .venv/bin/python benchmarks/cluster_sessions.py            # full run (about 2 minutes on 2 cores)
    .venv/bin/python benchmarks/cluster_sessions.py --quick    # a smoke test (10,000 sessions counted)
    .venv/bin/python benchmarks/cluster_sessions.py --json results.json

Three topologies start side by side, each from the ``redis-server`` binary on loopback ports, without
persistence (`redis_sessions.testing`): ``single``, one private redis-server; ``cluster``, 3 primaries
with one replica each; ``sentinel``, a primary, one replica and three sentinels. Every process is stopped
by its PID at the end.

1. Per request: the same Starlette app behind our ``SessionMiddleware`` on each topology, driven
   in-process as in ``asgi_sessions.py`` (a hand-built scope straight into the app, no HTTP server): (b)
   a cookie, the handler reads a key; (d) a cookie, the handler writes one key; (e) no cookie, the handler
   writes (a new session); plus ``AsyncSessionStore.get(id)`` alone and one redis-py PING to the primary
   that holds the first session. Requests cycle over ``--sessions`` seeded sessions, so on the cluster they
   reach every primary. Every cell is timed in turn within each repeat; round trips per request are
   ``store.round_trips`` deltas over a separate untimed batch.
2. ``count()``: ``--count-sessions`` sessions (100,000) created with ``SessionStore.save_many`` on the
   cluster (its primaries emptied first) and on the single redis-server, then a full ``count()`` timed
   ``--count-runs`` times, with ``slowlog-log-slower-than 0`` on every primary: the longest SCAN is read
   back from ``SLOWLOG GET`` (the server's own execution time of one command), the settings restored
   after.

benchmarks/README.md explains how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio
import starlette
from _cells import Cell, request_steps, seed_sessions, time_cells
from _cli import Counts, finish, make_parser, needs_redis_server, parse
from _measure import pin_all
from _report import KIND, TYPICAL_SESSION, heading, run_meta, table, target_lines
from asgi_sessions import (
    SECRET,
    Step,
    build_app,
    call,
    discard,
    make_scope,
    receive,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware

import redis_sessions
from redis_sessions import AsyncSessionStore, SessionConfig, SessionStore
from redis_sessions.integrations.asgi import SessionMiddleware
from redis_sessions.testing import running_redis_cluster, running_redis_sentinel, running_redis_server

TOPOLOGIES = ("single", "cluster", "sentinel")
COUNTED = ("single", "cluster")  # where count() runs

# What each row times: a request type of the other benchmarks, or a single operation.
OPERATIONS = {
    "b": KIND["b"].label,
    "d": KIND["d"].label,
    "e": KIND["e"].label,
    "get": "AsyncSessionStore.get(id)",
    "ping": "redis-py PING to a primary",
}
REQUESTS = ("b", "d", "e")
BARE = "bare/b"  # the bare app (no session middleware) as request (b): what Starlette alone costs

# Targets from the issue.
TARGET_READ_RT = 1
TARGET_WRITE_RT = 2


# -- the topologies -----------------------------------------------------------------------------------
@dataclass
class Topology:
    """One running topology: its redis_sessions URL, every process it started, its primaries now and
    which of them serves a key (`primary_for`, a port)."""

    name: str
    what: str
    url: str
    pids: list[int]
    primaries: Callable[[], list[int]]
    primary_for: Callable[[bytes], int]


@contextmanager
def topologies(cluster_replicas: int) -> Iterator[dict[str, Topology]]:
    """Start all three side by side; stop every process by its PID (the helpers do) on the way out."""
    with ExitStack() as stack:
        single = stack.enter_context(running_redis_server())
        cluster = stack.enter_context(running_redis_cluster(replicas_per_primary=cluster_replicas))
        sentinel = stack.enter_context(running_redis_sentinel())
        yield {
            "single": Topology(
                "single",
                "one redis-server",
                single.url,
                [single.process.pid],
                lambda: [single.port],
                lambda key: single.port,
            ),
            "cluster": Topology(
                "cluster",
                f"Redis Cluster, 3 primaries x {1 + cluster_replicas} nodes",
                cluster.url,
                [node.process.pid for node in cluster.nodes],
                lambda: [node.port for node in cluster.primaries()],
                lambda key: cluster.primary_for(key).port,
            ),
            "sentinel": Topology(
                "sentinel",
                f"Sentinel: primary + {len(sentinel.nodes) - 1} replica, {len(sentinel.sentinels)} sentinels",
                sentinel.url,
                [node.process.pid for node in (*sentinel.nodes, *sentinel.sentinels)],
                lambda: [sentinel.primary().port],
                lambda key: sentinel.primary().port,
            ),
        }


# -- per request ----------------------------------------------------------------------------------------
@dataclass
class Subject:
    """Our middleware on one topology, with its seeded sessions and a PING client to a primary."""

    topology: Topology
    store: AsyncSessionStore
    app: Starlette
    ping: redis.asyncio.Redis
    cookies: list[bytes] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def steps(self, op: str, n: int) -> list[Step]:
        """`n` ready-to-run operations `op`, cycling over the seeded sessions."""
        k = len(self.cookies)
        if op == "get":
            return [functools.partial(self.store.get, self.ids[i % k]) for i in range(n)]
        if op == "ping":
            return [functools.partial(self.ping.execute_command, "PING")] * n
        return request_steps(self.app, op, self.cookies, n)


async def open_subject(topology: Topology, sessions: int) -> Subject:
    store = AsyncSessionStore(SessionConfig(url=topology.url, secret_keys=[SECRET]))
    app = build_app([Middleware(SessionMiddleware, store=store)])
    cookies, ids = await seed_sessions(app, store, sessions)
    # PING goes where the first session lives, with our drivers' 1 s timeouts.
    port = topology.primary_for(store._core.keys.session_key(ids[0]).encode())
    ping = redis.asyncio.Redis(port=port, socket_timeout=1.0, socket_connect_timeout=1.0)
    return Subject(topology, store, app, ping, cookies, ids)


def spread(subject: Subject) -> dict[str, int]:
    """How many of the seeded sessions each primary holds (by port)."""
    keys = (subject.store._core.keys.session_key(i).encode() for i in subject.ids)
    return {str(port): n for port, n in sorted(Counter(map(subject.topology.primary_for, keys)).items())}


async def check_and_count(subject: Subject, op: str, n: int) -> float:
    """Check `op` answers 200 (requests), then its round trips per operation (`store.round_trips` delta
    over `n` untimed ones)."""
    if op in REQUESTS:
        kind = KIND[op]
        reply = await call(
            subject.app, make_scope(kind.path, subject.cookies[0] if kind.with_cookie else None, None)
        )
        if reply.status != 200:
            raise RuntimeError(f"{subject.topology.name} {kind.label}: status {reply.status}")
    before = subject.store.round_trips
    for step in subject.steps(op, n):
        await step()
    return (subject.store.round_trips - before) / n


async def measure_requests(args: argparse.Namespace, tops: dict[str, Topology]) -> dict[str, Any]:
    subjects: list[Subject] = []
    try:
        for name in TOPOLOGIES:
            subjects.append(await open_subject(tops[name], args.sessions))
        print("counting round trips ...", file=sys.stderr)
        round_trips = {
            f"{s.topology.name}/{op}": await check_and_count(s, op, args.traffic_requests)
            for s in subjects
            for op in OPERATIONS
            if op != "ping"
        }
        bare_app = build_app([])

        def bare_steps(n: int) -> list[Step]:
            scopes = (make_scope(KIND["b"].path, None, dict(TYPICAL_SESSION)) for _ in range(n))
            return [functools.partial(bare_app, scope, receive, discard) for scope in scopes]

        cells = [Cell(BARE, bare_steps)]
        cells += [
            Cell(f"{s.topology.name}/{op}", functools.partial(s.steps, op))
            for op in OPERATIONS
            for s in subjects
        ]
        print("timing ...", file=sys.stderr)
        await time_cells(cells, args.repeats, args.iterations, args.warmup)
        return {
            "seeded_sessions_per_primary": {s.topology.name: spread(s) for s in subjects},
            "round_trips": round_trips,
            "timings": {
                c.key: {**c.timing.summary(), "repeat_medians_us": c.repeat_medians_us} for c in cells
            },
        }
    finally:
        for s in subjects:
            await s.store.close()
            await s.ping.aclose()


# -- count() ----------------------------------------------------------------------------------------------
SLOWLOG_SETTINGS = ("slowlog-log-slower-than", "slowlog-max-len")


def _name(entry: dict[str, Any]) -> str:
    command = entry["command"]
    text = command.decode("latin-1") if isinstance(command, bytes) else str(command)
    return text.split(" ", 1)[0].upper()


def measure_count(topology: Topology, n: int, batch: int, runs: int) -> dict[str, Any]:
    """Create `n` sessions through the store (`batch` per `save_many`) on `topology`'s emptied primaries,
    then time `runs` full `count()`s with every primary logging every command to its SLOWLOG."""
    ports = topology.primaries()
    admins = [redis.Redis(port=port, socket_timeout=10.0) for port in ports]
    store = SessionStore(SessionConfig(url=topology.url, secret_keys=[SECRET]))
    try:
        for admin in admins:
            admin.flushall()  # the request phase's sessions: count() walks exactly the `n` created here
        print(f"creating {n} sessions on {topology.name} ...", file=sys.stderr)
        before, started = store.round_trips, time.perf_counter()
        for start in range(0, n, batch):
            store.save_many(store.new_session(dict(TYPICAL_SESSION)) for _ in range(min(batch, n - start)))
        created_s, create_rt = time.perf_counter() - started, store.round_trips - before
        keys = sum(int(admin.dbsize()) for admin in admins)
        saved = [{name: str(admin.config_get(name)[name]) for name in SLOWLOG_SETTINGS} for admin in admins]
        out: dict[str, Any] = {
            "primaries": len(ports),
            "sessions": n,
            "keys_on_primaries": keys,
            "create_seconds": created_s,
            "create_round_trips": create_rt,
            "runs": [],
        }
        print(f"counting on {topology.name} ...", file=sys.stderr)
        try:
            for admin in admins:
                admin.config_set("slowlog-max-len", 100_000)
                admin.config_set("slowlog-log-slower-than", 0)
            for _ in range(runs):
                for admin in admins:
                    admin.slowlog_reset()
                before, started = store.round_trips, time.perf_counter()
                counted = store.count()
                seconds = time.perf_counter() - started
                rt = store.round_trips - before
                scans = [
                    [int(e["duration"]) for e in admin.slowlog_get(100_000) if _name(e) == "SCAN"]
                    for admin in admins
                ]
                out["runs"].append(
                    {
                        "count": counted,
                        "seconds": seconds,
                        "round_trips": rt,
                        "scans_per_primary": [len(s) for s in scans],
                        "scan_us_per_primary": [sum(s) for s in scans],
                        "longest_scan_us": max(max(s, default=0) for s in scans),
                        "median_scan_us": statistics.median([d for s in scans for d in s] or [0]),
                    }
                )
        finally:
            for admin, settings in zip(admins, saved, strict=True):
                for name, value in settings.items():
                    admin.config_set(name, value)
                admin.slowlog_reset()
        return out
    finally:
        store.close()
        for admin in admins:
            admin.close()


# -- report -------------------------------------------------------------------------------------------
def _ratio_cells(t: dict[str, Any], single: dict[str, Any]) -> str:
    """Median over single's median, and the range of the same ratio per repeat (paired: both cells
    were timed in the same repeat)."""
    paired = [a / b for a, b in zip(t["repeat_medians_us"], single["repeat_medians_us"], strict=True)]
    return f"{t['median_us'] / single['median_us']:.2f} ({min(paired):.2f}-{max(paired):.2f})"


def request_rows(results: dict[str, Any]) -> list[list[str]]:
    timings, trips = results["timings"], results["round_trips"]
    rows: list[list[str]] = []
    for op, label in OPERATIONS.items():
        single = timings[f"single/{op}"]
        for i, name in enumerate(TOPOLOGIES):
            t = timings[f"{name}/{op}"]
            rt = trips.get(f"{name}/{op}")
            rows.append(
                [
                    label if i == 0 else "",
                    name,
                    f"{t['median_us']:.1f}",
                    f"{min(t['repeat_medians_us']):.1f}-{max(t['repeat_medians_us']):.1f}",
                    f"{t['p99_us']:.1f}",
                    f"{t['mean_us']:.1f}",
                    f"{t['cpu_us']:.1f}",
                    "-" if rt is None else f"{rt:g}",
                    "" if name == "single" else _ratio_cells(t, single),
                ]
            )
    bare = timings[BARE]
    spread_ = f"{min(bare['repeat_medians_us']):.1f}-{max(bare['repeat_medians_us']):.1f}"
    cells = [f"{bare['median_us']:.1f}", spread_, f"{bare['p99_us']:.1f}", f"{bare['mean_us']:.1f}"]
    rows.append(["bare app (no sessions), (b)", "-", *cells, f"{bare['cpu_us']:.1f}", "-", ""])
    return rows


def count_rows(results: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    for name, c in results["count"].items():
        runs = c["runs"]
        ms = [r["seconds"] * 1000 for r in runs]
        longest = [r["longest_scan_us"] for r in runs]
        per_primary = zip(*(r["scans_per_primary"] for r in runs), strict=True)
        scans = "/".join(f"{statistics.median(x):g}" for x in per_primary)
        scan_us = zip(*(r["scan_us_per_primary"] for r in runs), strict=True)
        busy = max(statistics.median(x) for x in scan_us) / 1000
        rows.append(
            [
                name,
                str(c["primaries"]),
                f"{c['create_seconds']:.1f} s ({c['sessions'] / c['create_seconds']:,.0f}/s)",
                f"{statistics.median(ms):.0f}",
                f"{min(ms):.0f}-{max(ms):.0f}",
                "/".join(sorted({f"{r['round_trips']:g}" for r in runs})),
                scans,
                f"{max(longest)}",
                f"{statistics.median(longest):g}",
                f"{statistics.median(r['median_scan_us'] for r in runs):g}",
                f"{busy:.1f}",
            ]
        )
    return rows


def report(results: dict[str, Any]) -> str:
    meta = results["meta"]
    tops = results["topologies"]
    out = [
        *heading(
            meta,
            "Our ASGI middleware on three Redis topologies",
            f"Starlette {meta['starlette']}",
            "iterations",
        ),
        "",
        "Topologies, started side by side from the same redis-server binary:",
        *(
            f"  {name}: {t['what']}; the {meta['sessions']} seeded sessions per primary (port: n): "
            + ", ".join(f"{p}: {n}" for p, n in results["seeded_sessions_per_primary"][name].items())
            for name, t in tops.items()
        ),
        "",
        "Per operation, in microseconds: median over all timed ones; 'repeat medians' = min-max of the",
        f"{meta['repeats']} per-repeat medians; CPU = this process's CPU; RT = round trips per operation",
        f"(store.round_trips over {meta['traffic_requests']} untimed ones); x single = median / single's",
        "median (in brackets: min-max of that ratio per repeat, both cells timed in the same repeat).",
    ]
    headers = ["operation", "topology", "median", "repeat medians", "p99", "mean", "CPU", "RT", "x single"]
    out += [table(headers, request_rows(results), right=set(range(2, 9))), ""]
    c0 = next(iter(results["count"].values()))
    out += [
        f"count() of {c0['sessions']:,} sessions (SessionStore, sync; {len(c0['runs'])} runs per topology; "
        "created with save_many first). Server side, from SLOWLOG",
        "with slowlog-log-slower-than 0 on every primary: SCANs it sent per primary, the longest one (max",
        "over the runs; median of the per-run maxima), the median SCAN, and the SCAN time of the busiest",
        "primary.",
    ]
    headers = [
        "topology", "primaries", "created in", "count() ms", "min-max", "RT", "SCANs/primary",
        "longest SCAN us", "median max", "median SCAN us", "busiest primary ms",
    ]  # fmt: skip
    out += [table(headers, count_rows(results), right=set(range(1, 11))), ""]
    out += target_lines(results["targets"])
    return "\n".join(out)


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    trips, timings = results["round_trips"], results["timings"]
    checks: list[dict[str, Any]] = []
    for name in ("cluster", "sentinel"):
        read, write, new = (trips[f"{name}/{op}"] for op in REQUESTS)
        ratio = timings[f"{name}/b"]["median_us"] / timings["single/b"]["median_us"]
        checks += [
            {
                "name": f"{name}: read-only request (b) makes {TARGET_READ_RT} round trip",
                "ok": read == TARGET_READ_RT,
                "detail": f"{read:g} RT per request; median {ratio:.2f}x single's",
            },
            {
                "name": f"{name}: modifying request (d) makes at most {TARGET_WRITE_RT} round trips",
                "ok": write <= TARGET_WRITE_RT,
                "detail": f"{write:g} RT per request (new session (e): {new:g})",
            },
        ]
    for name, c in results["count"].items():
        counts = sorted({r["count"] for r in c["runs"]})
        checks.append(
            {
                "name": f"{name}: count() finds all {c['sessions']:,} sessions",
                "ok": counts == [c["sessions"]],
                "detail": (
                    f"counted {', '.join(map(str, counts))}; {c['keys_on_primaries']:,} keys on the primaries"
                ),
            }
        )
    return checks


# -- main -------------------------------------------------------------------------------------------
COUNTS = Counts(iterations=(500, 100), warmup=(200, 50), traffic=50)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = make_parser(
        "Time our ASGI middleware and count() on one redis-server, a Redis Cluster and a Sentinel set.",
        COUNTS,
        quick="iterations and sessions",
        pin="this process",
    )
    parser.add_argument("--sessions", type=int, default=30, help="seeded sessions the requests cycle over")
    parser.add_argument(
        "--count-sessions", type=int, help="sessions created for count() (default 100000; quick 10000)"
    )
    parser.add_argument(
        "--count-runs", type=int, help="timed count() calls per topology (default 5; quick 2)"
    )
    parser.add_argument("--count-batch", type=int, default=2000, help="sessions per save_many when creating")
    parser.add_argument("--cluster-replicas", type=int, default=1, help="replicas per cluster primary")
    args = parse(parser, COUNTS, argv, "sessions", "count_batch")
    if args.count_sessions is None:
        args.count_sessions = 10_000 if args.quick else 100_000
    if args.count_runs is None:
        args.count_runs = 2 if args.quick else 5
    if min(args.count_sessions, args.count_runs) < 1 or args.cluster_replicas < 0:
        parser.error("counts must be positive")
    return args


def run(args: argparse.Namespace, tops: dict[str, Topology]) -> dict[str, Any]:
    pids = [pid for t in tops.values() for pid in t.pids]
    placement = pin_all(args.pin, pids)
    with redis.Redis(port=tops["single"].primaries()[0]) as admin:
        server = str(admin.info("server")["redis_version"])
    versions = {"starlette": starlette.__version__}
    results: dict[str, Any] = {
        "meta": {
            **run_meta(args, versions, redis_sessions.__version__, server, "iterations"),
            "placement": placement,
            "sessions": args.sessions,
            "traffic_requests": args.traffic_requests,
        },
        "topologies": {name: {"what": t.what, "url": t.url} for name, t in tops.items()},
    }
    results.update(asyncio.run(measure_requests(args, tops)))
    results["count"] = {
        name: measure_count(tops[name], args.count_sessions, args.count_batch, args.count_runs)
        for name in COUNTED
    }
    results["targets"] = evaluate(results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(None if argv is None else list(argv))
    started = time.monotonic()
    print("starting redis-server, a cluster and a sentinel set ...", file=sys.stderr)
    with needs_redis_server(), topologies(args.cluster_replicas) as tops:
        results = run(args, tops)
    return finish(results, report, started, args.json)


if __name__ == "__main__":
    sys.exit(main())

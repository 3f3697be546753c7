#!/usr/bin/env python
"""Side-by-side cost of Flask session implementations, driven in-process against a private redis-server.

Run from the repository root::

    .venv/bin/python benchmarks/flask_sessions.py            # full run (about a minute on 2 cores)
    .venv/bin/python benchmarks/flask_sessions.py --quick    # fewer requests, a smoke test
    .venv/bin/python benchmarks/flask_sessions.py --json results.json

Variants (the same small Flask app with the same views; Flask's config is per app, so all live in
this one process):

- ``bare``: no session implementation; a stand-in interface hands the views a plain dict;
- ``flask-cookie``: Flask's default ``SecureCookieSessionInterface`` (the data in a signed cookie);
- ``flask-session``: Flask-Session 0.8 with ``SESSION_TYPE = "redis"``, defaults otherwise;
- ``redis_sessions``: ours, ``redis_sessions.integrations.flask.RedisSessions(app)``;
- ``bare+PING`` (a yardstick): the bare app whose read view makes one redis-py PING first;
- ``ours-canned`` (a yardstick): ours with the load's reply handed back without I/O (our CPU alone).

Request types: (a) no cookie, the view does not touch the session; (b) valid cookie, the view reads a
key; (c) valid cookie, the view never touches the session; (d) valid cookie, the view writes one key;
(e) no cookie, the view writes (a new session).

Each request is a WSGI environ built beforehand (``werkzeug.test.EnvironBuilder``, one copy per
request) handed to ``app.wsgi_app(environ, start_response)``, whose body is then consumed and closed:
the timed span is Flask's whole request (context, session open and save, routing, view, response).
Within each repeat every cell is timed in turn, so slow phases of the machine hit every variant
alike; Redis commands are counted with MONITOR in a separate, untimed batch. By default this process
runs on one CPU and redis-server on another (``--pin``). benchmarks/README.md explains the output.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import itertools
import json
import os
import secrets
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from _report import (
    TYPICAL_SESSION,
    Kind,
    Timing,
    count_round_trips,
    fmt_cmds,
    monitor_commands,
    pin,
    server_cpu,
    source_state,
    table,
    timing_cells,
)
from flask import Flask, Request, Response, session
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.test import EnvironBuilder

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

SECRET = "benchmark-flask-secret-key-" + "x" * 32

# Targets from the issue.
TARGET_OVERHEAD_US = 30.0  # read-only request (b): at most bare + one round trip + this much
TARGET_VS_FLASK_SESSION = 1 / 2  # read-only request (b): under half of Flask-Session's time
TARGET_WRITE_ROUND_TRIPS = 2  # a modifying request (d): at most this many round trips


# -- variants and request types ---------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    sessions: str  # STAND_IN, COOKIE, FLASK_SESSION or OURS
    ping: bool = False  # the yardstick: one redis-py PING in the read view
    canned: bool = False  # the yardstick: ours, its store answered without I/O


KINDS = (
    Kind("a", "(a) no cookie, untouched", "/untouched", False),
    Kind("b", "(b) cookie, reads a key", "/read", True),
    Kind("c", "(c) cookie, untouched", "/untouched", True),
    Kind("d", "(d) cookie, writes a key", "/write", True),
    Kind("e", "(e) no cookie, writes (new)", "/write", False),
)
KIND = {k.key: k for k in KINDS}
PING_OP = "ping"  # not a request: one redis-py PING, timed in the yardstick's app

STAND_IN, COOKIE, FLASK_SESSION, OURS = "stand-in", "flask-cookie", "flask-session", "redis_sessions"
BARE, YARDSTICK, CANNED = "bare", "bare+PING", "ours-canned"
OURS_PREFIX = f"bench-flask-{secrets.token_hex(4)}:"  # REDIS_SESSIONS_KEY_PREFIX (theirs: "session:")
VARIANTS = (
    Variant(BARE, "no session interface of its own: the views get a plain dict as flask.session", STAND_IN),
    Variant(COOKIE, "Flask's default SecureCookieSessionInterface (data in the signed cookie)", COOKIE),
    Variant(FLASK_SESSION, 'Flask-Session, SESSION_TYPE = "redis", defaults otherwise', FLASK_SESSION),
    Variant(OURS, f"ours, RedisSessions(app), REDIS_SESSIONS_KEY_PREFIX = {OURS_PREFIX!r}", OURS),
    Variant(YARDSTICK, "yardstick: bare + one redis-py PING in the read view", STAND_IN, ping=True),
    Variant(CANNED, "yardstick: ours with the load's reply handed back without I/O", OURS, canned=True),
)

STAND_IN_DATA = "benchmark.session"  # environ key: the data the stand-in interface hands the views


class StandInSession(dict[str, Any], SessionMixin):
    """``flask.session`` of the bare app: a plain dict (with `SessionMixin`'s attributes)."""


class StandInInterface(SessionInterface):
    """The bare app's session interface: no cookie, no storage. With a cookie, the request type's
    environ carries a copy of the typical session, as if loaded, so the views run unchanged."""

    def open_session(self, app: Flask, request: Request) -> StandInSession:
        data = request.environ.get(STAND_IN_DATA)
        return StandInSession(data) if data else StandInSession()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        pass


def make_app(variant: Variant, url: str, ping_client: redis.Redis) -> Flask:
    """One variant's Flask app: its config and session implementation, and the same views."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, DEBUG=False, TESTING=False)
    if variant.sessions == STAND_IN:
        app.session_interface = StandInInterface()
    elif variant.sessions == FLASK_SESSION:
        # Flask-Session ships no type information: through importlib its names are `Any` for mypy.
        flask_session = importlib.import_module("flask_session")
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=redis.Redis.from_url(url))
        flask_session.Session(app)
    elif variant.sessions == OURS:
        from redis_sessions.integrations.flask import RedisSessions

        app.config.update(REDIS_SESSIONS_URL=url, REDIS_SESSIONS_KEY_PREFIX=OURS_PREFIX)
        RedisSessions(app)
    # COOKIE: Flask's default interface, nothing to set up.

    counter = itertools.count()
    ping = ping_client.execute_command

    def ok() -> Response:
        return Response(b"ok", mimetype="text/plain")

    def untouched() -> Response:
        return ok()

    def read_key() -> Response:
        session.get("user_id")
        return ok()

    def ping_read_key() -> Response:
        ping("PING")  # type: ignore[no-untyped-call]
        session.get("user_id")
        return ok()

    def write_key() -> Response:
        session["counter"] = next(counter)
        return ok()

    def seed() -> Response:
        session.update(TYPICAL_SESSION)
        return ok()

    app.add_url_rule("/untouched", view_func=untouched)
    app.add_url_rule("/read", view_func=ping_read_key if variant.ping else read_key)
    app.add_url_rule("/write", view_func=write_key)
    app.add_url_rule("/seed", view_func=seed)
    return app


class CannedReplies:
    """A stand-in driver for our store: every batch gets the same replies, without I/O."""

    backend = "redis"
    round_trips = 0

    def __init__(self, replies: list[Any]) -> None:
        self.replies = replies

    def execute(self, batch: list[Any]) -> list[Any]:
        return list(self.replies)

    def close(self) -> None:
        return None


# -- one variant: its app, its typical session's cookie, its pre-built requests ---------------------
def _write(data: bytes) -> None:  # the WSGI write() callable: unused by Flask
    pass


class Bench:
    """One variant's app with the typical session created through it, and a request template
    (WSGI environ) per request type."""

    def __init__(self, variant: Variant, url: str) -> None:
        self.variant = variant
        self.ping_client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.app = make_app(variant, url, self.ping_client)
        self.cookie_name: str = self.app.config["SESSION_COOKIE_NAME"]
        self.cookie: str | None = None if variant.sessions == STAND_IN else self._seed()
        self.templates = {kind.key: self._template(kind) for kind in KINDS}
        if variant.canned:
            self._can()

    def _can(self) -> None:
        """From now on our store answers its load, (b)'s only batch, with the typical session's
        record, without I/O."""
        from redis_sessions.integrations.flask import get_store

        store = get_store(self.app)
        session_id = store.signer.unsign(self.cookie or "")
        if session_id is None:
            raise RuntimeError(f"{self.variant.name}: the seeded cookie does not verify")
        record = self.ping_client.get(store._core.keys.session_key(session_id))
        if record is None:
            raise RuntimeError(f"{self.variant.name}: the seeded session is not in Redis")
        store._driver = CannedReplies([record])  # type: ignore[assignment]

    def _template(self, kind: Kind) -> WSGIEnvironment:
        headers: list[tuple[str, str]] = []
        if kind.with_cookie and self.cookie is not None:
            headers.append(("Cookie", f"{self.cookie_name}={self.cookie}"))
        environ = EnvironBuilder(path=kind.path, headers=headers).get_environ()
        if self.variant.sessions == STAND_IN and kind.with_cookie:
            environ[STAND_IN_DATA] = TYPICAL_SESSION
        return environ

    def respond(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]]]:
        """One request, untimed: its status and headers."""
        got: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            got[:] = [status, headers]
            return _write

        _consume(self.app.wsgi_app(environ, start_response))
        return got[0], got[1]

    def _seed(self) -> str:
        environ = EnvironBuilder(path="/seed").get_environ()
        status, headers = self.respond(environ)
        value = self.set_cookie(headers)
        if status != "200 OK" or value is None:
            raise RuntimeError(f"{self.variant.name}: seeding failed: {status}, headers {headers}")
        return value

    def set_cookie(self, headers: list[tuple[str, str]]) -> str | None:
        """The value of the session cookie the response sets, if any (as sent: sent back as is)."""
        start = f"{self.cookie_name}="
        for name, value in headers:
            if name.lower() == "set-cookie" and value.startswith(start):
                return value[len(start) :].split(";", 1)[0]
        return None

    def time(self, kind_key: str, n: int) -> tuple[list[int], int, int]:
        """Time `n` requests of one kind (or `n` PINGs): per-request ns, the batch's CPU ns, and
        how many responses were not 200."""
        samples = [0] * n
        clock = time.perf_counter_ns
        bad = 0
        if kind_key == PING_OP:
            ping = self.ping_client.execute_command
            gc.collect()
            cpu0 = time.process_time_ns()
            for i in range(n):
                t0 = clock()
                ping("PING")  # type: ignore[no-untyped-call]
                samples[i] = clock() - t0
            return samples, time.process_time_ns() - cpu0, 0
        template = self.templates[kind_key]
        environs = [dict(template) for _ in range(n)]  # Flask writes into the environ
        status = [""]

        def start_response(s: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = s
            return _write

        wsgi_app = self.app.wsgi_app
        gc.collect()
        cpu0 = time.process_time_ns()
        for i, environ in enumerate(environs):
            t0 = clock()
            body = wsgi_app(environ, start_response)
            for _ in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()
            samples[i] = clock() - t0
            bad += status[0] != "200 OK"
        return samples, time.process_time_ns() - cpu0, bad

    def count(self, kind_key: str, n: int) -> dict[str, Any]:
        """`n` requests of one kind under the round-trip counter (the caller runs MONITOR)."""
        environs = [dict(self.templates[kind_key]) for _ in range(n)]
        with count_round_trips() as trips:
            responses = [self.respond(e) for e in environs]
        return {
            "round_trips": trips[0] / n,
            "set_cookie": self.set_cookie(responses[0][1]) is not None,
            "statuses": sorted({status for status, _ in responses}),
        }

    def close(self) -> None:
        self.ping_client.close()


def _consume(body: Iterable[bytes]) -> None:
    for _ in body:
        pass
    close = getattr(body, "close", None)
    if close is not None:
        close()


# -- measuring ---------------------------------------------------------------------------------------
def cell_key(bench: Bench, kind: str) -> str:
    return f"{bench.variant.name}/{kind}"


def measure_traffic(bench: Bench, kind: str, admin: redis.Redis, port: int, n: int) -> dict[str, Any]:
    """Commands per request from MONITOR (top level vs inside Lua) and round trips per request."""
    bench.time(kind, 5)  # warm: connections, script caches
    counted, top, lua = monitor_commands(port, admin, lambda: bench.count(kind, n))
    if counted["statuses"] != ["200 OK"]:
        raise RuntimeError(f"{cell_key(bench, kind)}: statuses {counted['statuses']}")
    return {
        "top_level": {k: v / n for k, v in sorted(top.items())},
        "lua": {k: v / n for k, v in sorted(lua.items())},
        "round_trips": counted["round_trips"],
        "set_cookie": counted["set_cookie"],
    }


def measure_times(
    cells: list[tuple[Bench, str]], admin: redis.Redis, repeats: int, iterations: int, warmup: int
) -> dict[str, Timing]:
    timings = {cell_key(b, kind): Timing() for b, kind in cells}
    for bench, kind in cells:
        bench.time(kind, warmup)
    for rep in range(repeats):
        # Every cell once per repeat, in turn: drift (CPU frequency, neighbours) hits all alike.
        for bench, kind in cells:
            before = server_cpu(admin)
            samples, cpu_ns, bad = bench.time(kind, iterations)
            spent = server_cpu(admin) - before
            if bad:
                raise RuntimeError(f"{cell_key(bench, kind)}: {bad} responses were not 200")
            timings[cell_key(bench, kind)].add(samples, cpu_ns, spent)
        print(f"  repeat {rep + 1}/{repeats} done", file=sys.stderr)
    return timings


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def run(args: argparse.Namespace, port: int, redis_pid: int) -> dict[str, Any]:
    import redis_sessions

    url = f"redis://127.0.0.1:{port}/0"
    admin = redis.Redis(host="127.0.0.1", port=port)
    placement = pin(args.pin, redis_pid, who="the benchmark")
    benches = {v.name: Bench(v, url) for v in VARIANTS}
    try:
        requests = [b for b in benches.values() if not (b.variant.ping or b.variant.canned)]
        yard, canned = benches[YARDSTICK], benches[CANNED]
        results: dict[str, Any] = {
            "meta": {
                "repeats": args.repeats,
                "iterations": args.iterations,
                "warmup": args.warmup,
                "python": sys.version.split()[0],
                "flask": _version("flask"),
                "werkzeug": _version("werkzeug"),
                "flask_session": _version("flask-session"),
                "redis_py": redis.__version__,
                "hiredis": _version("hiredis"),
                "redis_sessions": redis_sessions.__version__,
                "redis_sessions_source": source_state(),
                "redis_server": admin.info("server")["redis_version"],
                "cpus": os.cpu_count(),
                "load_average_at_start": args.load_average,
                "placement": placement,
            },
            "variants": [b.variant.name for b in requests],
            "cookie_value_bytes": {name: len(b.cookie or "") for name, b in benches.items()},
        }

        print("counting Redis commands and round trips ...", file=sys.stderr)
        traffic: dict[str, Any] = {}
        for kind in KINDS:
            for bench in requests:
                traffic[cell_key(bench, kind.key)] = measure_traffic(
                    bench, kind.key, admin, port, args.traffic_requests
                )
        traffic[cell_key(yard, "b")] = measure_traffic(yard, "b", admin, port, args.traffic_requests)
        results["traffic"] = traffic

        print("timing ...", file=sys.stderr)
        cells = [(b, kind.key) for kind in KINDS for b in requests]
        cells += [(yard, "b"), (yard, PING_OP), (canned, "b")]
        timings = measure_times(cells, admin, args.repeats, args.iterations, args.warmup)
        results["timings"] = {key: t.summary() for key, t in timings.items()}
        results["targets"] = evaluate(results)
    finally:
        for bench in benches.values():
            bench.close()
        admin.close()
    return results


# -- report -----------------------------------------------------------------------------------------
YARD_KEY = f"{YARDSTICK}/b"
PING_KEY = f"{YARDSTICK}/{PING_OP}"
CANNED_KEY = f"{CANNED}/b"


def report(results: dict[str, Any]) -> str:
    meta = results["meta"]
    timings, traffic = results["timings"], results["traffic"]
    out = [
        f"Flask session implementations, in-process; {meta['repeats']} repeats x {meta['iterations']} "
        f"requests per cell after {meta['warmup']} warm-up.",
        f"Python {meta['python']}, Flask {meta['flask']}, Werkzeug {meta['werkzeug']}, Flask-Session "
        f"{meta['flask_session']}, redis-py {meta['redis_py']} (hiredis {meta['hiredis']}), redis-server "
        f"{meta['redis_server']}, redis_sessions {meta['redis_sessions']} ({meta['redis_sessions_source']}), "
        f"{meta['cpus']} CPUs, load average {meta['load_average_at_start']} at start"
        + (" (other work is running: expect noise)" if meta["load_average_at_start"] > 0.5 else "")
        + f"; {meta['placement']}.",
        "",
        "Variants (all in this process, one Flask app each):",
        *(f"  {v.name:<15} {v.what}" for v in VARIANTS),
        "",
        "Per request, in microseconds: median / mean / p99 over all timed requests; 'repeats' = range of the",
        "per-repeat means; CPU = this process's CPU; redis CPU = redis-server's CPU (INFO cpu deltas);",
        "vs bare = median minus the bare app's median for the same request type; RT = round trips to Redis.",
    ]
    rows: list[list[str]] = []
    for kind in KINDS:
        bare = timings[f"{BARE}/{kind.key}"]
        for i, name in enumerate(results["variants"]):
            t, tr = timings[f"{name}/{kind.key}"], traffic[f"{name}/{kind.key}"]
            rows.append(
                [
                    kind.label if i == 0 else "",
                    name,
                    *timing_cells(t),
                    f"{t['median_us'] - bare['median_us']:+.1f}",
                    f"{tr['round_trips']:g}",
                    fmt_cmds(tr["top_level"]),
                    fmt_cmds(tr["lua"]),
                    "yes" if tr["set_cookie"] else "no",
                ]
            )
    # fmt: off
    headers = [
        "request", "variant", "median", "mean", "p99", "repeats", "CPU", "redis CPU", "vs bare",
        "RT/req", "commands/req (top level)", "inside Lua/req", "Set-Cookie",
    ]
    # fmt: on
    out += [table(headers, rows, right=set(range(2, 10))), ""]

    out.append("Yardsticks, timed the same way in the same repeats:")
    yard_rt = traffic[YARD_KEY]["round_trips"]
    rows = [
        [f"bare + one redis-py PING in the view, (b) [{yard_rt:g} RT]", *timing_cells(timings[YARD_KEY])],
        ["redis-py PING alone, in a loop", *timing_cells(timings[PING_KEY])],
        ["ours, (b), the load's reply canned (no I/O)", *timing_cells(timings[CANNED_KEY])],
    ]
    headers = ["operation", "median", "mean", "p99", "repeats", "CPU", "redis CPU"]
    out += [table(headers, rows, set(range(1, 7))), ""]

    sizes = results["cookie_value_bytes"]
    out.append(
        "Cookie value bytes: "
        + ", ".join(f"{name} {sizes[name]}" for name in results["variants"] if sizes.get(name))
        + "."
    )
    out += ["", "Targets from the issue, our numbers in this run:"]
    out += [f"  [{'ok' if c['ok'] else 'MISS'}] {c['name']}: {c['detail']}" for c in results["targets"]]
    return "\n".join(out)


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    t, tr = results["timings"], results["traffic"]
    ours, theirs = t[f"{OURS}/b"], t[f"{FLASK_SESSION}/b"]
    bare, yard, ping, canned = t[f"{BARE}/b"], t[YARD_KEY], t[PING_KEY], t[CANNED_KEY]
    budget = yard["median_us"] + TARGET_OVERHEAD_US
    loose = bare["median_us"] + ping["median_us"] + TARGET_OVERHEAD_US
    ratio = ours["median_us"] / theirs["median_us"]
    write_rt = {name: tr[f"{name}/d"]["round_trips"] for name in (OURS, FLASK_SESSION)}
    new_rt = {name: tr[f"{name}/e"]["round_trips"] for name in (OURS, FLASK_SESSION)}
    return [
        {
            "name": f"{OURS}, read-only (b) <= bare + one round trip + {TARGET_OVERHEAD_US:.0f} us",
            "ok": ours["median_us"] <= budget,
            "detail": (
                f"median {ours['median_us']:.1f} us vs {budget:.1f} us (bare + one PING in the view "
                f"{yard['median_us']:.1f} + {TARGET_OVERHEAD_US:.0f}): "
                f"{ours['median_us'] - yard['median_us']:.1f} us wall and "
                f"{ours['cpu_us'] - yard['cpu_us']:.1f} us of this process's CPU beyond it; "
                f"{tr[f'{OURS}/b']['round_trips']:g} RT. With a tight-loop PING instead: bare "
                f"{bare['median_us']:.1f} + PING {ping['median_us']:.1f} + {TARGET_OVERHEAD_US:.0f} = "
                f"{loose:.1f} us. Our CPU alone (the load's reply canned, no I/O): "
                f"{canned['median_us'] - bare['median_us']:.1f} us above the bare app"
            ),
        },
        {
            "name": f"{OURS}, read-only (b) under half of {FLASK_SESSION}",
            "ok": ratio < TARGET_VS_FLASK_SESSION,
            "detail": (
                f"ours {ours['median_us']:.1f} us vs {theirs['median_us']:.1f} us "
                f"({tr[f'{FLASK_SESSION}/b']['round_trips']:g} RT): ratio {ratio:.2f} (target < "
                f"{TARGET_VS_FLASK_SESSION:.2f}: {theirs['median_us'] * TARGET_VS_FLASK_SESSION:.1f} us); "
                f"beyond bare: ours {ours['median_us'] - bare['median_us']:+.1f} us, theirs "
                f"{theirs['median_us'] - bare['median_us']:+.1f} us"
            ),
        },
        {
            "name": f"modifying request (d): at most {TARGET_WRITE_ROUND_TRIPS} round trips",
            "ok": write_rt[OURS] <= TARGET_WRITE_ROUND_TRIPS,
            "detail": (
                ", ".join(f"{name} {rt:g} RT" for name, rt in write_rt.items())
                + " (new session (e): "
                + ", ".join(f"{name} {rt:g} RT" for name, rt in new_rt.items())
                + ")"
            ),
        },
    ]


# -- main -------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time Flask session implementations side by side against a private redis-server."
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests: a smoke test of a few seconds")
    parser.add_argument("--repeats", type=int, help="timed repeats of every cell (default 20; quick 3)")
    parser.add_argument(
        "--iterations",
        "--requests",
        type=int,
        help="requests per cell and repeat (default 500; quick 100)",
    )
    parser.add_argument("--warmup", type=int, help="untimed requests per cell first (default 200; quick 50)")
    parser.add_argument("--traffic-requests", type=int, default=20, help="requests per cell under MONITOR")
    parser.add_argument(
        "--pin",
        choices=("split", "same", "none"),
        default="split",
        help="CPU placement: this process and redis-server on two CPUs (default), on one, or as the OS likes",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every number as JSON to PATH")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 20
    if args.iterations is None:
        args.iterations = 100 if args.quick else 500
    if args.warmup is None:
        args.warmup = 50 if args.quick else 200
    if min(args.repeats, args.iterations, args.warmup, args.traffic_requests) < 1:
        parser.error("counts must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.load_average = round(os.getloadavg()[0], 2)  # before this run starts redis-server
    try:
        importlib.import_module("flask_session")
    except ImportError:
        raise SystemExit(
            "Flask-Session is not installed: .venv/bin/python -m pip install flask-session"
        ) from None
    started = time.monotonic()

    from redis_sessions.testing import running_redis_server

    try:
        with running_redis_server() as server:
            results = run(args, server.port, server.process.pid)
    except FileNotFoundError:
        raise SystemExit("redis-server is not on PATH") from None
    results["meta"]["run_seconds"] = round(time.monotonic() - started, 1)
    print(report(results))
    print(f"\n(run time {results['meta']['run_seconds']:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

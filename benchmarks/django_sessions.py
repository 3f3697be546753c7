#!/usr/bin/env python
"""Side-by-side cost of Django session engines, driven in-process against a private redis-server.

Run from the repository root::

    .venv/bin/python benchmarks/django_sessions.py            # full run (about 2 minutes on 2 cores)
    .venv/bin/python benchmarks/django_sessions.py --quick    # fewer requests, a smoke test
    .venv/bin/python benchmarks/django_sessions.py --json results.json

Variants (Django settings are process-global: each runs in its own worker process, all started once):

- ``bare``: no session middleware (the request carries a plain dict as ``request.session``);
- ``cache``: ``django.contrib.sessions.backends.cache`` on django-redis' ``RedisCache``;
- ``cache+every``: the same with ``SESSION_SAVE_EVERY_REQUEST = True`` (the expiry slides);
- ``django-redis-sessions``: engine ``redis_sessions.session`` of django-redis-sessions 0.6.2, which has
  our import name: it is installed into ``benchmarks/.vendor/`` and put first on its worker's sys.path;
- ``redis_sessions`` and ``redis_sessions+every``: ours, ``redis_sessions.integrations.django``, without
  and with ``SESSION_SAVE_EVERY_REQUEST = True``;
- ``bare+PING`` (a yardstick): the bare app whose read view makes one redis-py PING first.

Request types: (a) no cookie, the view does not touch the session; (b) valid cookie, the view reads a
key; (c) valid cookie, the view never touches the session; (d) valid cookie, the view writes one key;
(e) no cookie, the view writes (a new session).

Each request is a pre-built ``WSGIRequest`` (``RequestFactory``) handed to ``WSGIHandler.get_response``
with the variant's middleware loaded, then ``response.close()`` (which sends ``request_finished``, as a
WSGI server does): the timed span is the whole middleware + view call. The parent process asks each
worker in turn to time a batch, so slow phases of the machine hit every variant alike, and counts
every variant's Redis commands with MONITOR. By default the workers run on one CPU and redis-server
on another (``--pin``), so every variant gets the same placement. benchmarks/README.md explains how
to read the output.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any, cast

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

if TYPE_CHECKING:
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpRequest, HttpResponse, HttpResponseBase

# Nothing at module level imports redis_sessions: the django-redis-sessions worker must get theirs.
SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
VENDOR = SCRIPT.parent / ".vendor" / "django_redis_sessions"
DRS_REQUIREMENT = "django-redis-sessions==0.6.2"

SECRET = "benchmark-django-secret-key-" + "x" * 32
URLCONF = "django_sessions_benchmark_urls"  # a module made up in each worker

# Targets from the issue.
TARGET_OVERHEAD_US = 30.0  # read-only request (b): at most bare + one round trip + this much
TARGET_VS_CACHE_EVERY = 1 / 3  # read-only request (b): under a third of the sliding cache engine
TARGET_WRITE_ROUND_TRIPS = 2  # a modifying request (d): at most this many round trips


# -- variants and request types ---------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    engine: str | None = None  # SESSION_ENGINE; None: no session middleware
    every_request: bool = False  # SESSION_SAVE_EVERY_REQUEST
    ping: bool = False  # the yardstick: one redis-py PING in the read view


KINDS = (
    Kind("a", "(a) no cookie, untouched", "/untouched", False),
    Kind("b", "(b) cookie, reads a key", "/read", True),
    Kind("c", "(c) cookie, untouched", "/untouched", True),
    Kind("d", "(d) cookie, writes a key", "/write", True),
    Kind("e", "(e) no cookie, writes (new)", "/write", False),
)
KIND = {k.key: k for k in KINDS}
PING_OP = "ping"  # not a request: one redis-py PING, timed in the yardstick worker

CACHE_ENGINE = "django.contrib.sessions.backends.cache"
DRS_ENGINE = "redis_sessions.session"
OURS_ENGINE = "redis_sessions.integrations.django"
DJANGO_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
OURS_MIDDLEWARE = "redis_sessions.integrations.django.SessionMiddleware"

BARE, YARDSTICK, CACHE_EVERY = "bare", "bare+PING", "cache+every"
DRS, OURS, OURS_EVERY = "django-redis-sessions", "redis_sessions", "redis_sessions+every"
VARIANTS = (
    Variant(BARE, "no session middleware; request.session is a plain dict"),
    Variant("cache", "Django's cache engine on django-redis RedisCache", CACHE_ENGINE),
    Variant(CACHE_EVERY, "the same, SESSION_SAVE_EVERY_REQUEST = True", CACHE_ENGINE, every_request=True),
    Variant(DRS, "django-redis-sessions 0.6.2 (engine redis_sessions.session)", DRS_ENGINE),
    Variant(OURS, "ours, redis_sessions.integrations.django", OURS_ENGINE),
    Variant(OURS_EVERY, "ours, SESSION_SAVE_EVERY_REQUEST = True", OURS_ENGINE, every_request=True),
    Variant(YARDSTICK, "yardstick: bare + one redis-py PING in the read view", ping=True),
)
VARIANT = {v.name: v for v in VARIANTS}


def django_settings(variant: Variant, url: str) -> dict[str, Any]:
    """The Django settings of one variant (its worker configures them once)."""
    values: dict[str, Any] = {
        "DEBUG": False,
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": ["*"],
        "INSTALLED_APPS": [],
        "DATABASES": {},
        "USE_TZ": True,
        "ROOT_URLCONF": URLCONF,
        "MIDDLEWARE": [],
        "SESSION_SAVE_EVERY_REQUEST": variant.every_request,
    }
    if variant.engine == CACHE_ENGINE:
        values["CACHES"] = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url}}
        values["MIDDLEWARE"] = [DJANGO_MIDDLEWARE]
    elif variant.engine == DRS_ENGINE:
        values["SESSION_REDIS"] = {"url": url, "prefix": "drs", "socket_timeout": 1.0}
        values["MIDDLEWARE"] = [DJANGO_MIDDLEWARE]
    elif variant.engine == OURS_ENGINE:
        values["REDIS_SESSIONS"] = {"URL": url}
        values["MIDDLEWARE"] = [OURS_MIDDLEWARE]
    if variant.engine is not None:
        values["SESSION_ENGINE"] = variant.engine
    return values


# -- the worker: one variant's Django, answering one JSON line per JSON line ------------------------
class DjangoApp:
    """One variant's Django: settings, URLconf, handler and a seeded typical session."""

    def __init__(self, variant: Variant, url: str) -> None:
        import django
        from django.conf import settings

        self.variant = variant
        urls = ModuleType(URLCONF)
        sys.modules[URLCONF] = urls
        settings.configure(**django_settings(variant, url))
        django.setup()

        from django.core.handlers.wsgi import WSGIHandler
        from django.test import RequestFactory

        self.ping_client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        urls.__dict__["urlpatterns"] = self._urlpatterns()
        self.handler = WSGIHandler()  # loads MIDDLEWARE
        self.factory = RequestFactory()
        self.cookie_name: str = settings.SESSION_COOKIE_NAME
        self.cookie: str | None = None
        if variant.engine is not None:
            self.cookie = self._seed()

    def _urlpatterns(self) -> list[Any]:
        from django.http import HttpResponse
        from django.urls import path

        counter = itertools.count()
        ping = self.ping_client.execute_command

        def ok() -> HttpResponse:
            return HttpResponse(b"ok", content_type="text/plain")

        def untouched(request: HttpRequest) -> HttpResponse:
            return ok()

        def read_key(request: HttpRequest) -> HttpResponse:
            request.session.get("user_id")
            return ok()

        def ping_read_key(request: HttpRequest) -> HttpResponse:
            ping("PING")  # type: ignore[no-untyped-call]
            request.session.get("user_id")
            return ok()

        def write_key(request: HttpRequest) -> HttpResponse:
            request.session["counter"] = next(counter)
            return ok()

        def seed(request: HttpRequest) -> HttpResponse:
            request.session.update(TYPICAL_SESSION)
            return ok()

        return [
            path("untouched", untouched),
            path("read", ping_read_key if self.variant.ping else read_key),
            path("write", write_key),
            path("seed", seed),
        ]

    def _seed(self) -> str:
        response = self.respond(self.factory.get("/seed"))
        morsel = response.cookies.get(self.cookie_name)
        if response.status_code != 200 or morsel is None:
            raise RuntimeError(f"seeding failed: status {response.status_code}, cookies {response.cookies}")
        return morsel.value

    def respond(self, request: WSGIRequest) -> HttpResponseBase:
        response = self.handler.get_response(request)
        response.close()
        return response

    def request(self, kind: Kind) -> WSGIRequest:
        """A fresh request of `kind` (middlewares write into it)."""
        if kind.with_cookie and self.cookie is not None:
            request = self.factory.get(kind.path, HTTP_COOKIE=f"{self.cookie_name}={self.cookie}")
        else:
            request = self.factory.get(kind.path)
        if self.variant.engine is None:  # no middleware to provide one: the views run unchanged
            cast(Any, request).session = dict(TYPICAL_SESSION) if kind.with_cookie else {}
        return request

    def time(self, kind_key: str, n: int) -> dict[str, Any]:
        """Time `n` requests of one kind (or `n` PINGs): per-request ns and the batch's process CPU."""
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
        else:
            requests = [self.request(KIND[kind_key]) for _ in range(n)]
            get_response = self.handler.get_response
            gc.collect()
            cpu0 = time.process_time_ns()
            for i, request in enumerate(requests):
                t0 = clock()
                response = get_response(request)
                response.close()
                samples[i] = clock() - t0
                bad += response.status_code != 200
        cpu_ns = time.process_time_ns() - cpu0
        return {"samples": samples, "cpu_ns": cpu_ns, "bad": bad}

    def count(self, kind_key: str, n: int) -> dict[str, Any]:
        """`n` requests of one kind under the round-trip counter (the parent runs MONITOR)."""
        requests = [self.request(KIND[kind_key]) for _ in range(n)]
        with count_round_trips() as trips:
            responses = [self.respond(r) for r in requests]
        return {
            "round_trips": trips[0] / n,
            "set_cookie": self.cookie_name in responses[0].cookies,
            "statuses": sorted({r.status_code for r in responses}),
        }

    def hello(self) -> dict[str, Any]:
        import django

        module = sys.modules.get("redis_sessions")
        return {
            "django": django.get_version(),
            "redis_sessions_file": getattr(module, "__file__", None),
            "cookie_value_bytes": len(self.cookie or ""),
        }


def worker_main(name: str, url: str) -> int:
    """Serve one variant: a JSON line per request on stdin, a JSON line per answer on stdout."""
    proto: IO[str] = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to stderr, never into the protocol
    sys.stdout = sys.stderr

    def send(message: dict[str, Any]) -> None:
        proto.write(json.dumps(message) + "\n")
        proto.flush()

    variant = VARIANT[name]
    try:
        if variant.engine == DRS_ENGINE:
            if "redis_sessions" in sys.modules:
                raise RuntimeError("our redis_sessions is imported already: theirs cannot load")
            sys.path.insert(0, str(VENDOR))  # their `redis_sessions` package comes first
        app = DjangoApp(variant, url)
        send(app.hello())
    except Exception:
        send({"error": traceback.format_exc()})
        return 1
    for line in sys.stdin:
        message = json.loads(line)
        op = message["op"]
        if op == "quit":
            break
        try:
            if op == "time":
                send(app.time(message["kind"], message["n"]))
            elif op == "count":
                send(app.count(message["kind"], message["n"]))
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception:
            send({"error": traceback.format_exc()})
    return 0


# -- the parent: workers, timing, MONITOR ------------------------------------------------------------
class Worker:
    """A worker process of one variant, seen from the parent."""

    def __init__(self, variant: Variant, url: str) -> None:
        self.variant = variant
        argv = [sys.executable, str(SCRIPT), "--worker", variant.name, "--url", url]
        pipe = subprocess.PIPE
        self.proc = subprocess.Popen(argv, stdin=pipe, stdout=pipe, text=True, bufsize=1)
        self.hello: dict[str, Any] = {}

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.variant.name} exited (code {self.proc.wait()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"worker {self.variant.name} failed:\n{reply['error']}")
        return reply

    def call(self, op: str, kind: str, n: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, "kind": kind, "n": n}) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        try:
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def measure_times(
    cells: list[tuple[Worker, str]], admin: redis.Redis, repeats: int, requests: int, warmup: int
) -> dict[str, Timing]:
    timings = {cell_key(w, kind): Timing() for w, kind in cells}
    for worker, kind in cells:
        worker.call("time", kind, warmup)
    for rep in range(repeats):
        # Every cell once per repeat, in turn: drift (CPU frequency, neighbours) hits all alike.
        for worker, kind in cells:
            before = server_cpu(admin)
            reply = worker.call("time", kind, requests)
            spent = server_cpu(admin) - before
            if reply["bad"]:
                raise RuntimeError(f"{cell_key(worker, kind)}: {reply['bad']} responses were not 200")
            timings[cell_key(worker, kind)].add(reply["samples"], reply["cpu_ns"], spent)
        print(f"  repeat {rep + 1}/{repeats} done", file=sys.stderr)
    return timings


def cell_key(worker: Worker, kind: str) -> str:
    return f"{worker.variant.name}/{kind}"


def measure_traffic(worker: Worker, kind: str, admin: redis.Redis, port: int, n: int) -> dict[str, Any]:
    """Commands per request from MONITOR (top level vs inside Lua) and round trips per request."""
    worker.call("time", kind, 5)  # warm: connections, script caches
    counted, top, lua = monitor_commands(port, admin, lambda: worker.call("count", kind, n))
    if counted["statuses"] != [200]:
        raise RuntimeError(f"{cell_key(worker, kind)}: statuses {counted['statuses']}")
    return {
        "top_level": {k: v / n for k, v in sorted(top.items())},
        "lua": {k: v / n for k, v in sorted(lua.items())},
        "round_trips": counted["round_trips"],
        "set_cookie": counted["set_cookie"],
    }


def ensure_vendor() -> str | None:
    """Install django-redis-sessions into benchmarks/.vendor/ if missing; None if it is there now,
    else why not (its variant is then left out)."""
    if (VENDOR / "redis_sessions" / "session.py").is_file():
        return None
    print(f"installing {DRS_REQUIREMENT} into {VENDOR.relative_to(ROOT)} ...", file=sys.stderr)
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(VENDOR)]
    done = subprocess.run([*command, DRS_REQUIREMENT], capture_output=True, text=True, check=False)
    if done.returncode != 0 or not (VENDOR / "redis_sessions" / "session.py").is_file():
        return f"pip install failed: {done.stderr.strip()[-300:]}"
    return None


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _vendor_version() -> str:
    found = sorted(VENDOR.glob("django_redis_sessions-*.dist-info"))
    return found[0].name.removesuffix(".dist-info").split("-")[1] if found else "?"


def check_workers(workers: dict[str, Worker]) -> None:
    """Each Redis engine is the one it claims: theirs from .vendor/, ours from this repository."""
    for name, worker in workers.items():
        where = worker.hello["redis_sessions_file"]
        if name == DRS and (where is None or not Path(where).is_relative_to(VENDOR)):
            raise RuntimeError(f"django-redis-sessions worker imported redis_sessions from {where}")
        if VARIANT[name].engine == OURS_ENGINE and (where is None or Path(where).is_relative_to(VENDOR)):
            raise RuntimeError(f"our worker imported redis_sessions from {where}")


def run(args: argparse.Namespace, port: int, redis_pid: int, variants: list[Variant]) -> dict[str, Any]:
    import redis_sessions

    url = f"redis://127.0.0.1:{port}/0"
    admin = redis.Redis(host="127.0.0.1", port=port)
    # The workers inherit this affinity: unpinned, one could sit on redis-server's core and another not.
    placement = pin(args.pin, redis_pid, who="workers")
    workers = {v.name: Worker(v, url) for v in variants}  # all start at once, with this affinity
    try:
        for worker in workers.values():
            worker.hello = worker.read()
        check_workers(workers)
        requests = [w for w in workers.values() if not w.variant.ping]
        yard = workers[YARDSTICK]
        results: dict[str, Any] = {
            "meta": {
                "repeats": args.repeats,
                "requests": args.requests,
                "warmup": args.warmup,
                "python": sys.version.split()[0],
                "django": workers[BARE].hello["django"],
                "django_redis": _version("django-redis"),
                "django_redis_sessions": _vendor_version() if DRS in workers else "left out",
                "redis_py": redis.__version__,
                "hiredis": _version("hiredis"),
                "redis_sessions": redis_sessions.__version__,
                "redis_sessions_source": source_state(),
                "redis_server": admin.info("server")["redis_version"],
                "cpus": os.cpu_count(),
                "load_average_at_start": args.load_average,
                "placement": placement,
            },
            "variants": [w.variant.name for w in requests],
            "cookie_value_bytes": {name: w.hello["cookie_value_bytes"] for name, w in workers.items()},
        }

        print("counting Redis commands and round trips ...", file=sys.stderr)
        traffic: dict[str, Any] = {}
        for kind in KINDS:
            for worker in requests:
                traffic[cell_key(worker, kind.key)] = measure_traffic(
                    worker, kind.key, admin, port, args.traffic_requests
                )
        traffic[cell_key(yard, "b")] = measure_traffic(yard, "b", admin, port, args.traffic_requests)
        results["traffic"] = traffic

        print("timing ...", file=sys.stderr)
        cells = [(w, kind.key) for kind in KINDS for w in requests] + [(yard, "b"), (yard, PING_OP)]
        timings = measure_times(cells, admin, args.repeats, args.requests, args.warmup)
        results["timings"] = {key: t.summary() for key, t in timings.items()}
        results["targets"] = evaluate(results)
    finally:
        for worker in workers.values():
            worker.close()
        admin.close()
    return results


# -- report -----------------------------------------------------------------------------------------
YARD_KEY = f"{YARDSTICK}/b"
PING_KEY = f"{YARDSTICK}/{PING_OP}"


def report(results: dict[str, Any]) -> str:
    meta = results["meta"]
    timings, traffic = results["timings"], results["traffic"]
    out = [
        f"Django session engines, in-process; {meta['repeats']} repeats x {meta['requests']} requests per "
        f"cell after {meta['warmup']} warm-up.",
        f"Python {meta['python']}, Django {meta['django']}, django-redis {meta['django_redis']}, "
        f"django-redis-sessions {meta['django_redis_sessions']}, redis-py {meta['redis_py']} "
        f"(hiredis {meta['hiredis']}), redis-server {meta['redis_server']}, redis_sessions "
        f"{meta['redis_sessions']} ({meta['redis_sessions_source']}), {meta['cpus']} CPUs, load average "
        f"{meta['load_average_at_start']} at start"
        + (" (other work is running: expect noise)" if meta["load_average_at_start"] > 0.5 else "")
        + f"; {meta['placement']}.",
        "",
        "Variants (each in its own worker process):",
        *(f"  {v.name:<22} {v.what}" for v in VARIANTS if v.name in [*results["variants"], YARDSTICK]),
        "",
        "Per request, in microseconds: median / mean / p99 over all timed requests; 'repeats' = range of the",
        "per-repeat means; CPU = the worker's CPU; redis CPU = redis-server's CPU (INFO cpu deltas);",
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
    ours, plain = t[f"{OURS_EVERY}/b"], t[f"{OURS}/b"]  # ours with and without SAVE_EVERY_REQUEST
    sliding = t[f"{CACHE_EVERY}/b"]
    bare, yard, ping = t[f"{BARE}/b"], t[YARD_KEY], t[PING_KEY]
    budget = yard["median_us"] + TARGET_OVERHEAD_US
    loose = bare["median_us"] + ping["median_us"] + TARGET_OVERHEAD_US
    ratio = ours["median_us"] / sliding["median_us"]
    write_rt = {name: tr[f"{name}/d"]["round_trips"] for name in (OURS_EVERY, OURS)}
    new_rt = {name: tr[f"{name}/e"]["round_trips"] for name in (OURS_EVERY, OURS)}
    unchanged = [
        (kind, tr[f"{OURS}/{kind}"]["round_trips"], tr[f"{OURS_EVERY}/{kind}"]["round_trips"])
        for kind in ("a", "b", "c")
    ]
    return [
        {
            "name": f"{OURS_EVERY}, read-only (b) <= bare + one round trip + {TARGET_OVERHEAD_US:.0f} us",
            "ok": ours["median_us"] <= budget,
            "detail": (
                f"median {ours['median_us']:.1f} us vs {budget:.1f} us (bare + one PING in the view "
                f"{yard['median_us']:.1f} + {TARGET_OVERHEAD_US:.0f}): "
                f"{ours['median_us'] - yard['median_us']:.1f} us wall and "
                f"{ours['cpu_us'] - yard['cpu_us']:.1f} us of the worker's CPU beyond it; "
                f"{tr[f'{OURS_EVERY}/b']['round_trips']:g} RT. With a tight-loop PING instead: bare "
                f"{bare['median_us']:.1f} + PING {ping['median_us']:.1f} + {TARGET_OVERHEAD_US:.0f} = "
                f"{loose:.1f} us. Without SESSION_SAVE_EVERY_REQUEST: {plain['median_us']:.1f} us"
            ),
        },
        {
            "name": f"{OURS_EVERY}, read-only (b) under a third of {CACHE_EVERY}",
            "ok": ratio < TARGET_VS_CACHE_EVERY,
            "detail": (
                f"ours {ours['median_us']:.1f} us vs {sliding['median_us']:.1f} us "
                f"({tr[f'{CACHE_EVERY}/b']['round_trips']:g} RT): ratio {ratio:.2f} (target < "
                f"{TARGET_VS_CACHE_EVERY:.2f}: {sliding['median_us'] * TARGET_VS_CACHE_EVERY:.1f} us)"
            ),
        },
        {
            "name": f"modifying request (d): at most {TARGET_WRITE_ROUND_TRIPS} round trips",
            "ok": max(write_rt.values()) <= TARGET_WRITE_ROUND_TRIPS,
            "detail": (
                ", ".join(f"{name} {rt:g} RT" for name, rt in write_rt.items())
                + " (new session (e): "
                + ", ".join(f"{name} {rt:g} RT" for name, rt in new_rt.items())
                + ")"
            ),
        },
        {
            "name": "SESSION_SAVE_EVERY_REQUEST = True: no extra round trip when nothing changed",
            "ok": all(on <= off for _, off, on in unchanged),
            "detail": (
                "; ".join(f"({kind}) {off:g} RT without, {on:g} with" for kind, off, on in unchanged)
                + f"; (b) median {plain['median_us']:.1f} us without, {ours['median_us']:.1f} us with"
            ),
        },
    ]


# -- main -------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time Django session engines side by side against a private redis-server."
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests: a smoke test of a few seconds")
    parser.add_argument("--repeats", type=int, help="timed repeats of every cell (default 20; quick 3)")
    parser.add_argument("--requests", type=int, help="requests per cell and repeat (default 500; quick 100)")
    parser.add_argument("--warmup", type=int, help="untimed requests per cell first (default 200; quick 50)")
    parser.add_argument("--traffic-requests", type=int, default=20, help="requests per cell under MONITOR")
    parser.add_argument(
        "--pin",
        choices=("split", "same", "none"),
        default="split",
        help="CPU placement: workers and redis-server on two CPUs (default), on one, or as the OS likes",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every number as JSON to PATH")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: serve one variant
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 20
    if args.requests is None:
        args.requests = 100 if args.quick else 500
    if args.warmup is None:
        args.warmup = 50 if args.quick else 200
    if min(args.repeats, args.requests, args.warmup, args.traffic_requests) < 1:
        parser.error("counts must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.url)
    args.load_average = round(os.getloadavg()[0], 2)  # before this run adds its own processes
    if find_spec("django_redis") is None:
        raise SystemExit("django-redis is not installed: .venv/bin/python -m pip install django-redis")
    started = time.monotonic()
    variants = list(VARIANTS)
    problem = ensure_vendor()
    if problem is not None:
        print(f"leaving out django-redis-sessions: {problem}", file=sys.stderr)
        variants = [v for v in variants if v.name != DRS]

    from redis_sessions.testing import running_redis_server

    try:
        with running_redis_server() as server:
            results = run(args, server.port, server.process.pid, variants)
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

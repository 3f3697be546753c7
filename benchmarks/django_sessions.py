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
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any, cast

import redis
from _cli import Counts, finish, make_parser, needs_redis_server, parse
from _measure import closing_all, count_round_trips, measure_variants, pin, time_pings
from _report import (
    BARE_PING,
    KIND,
    PING_OP,
    TYPICAL_SESSION,
    Kind,
    bare_ping_target,
    dist_version,
    run_meta,
    variants_report,
    write_target,
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


CACHE_ENGINE = "django.contrib.sessions.backends.cache"
DRS_ENGINE = "redis_sessions.session"
OURS_ENGINE = "redis_sessions.integrations.django"
DJANGO_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
OURS_MIDDLEWARE = "redis_sessions.integrations.django.SessionMiddleware"

BARE, CACHE_EVERY = "bare", "cache+every"
DRS, OURS, OURS_EVERY = "django-redis-sessions", "redis_sessions", "redis_sessions+every"
VARIANTS = (
    Variant(BARE, "no session middleware; request.session is a plain dict"),
    Variant("cache", "Django's cache engine on django-redis RedisCache", CACHE_ENGINE),
    Variant(CACHE_EVERY, "the same, SESSION_SAVE_EVERY_REQUEST = True", CACHE_ENGINE, every_request=True),
    Variant(DRS, "django-redis-sessions 0.6.2 (engine redis_sessions.session)", DRS_ENGINE),
    Variant(OURS, "ours, redis_sessions.integrations.django", OURS_ENGINE),
    Variant(OURS_EVERY, "ours, SESSION_SAVE_EVERY_REQUEST = True", OURS_ENGINE, every_request=True),
    Variant(BARE_PING, "yardstick: bare + one redis-py PING in the read view", ping=True),
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
        if kind_key == PING_OP:
            samples, cpu_ns = time_pings(self.ping_client, n)
            return {"samples": samples, "cpu_ns": cpu_ns, "bad": 0}
        samples = [0] * n
        clock = time.perf_counter_ns
        bad = 0
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
        return {"samples": samples, "cpu_ns": time.process_time_ns() - cpu0, "bad": bad}

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
        self.name = variant.name
        argv = [sys.executable, str(SCRIPT), "--worker", variant.name, "--url", url]
        pipe = subprocess.PIPE
        self.proc = subprocess.Popen(argv, stdin=pipe, stdout=pipe, text=True, bufsize=1)
        self.hello: dict[str, Any] = {}
        self.cookie_bytes = 0  # known from its hello

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

    def time(self, kind: str, n: int) -> tuple[list[int], int, int]:
        reply = self.call("time", kind, n)
        return reply["samples"], reply["cpu_ns"], reply["bad"]

    def count(self, kind: str, n: int) -> dict[str, Any]:
        return self.call("count", kind, n)

    def close(self) -> None:
        try:
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


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
    with closing_all([*workers.values(), admin]):
        for worker in workers.values():
            worker.hello = worker.read()
            worker.cookie_bytes = worker.hello["cookie_value_bytes"]
        check_workers(workers)
        versions = {
            "django": workers[BARE].hello["django"],
            "django_redis": dist_version("django-redis"),
            "django_redis_sessions": _vendor_version() if DRS in workers else "left out",
        }
        redis_server = admin.info("server")["redis_version"]
        meta = run_meta(args, versions, redis_sessions.__version__, redis_server, "requests")
        meta["placement"] = placement
        results = measure_variants(meta, workers, [], admin, port, args, evaluate)
    return results


# -- report -----------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    meta = results["meta"]
    shown = [*results["variants"], BARE_PING]
    return variants_report(
        results,
        title="Django session engines",
        frameworks=(
            f"Django {meta['django']}, django-redis {meta['django_redis']}, "
            f"django-redis-sessions {meta['django_redis_sessions']}"
        ),
        count_key="requests",
        variants=[
            "Variants (each in its own worker process):",
            *(f"  {v.name:<22} {v.what}" for v in VARIANTS if v.name in shown),
        ],
        cpu="the worker's",
        yardsticks=[],
    )


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    t, tr = results["timings"], results["traffic"]
    ours, plain = t[f"{OURS_EVERY}/b"], t[f"{OURS}/b"]  # ours with and without SAVE_EVERY_REQUEST
    sliding = t[f"{CACHE_EVERY}/b"]
    ratio = ours["median_us"] / sliding["median_us"]
    unchanged = [
        (kind, tr[f"{OURS}/{kind}"]["round_trips"], tr[f"{OURS_EVERY}/{kind}"]["round_trips"])
        for kind in ("a", "b", "c")
    ]
    return [
        bare_ping_target(
            results,
            OURS_EVERY,
            TARGET_OVERHEAD_US,
            "the worker's",
            f"Without SESSION_SAVE_EVERY_REQUEST: {plain['median_us']:.1f} us",
        ),
        {
            "name": f"{OURS_EVERY}, read-only (b) under a third of {CACHE_EVERY}",
            "ok": ratio < TARGET_VS_CACHE_EVERY,
            "detail": (
                f"ours {ours['median_us']:.1f} us vs {sliding['median_us']:.1f} us "
                f"({tr[f'{CACHE_EVERY}/b']['round_trips']:g} RT): ratio {ratio:.2f} (target < "
                f"{TARGET_VS_CACHE_EVERY:.2f}: {sliding['median_us'] * TARGET_VS_CACHE_EVERY:.1f} us)"
            ),
        },
        write_target(tr, [OURS_EVERY, OURS], [OURS_EVERY, OURS], TARGET_WRITE_ROUND_TRIPS),
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
COUNTS = Counts(iterations=(500, 100), warmup=(200, 50))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = make_parser(
        "Time Django session engines side by side against a private redis-server.",
        COUNTS,
        count_flags=("--requests",),
        pin="workers",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: serve one variant
    parser.add_argument("--url", help=argparse.SUPPRESS)
    return parse(parser, COUNTS, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.url)
    if find_spec("django_redis") is None:
        raise SystemExit("django-redis is not installed: .venv/bin/python -m pip install django-redis")
    started = time.monotonic()
    variants = list(VARIANTS)
    problem = ensure_vendor()
    if problem is not None:
        print(f"leaving out django-redis-sessions: {problem}", file=sys.stderr)
        variants = [v for v in variants if v.name != DRS]

    from redis_sessions.testing import running_redis_server

    with needs_redis_server(), running_redis_server() as server:
        results = run(args, server.port, server.process.pid, variants)
    return finish(results, report, started, args.json)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Side-by-side cost of ASGI session middlewares, driven in-process against a private redis-server.

Run from the repository root::

    .venv/bin/python benchmarks/asgi_sessions.py            # full run (under a minute on 2 cores)
    .venv/bin/python benchmarks/asgi_sessions.py --quick    # fewer iterations, a smoke test
    .venv/bin/python benchmarks/asgi_sessions.py --profile  # also: where our read-only request spends
    .venv/bin/python benchmarks/asgi_sessions.py --json results.json

Frameworks (the same Starlette app, wrapped differently):

- ``bare``: no session middleware (the scope carries a plain dict as ``scope["session"]``);
- ``starlette-cookie``: ``starlette.middleware.sessions.SessionMiddleware`` (data in a signed cookie);
- ``starsessions``: ``starsessions.SessionMiddleware`` + ``SessionAutoloadMiddleware`` + ``RedisStore``;
- ``redis_sessions``: ours, ``redis_sessions.integrations.asgi.SessionMiddleware``.

Request types: (a) no cookie, handler does not touch the session; (b) valid cookie, handler reads a
key; (c) valid cookie, handler never touches the session; (d) valid cookie, handler writes one key;
(e) no cookie, handler writes (a new session).

Each request goes straight into the ASGI app with a hand-built scope, ``receive`` and ``send`` in one
asyncio loop (no TestClient, no HTTP server): the numbers are the middleware's own cost plus the Redis
round trips it makes over loopback. benchmarks/README.md explains how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import gc
import importlib
import inspect
import itertools
import json
import pstats
import re
import statistics
import sys
import time
import timeit
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
import redis.asyncio
import starlette
import starsessions
from _cli import Counts, finish, make_parser, needs_redis_server, parse
from _measure import MonitorTally, count_round_trips, pin
from _report import (
    KIND,
    KINDS,
    TYPICAL_SESSION,
    Kind,
    Timing,
    cpu_alone,
    dist_version,
    heading,
    legend,
    operations_table,
    overhead_target,
    request_table,
    run_meta,
    table,
    target_lines,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware as CookieSessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starsessions.stores.redis import RedisStore

import redis_sessions
from redis_sessions import AsyncSessionStore, SessionConfig, SessionIdSigner
from redis_sessions.integrations.asgi import SessionMiddleware as RedisSessionsMiddleware
from redis_sessions.integrations.asgi import get_session
from redis_sessions.testing import running_redis_server

SECRET = "benchmark-secret-key-" + "x" * 32
COOKIE = "session"
LIFETIME = 14 * 24 * 3600  # every framework: a 14-day sliding lifetime, like our default ttl

# Targets from the issue.
TARGET_OVERHEAD_US = 25.0  # read-only request: at most bare app + one round trip + this much
TARGET_VS_STARSESSIONS = 0.5  # read-only request: under half of starsessions' time
TARGET_MEMORY_BYTES = 350  # MEMORY USAGE of a typical session

# Diagnostic variant of the typical session: the cart as five {sku, qty} objects (141 bytes of JSON).
RICH_CART = [{"sku": f"SKU-{1001 + i}", "qty": i % 3 + 1} for i in range(5)]

Step = Callable[[], Awaitable[Any]]


# -- the app ----------------------------------------------------------------------------------------
_counter = itertools.count()


def _ok() -> Response:
    return Response(b"ok", media_type="text/plain")


async def untouched(request: Request) -> Response:
    return _ok()


async def read_key(request: Request) -> Response:
    request.session.get("user_id")
    return _ok()


async def write_key(request: Request) -> Response:
    request.session["counter"] = next(_counter)
    return _ok()


async def seed(request: Request) -> Response:
    request.session.update(TYPICAL_SESSION)
    return _ok()


async def seed_rich(request: Request) -> Response:
    request.session.update({**TYPICAL_SESSION, "cart": RICH_CART})
    return _ok()


async def seed_bound(request: Request) -> Response:
    """Ours only: the user id bound with the public API (per-user index), not stored as data."""
    data = dict(TYPICAL_SESSION)
    user_id = data.pop("user_id")
    request.session.update(data)
    get_session(request).user_id = user_id
    return _ok()


def build_app(middleware: list[Middleware]) -> Starlette:
    routes = [
        Route("/untouched", untouched),
        Route("/read", read_key),
        Route("/write", write_key),
        Route("/seed", seed),
        Route("/seed-rich", seed_rich),
        Route("/seed-bound", seed_bound),
    ]
    return Starlette(routes=routes, middleware=middleware)


def starsessions_middleware(client: redis.asyncio.Redis) -> list[Middleware]:
    return [
        Middleware(
            starsessions.SessionMiddleware,
            store=RedisStore(connection=client),
            lifetime=LIFETIME,
            rolling=True,  # slide the expiry on every request, as ours does
            cookie_name=COOKIE,
            cookie_https_only=False,
        ),
        # Inside SessionMiddleware (Starlette lists middleware outermost first): loads every session.
        Middleware(starsessions.SessionAutoloadMiddleware),
    ]


def ours_middleware(url: str) -> list[Middleware]:
    return [Middleware(RedisSessionsMiddleware, config=SessionConfig(url=url, secret_keys=[SECRET]))]


class PingFirst:
    """Yardstick: one redis-py PING round trip, then the app. 'bare app + one round trip' measured in
    the same setting as a real request (the same code runs between round trips)."""

    def __init__(self, app: ASGIApp, client: redis.asyncio.Redis) -> None:
        self.app = app
        self.client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.client.execute_command("PING")  # type: ignore[no-untyped-call]
        await self.app(scope, receive, send)


READ_ONLY = KIND["b"]


@dataclass
class Framework:
    name: str
    app: Starlette
    bare: bool = False
    cookie: bytes | None = None  # the Cookie header of a seeded typical session


def make_scope(path: str, cookie: bytes | None, bare_session: dict[str, Any] | None) -> Scope:
    headers = [(b"host", b"bench.local"), (b"user-agent", b"bench/1.0"), (b"accept", b"*/*")]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    if bare_session is not None:
        scope["session"] = bare_session  # the bare app has no middleware to provide one
    return scope


_REQUEST: Message = {"type": "http.request", "body": b"", "more_body": False}


async def receive() -> Message:
    return _REQUEST


async def discard(message: Message) -> None:
    return None


def scope_for(fw: Framework, kind: Kind) -> Scope:
    bare_session: dict[str, Any] | None = None
    if fw.bare:
        bare_session = dict(TYPICAL_SESSION) if kind.with_cookie else {}
    return make_scope(kind.path, fw.cookie if kind.with_cookie else None, bare_session)


def request_steps(fw: Framework, kind: Kind, n: int) -> list[Step]:
    """`n` ready-to-run requests, each with its own fresh scope (middlewares write into it)."""
    return [functools.partial(fw.app, scope_for(fw, kind), receive, discard) for _ in range(n)]


@dataclass
class Reply:
    status: int = 0
    set_cookie: list[bytes] = field(default_factory=list)


async def call(app: ASGIApp, scope: Scope) -> Reply:
    reply = Reply()

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            reply.status = message["status"]
            reply.set_cookie = [v for k, v in message.get("headers", ()) if k.lower() == b"set-cookie"]

    await app(scope, receive, capture)
    return reply


async def seed_cookie(app: ASGIApp, path: str = "/seed") -> bytes:
    """Create a session through `app` and return the ``Cookie`` header that carries it."""
    reply = await call(app, make_scope(path, None, None))
    if reply.status != 200 or len(reply.set_cookie) != 1:
        raise RuntimeError(f"seeding {path} failed: {reply}")
    return reply.set_cookie[0].split(b";", 1)[0]


def find_middleware(app: Starlette, cls: type[Any]) -> Any:
    """The instance of `cls` in `app`'s (already built) middleware stack."""
    node: Any = app.middleware_stack
    while node is not None:
        if isinstance(node, cls):
            return node
        node = getattr(node, "app", None)
    raise LookupError(cls.__name__)


# -- timing -----------------------------------------------------------------------------------------
@dataclass
class Cell:
    """One thing to time: `steps(n)` gives n awaitable factories, one request (or operation) each."""

    key: str
    steps: Callable[[int], list[Step]]


async def server_cpu(admin: redis.asyncio.Redis) -> float:
    info = await admin.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def run_batch(steps: list[Step]) -> tuple[list[int], int]:
    """Run `steps` one after another; per-step wall time (ns) and the batch's process CPU (ns)."""
    samples = [0] * len(steps)
    clock = time.perf_counter_ns
    cpu0 = time.process_time_ns()
    for i, step in enumerate(steps):
        t0 = clock()
        await step()
        samples[i] = clock() - t0
    return samples, time.process_time_ns() - cpu0


async def measure_times(
    cells: list[Cell], admin: redis.asyncio.Redis, repeats: int, iterations: int, warmup: int
) -> dict[str, Timing]:
    timings = {cell.key: Timing() for cell in cells}
    for cell in cells:
        await run_batch(cell.steps(warmup))
    for rep in range(repeats):
        # Every cell once per repeat, in turn: drift (CPU frequency, neighbours) hits all alike.
        for cell in cells:
            steps = cell.steps(iterations)
            gc.collect()
            before = await server_cpu(admin)
            samples, cpu_ns = await run_batch(steps)
            timings[cell.key].add(samples, cpu_ns, await server_cpu(admin) - before)
        print(f"  repeat {rep + 1}/{repeats} done", file=sys.stderr)
    return timings


@dataclass
class Baselines:
    """Single round trips and store calls to time next to the requests, and what to close after."""

    cells: list[Cell]
    closers: list[Callable[[], Awaitable[None]]]


async def baselines(host: str, port: int, ours_cookie: bytes, ours_read: list[str]) -> Baselines:
    url = f"redis://{host}:{port}/0"
    reader, writer = await asyncio.open_connection(host, port)

    async def raw_ping() -> None:
        writer.write(b"PING\r\n")
        await reader.readline()

    async def close_raw() -> None:
        writer.close()
        await writer.wait_closed()

    plain = redis.asyncio.Redis.from_url(url)
    timed = redis.asyncio.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    store = AsyncSessionStore(SessionConfig(url=url, secret_keys=[SECRET]))
    session_id = store.signer.unsign(ours_cookie.split(b"=", 1)[1].decode())
    assert session_id is not None

    def store_get() -> Awaitable[Any]:
        return store.get(session_id)

    async def plain_ping() -> None:
        await plain.execute_command("PING")  # type: ignore[no-untyped-call]

    async def timed_ping() -> None:
        await timed.execute_command("PING")  # type: ignore[no-untyped-call]

    def repeat(step: Step) -> Callable[[int], list[Step]]:
        return lambda n: [step] * n

    cells = [
        Cell("rtt/raw asyncio stream PING", repeat(raw_ping)),
        Cell("rtt/redis-py PING (no timeouts, as starsessions)", repeat(plain_ping)),
        Cell("rtt/redis-py PING (1 s timeouts, as ours)", repeat(timed_ping)),
    ]
    # Our read request's own command (caught by MONITOR), sent again by plain redis-py: what the
    # round trip costs with our script, apart from our Python code around it.
    if ours_read and ours_read[0].upper() == "EVALSHA" and len(ours_read) >= 4:
        replay = [a.encode("latin-1") for a in ours_read]
        session_key = replay[3]

        async def replay_read() -> None:
            await timed.execute_command(*replay)  # type: ignore[no-untyped-call]

        async def plain_get() -> None:
            await timed.execute_command("GET", session_key)  # type: ignore[no-untyped-call]

        if not await timed.execute_command(*replay):  # type: ignore[no-untyped-call]
            raise RuntimeError(f"replaying our read command found no session: {ours_read[:4]}")
        cells += [
            Cell("rtt/redis-py replay of our read command (EVALSHA load)", repeat(replay_read)),
            Cell("rtt/redis-py GET of the same session record", repeat(plain_get)),
        ]
    cells.append(Cell("store/AsyncSessionStore.get(id) (load + slide)", repeat(store_get)))
    ping_first = Framework("bare+PING", build_app([Middleware(PingFirst, client=timed)]), bare=True)
    cells.append(Cell(YARDSTICK, functools.partial(request_steps, ping_first, READ_ONLY)))
    # Our middleware with the load's reply handed over without I/O: our own CPU per request (b).
    canned_store = AsyncSessionStore(SessionConfig(url=url, secret_keys=[SECRET]))
    record = await timed.get(canned_store._core.keys.session_key(session_id))
    canned_store._driver = CannedReplies([record])  # type: ignore[assignment]
    canned = Framework("canned", build_app([Middleware(RedisSessionsMiddleware, store=canned_store)]))
    canned.cookie = ours_cookie
    cells.append(Cell(CANNED, functools.partial(request_steps, canned, READ_ONLY)))
    return Baselines(cells, [close_raw, plain.aclose, timed.aclose, store.close])


class CannedReplies:
    """A stand-in driver that answers every batch with the same replies, without I/O."""

    backend = "redis"
    round_trips = 0

    def __init__(self, replies: list[Any]) -> None:
        self.replies = replies

    async def execute(self, batch: list[Any]) -> list[Any]:
        return self.replies

    async def close(self) -> None:
        return None


SINGLE_OPERATIONS = ("rtt/", "store/", "yardstick/")  # key prefixes of the timed non-requests
RTT_REFERENCE = "rtt/redis-py PING (no timeouts, as starsessions)"
YARDSTICK = "yardstick/bare app + one redis-py PING in the request, request (b)"
CANNED = "yardstick/ours with the load's reply canned (no I/O: our CPU alone), request (b)"


def sync_components(cookie: bytes, repeats: int) -> dict[str, float]:
    """Best-of-repeats µs per call of our CPU-only pieces (timeit)."""
    value = cookie.split(b"=", 1)[1].decode()
    signer = SessionIdSigner([SECRET])
    session_id = signer.unsign(value)
    assert session_id is not None
    store = AsyncSessionStore(SessionConfig(url="memory://bench", secret_keys=[SECRET]))
    number = 5000
    pieces: dict[str, Callable[[], Any]] = {
        "SessionIdSigner.unsign(valid cookie)": lambda: signer.unsign(value),
        "SessionIdSigner.sign(same id again)": lambda: signer.sign(session_id),
        "AsyncSessionStore.new_session() (every no-cookie request)": store.new_session,
    }
    return {
        label: min(timeit.repeat(fn, number=number, repeat=repeats)) / number * 1e6
        for label, fn in pieces.items()
    }


# -- Redis commands and round trips per request ---------------------------------------------------
@dataclass
class Traffic:
    top_level: dict[str, float]
    lua: dict[str, float]
    round_trips: float
    set_cookie: bool
    status: int
    first_command: list[str]  # the first top-level command seen, arguments as MONITOR shows them


_MONITOR_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b", b'"': b'"', b"\\": b"\\"}


def monitor_args(line: bytes) -> list[bytes]:
    """The arguments of one MONITOR line, unescaped (Redis quotes them with sdscatrepr)."""
    args: list[bytes] = []
    for raw in _MONITOR_ARG.findall(line.split(b"] ", 1)[1]):
        out, i = bytearray(), 0
        while i < len(raw):
            if raw[i : i + 1] == b"\\" and raw[i + 1 : i + 2] == b"x":
                out += bytes([int(raw[i + 2 : i + 4], 16)])
                i += 4
            elif raw[i : i + 1] == b"\\":
                out += _ESCAPES.get(raw[i + 1 : i + 2], raw[i + 1 : i + 2])
                i += 2
            else:
                out += raw[i : i + 1]
                i += 1
        args.append(bytes(out))
    return args


async def measure_traffic(fw: Framework, kind: Kind, host: str, port: int, n: int) -> Traffic:
    """Commands per request from MONITOR (top level vs inside Lua) and round trips per request."""
    first = await call(fw.app, scope_for(fw, kind))  # also warms connections and script caches
    marker_client = redis.asyncio.Redis(host=host, port=port, decode_responses=False)
    await marker_client.ping()
    tally = MonitorTally()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(b"MONITOR\r\n")
        await writer.drain()
        if not (await reader.readline()).startswith(b"+OK"):
            raise RuntimeError("MONITOR refused")
        with count_round_trips(asynchronous=True) as trips:
            for step in request_steps(fw, kind, n):
                await step()
        await marker_client.echo(tally.marker)
        while not tally.feed(await reader.readline()):
            pass
    finally:
        writer.close()
        await writer.wait_closed()
        await marker_client.aclose()
    first_command = monitor_args(tally.first_top) if tally.first_top is not None else []
    return Traffic(
        **tally.per_request(n),
        round_trips=trips[0] / n,
        set_cookie=bool(first.set_cookie),
        status=first.status,
        first_command=[a.decode("latin-1") for a in first_command],
    )


# -- memory per session ---------------------------------------------------------------------------
@dataclass
class KeyFootprint:
    role: str  # "session" or "index"
    type: str
    encoding: str
    bytes: int
    length: int  # hash fields, string bytes or sorted-set members


@dataclass(frozen=True)
class MemoryCase:
    label: str
    framework: str  # "ours" or "starsessions"
    path: str
    listpack_value: int | None = None  # temporarily raise hash-max-listpack-value

    @property
    def diagnostic(self) -> bool:
        """Not the issue's set-up: shown to explain the primary numbers."""
        return self.path == "/seed-rich" or self.listpack_value is not None


MEMORY_CASES = (
    MemoryCase("redis_sessions, user id as data", "ours", "/seed"),
    MemoryCase("redis_sessions, user id bound (session.user_id)", "ours", "/seed-bound"),
    MemoryCase("starsessions", "starsessions", "/seed"),
    MemoryCase("diag: redis_sessions, cart of 5 {sku, qty}", "ours", "/seed-rich"),
    MemoryCase("diag: starsessions, cart of 5 {sku, qty}", "starsessions", "/seed-rich"),
)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def footprint(client: redis.asyncio.Redis) -> list[KeyFootprint]:
    """Every key of the (otherwise empty) database: MEMORY USAGE with every nested value sampled."""
    out: list[KeyFootprint] = []
    async for key in client.scan_iter(count=1000):
        kind = _text(await client.type(key))
        size = int(await client.memory_usage(key, samples=0) or 0)
        encoding = _text(await client.object("ENCODING", key))
        if kind == "hash":
            length = int(await client.hlen(key))
        elif kind == "string":
            length = int(await client.strlen(key))
        else:
            length = int(await client.zcard(key))
        role = "index" if b"user:" in key else "session"
        out.append(KeyFootprint(role, kind, encoding, size, length))
    return sorted(out, key=lambda k: k.role != "session")


async def measure_memory(host: str, port: int) -> list[dict[str, Any]]:
    """Seed one typical session through each Redis-backed middleware, each into an empty database."""
    results: list[dict[str, Any]] = []
    admin = redis.asyncio.Redis(host=host, port=port)
    for db, case in enumerate(MEMORY_CASES, start=1):
        url = f"redis://{host}:{port}/{db}"
        client = redis.asyncio.Redis.from_url(url)
        await client.flushdb()
        saved = str((await admin.config_get("hash-max-listpack-value"))["hash-max-listpack-value"])
        if case.listpack_value is not None:
            await admin.config_set("hash-max-listpack-value", case.listpack_value)
        try:
            if case.framework == "starsessions":
                cookie = await seed_cookie(build_app(starsessions_middleware(client)), case.path)
            else:
                app = build_app(ours_middleware(url))
                cookie = await seed_cookie(app, case.path)
                await find_middleware(app, RedisSessionsMiddleware).store.close()
        finally:
            await admin.config_set("hash-max-listpack-value", saved)
        keys = await footprint(client)
        results.append(
            {
                "label": case.label,
                "diagnostic": case.diagnostic,
                "keys": [asdict(k) for k in keys],
                "session_bytes": sum(k.bytes for k in keys if k.role == "session"),
                "index_bytes": sum(k.bytes for k in keys if k.role == "index"),
                "cookie_value_bytes": len(cookie) - len(COOKIE) - 1,
            }
        )
        await client.flushdb()
        await client.aclose()
    await admin.aclose()
    return results


# -- profile of our read-only request ---------------------------------------------------------------
# Functions on our read-only path, timed inclusively by wrapping them (module, attribute path).
# Missing ones (the package is being changed) are skipped.
TRACED: tuple[tuple[str, str], ...] = (
    ("redis_sessions.integrations.asgi", "SessionMiddleware._cookie"),
    ("redis_sessions.signing", "SessionIdSigner.unsign"),
    ("redis_sessions.store", "AsyncSessionStore.get"),
    ("redis_sessions._drivers", "AsyncRedisDriver.execute"),
    ("redis.asyncio.client", "Redis.execute_command"),
    ("redis_sessions._plan", "Core.load_call"),
    ("redis_sessions._plan", "Core.from_record"),
    ("redis_sessions.integrations.asgi", "SessionMiddleware._finish"),
    ("redis_sessions.store", "AsyncSessionStore.finish_request"),
    ("redis_sessions.signing", "SessionIdSigner.sign"),
    ("redis_sessions._http", "SetCookieHeader.__call__"),
)


@contextmanager
def traced(calls: dict[str, list[int]]) -> Iterator[None]:
    """Wrap each TRACED function to record its inclusive wall time per call (ns) in `calls`."""
    restore: list[tuple[Any, str, Any]] = []
    for module_name, path in TRACED:
        try:
            owner: Any = importlib.import_module(module_name)
            *parents, name = path.split(".")
            for parent in parents:
                owner = getattr(owner, parent)
            original = inspect.getattr_static(owner, name)
        except (ImportError, AttributeError):
            continue
        if not inspect.isfunction(original):
            continue
        bucket = calls.setdefault(f"{module_name}.{path}", [])
        restore.append((owner, name, original))
        setattr(owner, name, _timed(original, bucket))
    try:
        yield
    finally:
        for owner, name, original in reversed(restore):
            setattr(owner, name, original)


def _timed(fn: Callable[..., Any], bucket: list[int]) -> Callable[..., Any]:
    clock = time.perf_counter_ns
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return await fn(*args, **kwargs)
            finally:
                bucket.append(clock() - t0)

        return timed_async

    @functools.wraps(fn)
    def timed_sync(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            bucket.append(clock() - t0)

    return timed_sync


async def profile_read_path(fw: Framework, n: int, top: int) -> dict[str, Any]:
    await run_batch(request_steps(fw, READ_ONLY, 500))
    # 1. Inclusive wall time of the functions we know are on the path.
    calls: dict[str, list[int]] = {}
    steps = request_steps(fw, READ_ONLY, n)
    gc.collect()
    with traced(calls):
        samples, _ = await run_batch(steps)
    traced_rows = [
        {
            "function": name,
            "calls_per_request": len(durations) / n,
            "us_per_call": statistics.median(durations) / 1000 if durations else 0.0,
            "mean_us_per_call": statistics.fmean(durations) / 1000 if durations else 0.0,
            "us_per_request": sum(durations) / n / 1000,
        }
        for name, durations in calls.items()
    ]
    # 2. cProfile: every function, own time (inflated by the profiler's per-call cost).
    steps = request_steps(fw, READ_ONLY, n)
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    await run_batch(steps)
    profiler.disable()
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        short = filename
        for marker in ("site-packages/", "/lib/python3", "py3-none-any/"):
            if marker in short:
                short = short.split(marker, 1)[1]
        rows.append(
            {
                "function": f"{short}:{line}({name})",
                "calls_per_request": ncalls / n,
                "own_us_per_call": tottime / ncalls * 1e6 if ncalls else 0.0,
                "own_us_per_request": tottime / n * 1e6,
                "cum_us_per_request": cumtime / n * 1e6,
            }
        )
    rows.sort(key=lambda r: r["own_us_per_request"], reverse=True)
    return {
        "requests": n,
        "traced_request_median_us": statistics.median(samples) / 1000,
        "traced": traced_rows,
        "cprofile": rows[:top],
    }


# -- report -----------------------------------------------------------------------------------------
def report(results: dict[str, Any]) -> str:
    meta, timings = results["meta"], results["timings"]
    frameworks = f"Starlette {meta['starlette']}, starsessions {meta['starsessions']}"
    out = [
        *heading(meta, "ASGI session middlewares", frameworks, "iterations"),
        "",
        *legend("this process's"),
        request_table(results, results["frameworks"], "framework"),
        "",
        "Single operations, timed the same way in the same repeats:",
        operations_table(
            [(key.split("/", 1)[1], t) for key, t in timings.items() if key.startswith(SINGLE_OPERATIONS)]
        ),
    ]
    rows = [[label, f"{us:.2f}"] for label, us in results["components"].items()]
    out += ["", table(["CPU-only piece of ours (timeit, best of repeats)", "us/call"], rows, {1}), ""]

    out.append(
        "Redis memory of one typical session (user id, cart of five product ids, three flags, 43-char "
        f"CSRF token; {results['typical_session_json_bytes']} bytes as compact JSON), by MEMORY USAGE ... "
        "SAMPLES 0;"
    )
    out.append("'diag:' rows are variants that explain the numbers, not the issue's set-up.")
    rows = [
        [
            m["label"],
            k["role"],
            k["type"],
            k["encoding"],
            str(k["length"]),
            str(k["bytes"]),
            str(m["cookie_value_bytes"]),
        ]
        for m in results["memory"]
        for k in m["keys"]
    ]
    headers = ["store", "key", "type", "encoding", "fields/len", "MEMORY USAGE", "cookie value bytes"]
    out += [table(headers, rows, right={4, 5, 6}), ""]

    out += target_lines(results["targets"])

    profile = results.get("profile")
    if profile:
        out += [
            "",
            f"Where our read-only request (b) spends its time ({profile['requests']} requests; request "
            f"median with these wrappers {profile['traced_request_median_us']:.1f} us). Inclusive wall time "
            "per call:",
        ]
        rows = [
            [
                r["function"],
                f"{r['calls_per_request']:g}",
                f"{r['us_per_call']:.2f}",
                f"{r['mean_us_per_call']:.2f}",
                f"{r['us_per_request']:.2f}",
            ]
            for r in profile["traced"]
        ]
        out += [
            table(["function", "calls/req", "median us/call", "mean us/call", "us/req"], rows, {1, 2, 3, 4})
        ]
        out += [
            "",
            "cProfile, top functions by own time (the profiler's per-call cost inflates small functions):",
        ]
        rows = [
            [
                r["function"][-90:],
                f"{r['calls_per_request']:g}",
                f"{r['own_us_per_call']:.2f}",
                f"{r['own_us_per_request']:.2f}",
                f"{r['cum_us_per_request']:.1f}",
            ]
            for r in profile["cprofile"]
        ]
        out += [
            table(["function", "calls/req", "own us/call", "own us/req", "cum us/req"], rows, {1, 2, 3, 4})
        ]
    return "\n".join(out)


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    t = results["timings"]
    ours, bare, star = t["redis_sessions/b"], t["bare/b"], t["starsessions/b"]
    trips = results["traffic"]["redis_sessions/b"]["round_trips"]
    checks: list[dict[str, Any]] = [
        {
            "name": "read-only request (b): one round trip",
            "ok": trips == 1,
            "detail": f"{trips:g} round trips per request",
        },
        overhead_target(
            "read-only request (b)",
            ours,
            bare,
            t[YARDSTICK],
            t[RTT_REFERENCE],
            TARGET_OVERHEAD_US,
            yard_what="bare app + one PING in the request",
            cpu="this process's",
            after="",
            tail=cpu_alone(t[CANNED], bare),
        ),
        {
            "name": "read-only request (b) under half of starsessions' time",
            "ok": ours["median_us"] < TARGET_VS_STARSESSIONS * star["median_us"],
            "detail": (
                f"ours {ours['median_us']:.1f} us vs starsessions {star['median_us']:.1f} us: ratio "
                f"{ours['median_us'] / star['median_us']:.2f} (target < {TARGET_VS_STARSESSIONS})"
            ),
        },
    ]
    for m in results["memory"]:
        if m["diagnostic"] or not m["label"].startswith("redis_sessions"):
            continue
        encodings = ", ".join(k["encoding"] for k in m["keys"] if k["role"] == "session")
        index = f"; plus the per-user index key: {m['index_bytes']} bytes" if m["index_bytes"] else ""
        checks.append(
            {
                "name": f"typical session <= {TARGET_MEMORY_BYTES} bytes ({m['label']})",
                "ok": m["session_bytes"] <= TARGET_MEMORY_BYTES,
                "detail": f"session key {m['session_bytes']} bytes ({encodings}){index}",
            }
        )
    return checks


# -- main -------------------------------------------------------------------------------------------
async def run(args: argparse.Namespace, host: str, port: int, redis_pid: int) -> dict[str, Any]:
    url = f"redis://{host}:{port}/0"
    placement = pin(args.pin, redis_pid)
    admin = redis.asyncio.Redis.from_url(url)
    star_client = redis.asyncio.Redis.from_url(url)
    frameworks = [
        Framework("bare", build_app([]), bare=True),
        Framework(
            "starlette-cookie",
            build_app(
                [
                    Middleware(
                        CookieSessionMiddleware, secret_key=SECRET, session_cookie=COOKIE, max_age=LIFETIME
                    )
                ]
            ),
        ),
        Framework("starsessions", build_app(starsessions_middleware(star_client))),
        Framework("redis_sessions", build_app(ours_middleware(url))),
    ]
    ours = frameworks[-1]
    closers: list[Callable[[], Awaitable[None]]] = [admin.aclose, star_client.aclose]
    versions = {"starlette": starlette.__version__, "starsessions": dist_version("starsessions")}
    redis_server = (await admin.info("server"))["redis_version"]
    results: dict[str, Any] = {
        "meta": {
            **run_meta(args, versions, redis_sessions.__version__, redis_server, "iterations"),
            "placement": placement,
        },
        "frameworks": [fw.name for fw in frameworks],
        "typical_session_json_bytes": len(json.dumps(TYPICAL_SESSION, separators=(",", ":"))),
    }
    try:
        for fw in frameworks[1:]:
            fw.cookie = await seed_cookie(fw.app)
        closers.append(find_middleware(ours.app, RedisSessionsMiddleware).store.close)
        assert ours.cookie is not None

        print("counting Redis commands and round trips ...", file=sys.stderr)
        traffic: dict[str, Any] = {}
        for kind in KINDS:
            for fw in frameworks:
                tr = await measure_traffic(fw, kind, host, port, args.traffic_requests)
                if tr.status != 200:
                    raise RuntimeError(f"{fw.name} {kind.label}: status {tr.status}")
                traffic[f"{fw.name}/{kind.key}"] = asdict(tr)
        results["traffic"] = traffic

        print("timing ...", file=sys.stderr)
        extra = await baselines(host, port, ours.cookie, traffic["redis_sessions/b"]["first_command"])
        closers += extra.closers
        cells = [
            Cell(f"{fw.name}/{kind.key}", functools.partial(request_steps, fw, kind))
            for kind in KINDS
            for fw in frameworks
        ]
        timings = await measure_times(cells + extra.cells, admin, args.repeats, args.iterations, args.warmup)
        results["timings"] = {key: t.summary() for key, t in timings.items()}
        results["components"] = sync_components(ours.cookie, args.repeats)

        print("memory ...", file=sys.stderr)
        results["memory"] = await measure_memory(host, port)
        if args.profile:
            print("profiling ...", file=sys.stderr)
            results["profile"] = await profile_read_path(ours, args.profile_requests, args.profile_top)
        results["targets"] = evaluate(results)
    finally:
        for close in closers:
            await close()
    return results


COUNTS = Counts(iterations=(500, 300), warmup=(300, 100), traffic=50)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = make_parser(
        "Time ASGI session middlewares side by side against a private redis-server.",
        COUNTS,
        quick="iterations",
        pin="this process",
    )
    parser.add_argument("--profile", action="store_true", help="break down our read-only request (b)")
    parser.add_argument("--profile-requests", type=int, default=5000, help="requests per profile pass")
    parser.add_argument("--profile-top", type=int, default=25, help="cProfile rows to print")
    return parse(parser, COUNTS, argv, "profile_requests")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    with needs_redis_server(), running_redis_server() as server:
        results = asyncio.run(run(args, "127.0.0.1", server.port, server.process.pid))
    return finish(results, report, started, args.json)


if __name__ == "__main__":
    sys.exit(main())

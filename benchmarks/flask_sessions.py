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
import secrets
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from _cli import Counts, finish, make_parser, needs_redis_server, parse
from _measure import closing_all, count_round_trips, measure_variants, pin, time_pings
from _report import (
    BARE_PING,
    KINDS,
    PING_OP,
    TYPICAL_SESSION,
    Kind,
    bare_ping_target,
    cpu_alone,
    dist_version,
    run_meta,
    variants_report,
    write_target,
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


STAND_IN, COOKIE, FLASK_SESSION, OURS = "stand-in", "flask-cookie", "flask-session", "redis_sessions"
BARE, CANNED = "bare", "ours-canned"
OURS_PREFIX = f"bench-flask-{secrets.token_hex(4)}:"  # REDIS_SESSIONS_KEY_PREFIX (theirs: "session:")
VARIANTS = (
    Variant(BARE, "no session interface of its own: the views get a plain dict as flask.session", STAND_IN),
    Variant(COOKIE, "Flask's default SecureCookieSessionInterface (data in the signed cookie)", COOKIE),
    Variant(FLASK_SESSION, 'Flask-Session, SESSION_TYPE = "redis", defaults otherwise', FLASK_SESSION),
    Variant(OURS, f"ours, RedisSessions(app), REDIS_SESSIONS_KEY_PREFIX = {OURS_PREFIX!r}", OURS),
    Variant(BARE_PING, "yardstick: bare + one redis-py PING in the read view", STAND_IN, ping=True),
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
        self.name = variant.name
        self.ping_client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.app = make_app(variant, url, self.ping_client)
        self.cookie_name: str = self.app.config["SESSION_COOKIE_NAME"]
        self.cookie: str | None = None if variant.sessions == STAND_IN else self._seed()
        self.cookie_bytes = len(self.cookie or "")
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
        if kind_key == PING_OP:
            return (*time_pings(self.ping_client, n), 0)
        samples = [0] * n
        clock = time.perf_counter_ns
        bad = 0
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
            "statuses": sorted({int(status.split()[0]) for status, _ in responses}),
        }

    def close(self) -> None:
        self.ping_client.close()


def _consume(body: Iterable[bytes]) -> None:
    for _ in body:
        pass
    close = getattr(body, "close", None)
    if close is not None:
        close()


def run(args: argparse.Namespace, port: int, redis_pid: int) -> dict[str, Any]:
    import redis_sessions

    url = f"redis://127.0.0.1:{port}/0"
    admin = redis.Redis(host="127.0.0.1", port=port)
    placement = pin(args.pin, redis_pid, who="the benchmark")
    benches = {v.name: Bench(v, url) for v in VARIANTS}
    with closing_all([*benches.values(), admin]):
        versions = {
            "flask": dist_version("flask"),
            "werkzeug": dist_version("werkzeug"),
            "flask_session": dist_version("flask-session"),
        }
        redis_server = admin.info("server")["redis_version"]
        meta = run_meta(args, versions, redis_sessions.__version__, redis_server, "iterations")
        meta["placement"] = placement
        results = measure_variants(meta, benches, [CANNED], admin, port, args, evaluate)
    return results


# -- report -----------------------------------------------------------------------------------------
CANNED_KEY = f"{CANNED}/b"


def report(results: dict[str, Any]) -> str:
    meta = results["meta"]
    return variants_report(
        results,
        title="Flask session implementations",
        frameworks=(
            f"Flask {meta['flask']}, Werkzeug {meta['werkzeug']}, Flask-Session {meta['flask_session']}"
        ),
        count_key="iterations",
        variants=[
            "Variants (all in this process, one Flask app each):",
            *(f"  {v.name:<15} {v.what}" for v in VARIANTS),
        ],
        cpu="this process's",
        yardsticks=[("ours, (b), the load's reply canned (no I/O)", results["timings"][CANNED_KEY])],
    )


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    t, tr = results["timings"], results["traffic"]
    ours, theirs, bare = t[f"{OURS}/b"], t[f"{FLASK_SESSION}/b"], t[f"{BARE}/b"]
    ratio = ours["median_us"] / theirs["median_us"]
    return [
        bare_ping_target(results, OURS, TARGET_OVERHEAD_US, "this process's", cpu_alone(t[CANNED_KEY], bare)),
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
        write_target(tr, [OURS, FLASK_SESSION], [OURS], TARGET_WRITE_ROUND_TRIPS),
    ]


# -- main -------------------------------------------------------------------------------------------
COUNTS = Counts(iterations=(500, 100), warmup=(200, 50))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = make_parser(
        "Time Flask session implementations side by side against a private redis-server.",
        COUNTS,
        count_flags=("--iterations", "--requests"),
        pin="this process",
    )
    return parse(parser, COUNTS, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        importlib.import_module("flask_session")
    except ImportError:
        raise SystemExit(
            "Flask-Session is not installed: .venv/bin/python -m pip install flask-session"
        ) from None
    started = time.monotonic()

    from redis_sessions.testing import running_redis_server

    with needs_redis_server(), running_redis_server() as server:
        results = run(args, server.port, server.process.pid)
    return finish(results, report, started, args.json)


if __name__ == "__main__":
    sys.exit(main())

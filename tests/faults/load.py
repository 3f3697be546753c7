"""Load for the fault tests: a few HTTP clients, each with its own session (cookie jar) and its own
token, incrementing their session's counter through `tests.faults.app` while a fault is injected;
then the figures: statuses, cross-talk, recovery time and acknowledged writes lost.

A write is acknowledged when ``POST /hit`` answers 200: the middleware saved the session (and, with
``replica_acks``, had it confirmed by WAIT) before the response started. Each 200 shows the counter
the request found (``before.n``): lower than the client's last acknowledged value means acknowledged
increments were lost, as does a final read below it after recovery.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from redis_sessions import SessionConfig, SessionIdSigner, SessionStore
from tests.served import uvicorn_process, wsgi_process

SECRET = "faults-test-secret-0123456789abcdef"
CLIENTS = 4
WARMUP_WRITES = 5  # acknowledged writes per client before the fault
SETTLE = 2.0  # seconds of load after the fault's own call returns
LIMIT = 30.0  # seconds after the fault by which every client must have a 200 again
HTTP_TIMEOUT = 10.0  # a request slower than this is a hang: counted, and asserted to be none
PAUSE_OK, PAUSE_FAILED = 0.01, 0.05  # seconds between a client's requests
SLOW = 1.5  # seconds: a request slower than this waited out more than one command timeout (1 s)
WRITE_BACK = 10.0  # seconds an app has, after the load, to write an outage's changes back to Redis


@dataclass(frozen=True)
class Outcome:
    """One request: monotonic start and end, and the HTTP status (or "timeout", "transport")."""

    started: float
    ended: float
    status: int | str


@dataclass
class LoadClient:
    """One browser: its own cookie jar and token; records every outcome and what it proves."""

    base_url: str
    token: str
    outcomes: list[Outcome] = field(default_factory=list)
    last_acked: int = 0  # the counter of the last 200
    acked: int = 0  # number of 200s
    lost: int = 0  # acknowledged increments found missing
    stored_lost: int = 0  # acknowledged increments missing in Redis itself at the end
    resets: int = 0  # times the session came back empty after acknowledged writes
    crosstalk: list[str] = field(default_factory=list)
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=HTTP_TIMEOUT)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            ok = self.hit()
            time.sleep(PAUSE_OK if ok else PAUSE_FAILED)

    def hit(self) -> bool:
        started = time.monotonic()
        status: int | str
        try:
            response = self.http.post("/hit", json={"client": self.token})
            status = response.status_code
        except httpx.TimeoutException:
            status = "timeout"
        except httpx.TransportError:
            status = "transport"
        self.outcomes.append(Outcome(started, time.monotonic(), status))
        if status != 200:
            return False
        body = response.json()
        before, n = body["before"], body["n"]
        if body["owner"] != self.token or before["owner"] not in (None, self.token):
            self.crosstalk.append(f"client {self.token} got a session of {before['owner']!r}")
        self.check(int(before["n"]))
        self.last_acked, self.acked = n, self.acked + 1
        return True

    def check(self, found: int) -> None:
        """`found` is the counter Redis holds now: below the last acknowledged one is a loss."""
        if found < self.last_acked:
            self.lost += self.last_acked - found
            self.resets += found == 0

    def final_read(self, timeout: float = 10.0) -> None:
        """Read the session once it is served again (503s retried for `timeout` seconds) and count
        what is missing of the acknowledged writes."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.http.get("/read")
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(PAUSE_FAILED)
        assert response.status_code == 200, f"final read: {response.status_code}"
        body = response.json()
        if body["owner"] not in (None, self.token):
            self.crosstalk.append(f"client {self.token} read a session of {body['owner']!r}")
        self.check(int(body["n"]))

    def session_id(self, signer: SessionIdSigner) -> str | None:
        value = self.http.cookies.get("session")
        return None if value is None else signer.unsign(value)

    def recovered_at(self) -> float | None:
        """End of the first 200 that started after this client's last failure; None if it never
        failed, inf if it never succeeded again."""
        failures = [o for o in self.outcomes if o.status != 200]
        if not failures:
            return None
        last = max(o.started for o in failures)
        after = [o.ended for o in self.outcomes if o.status == 200 and o.started > last]
        return min(after) if after else math.inf

    def succeeded_since(self, moment: float) -> bool:
        return any(o.status == 200 and o.started >= moment for o in self.outcomes)


@dataclass(frozen=True)
class Figures:
    """What one scenario measured (see the module doc)."""

    scenario: str
    replicas: int  # per primary
    replica_acks: int  # SessionConfig.replica_acks: 0 is durable writes off
    requests: int
    ok: int
    errors_500: int  # any 5xx but 503
    errors_503: int
    other: int  # other statuses, timeouts, transport errors
    recovery: float  # seconds from the fault to requests succeeding again (0: nothing failed)
    acked_lost: int
    sessions_reset: int
    crosstalk: int
    affected: int  # clients that saw a failure
    slowest: float  # seconds, the slowest request
    slow: int = 0  # requests slower than `SLOW`: more than one command timeout
    missing_in_redis: int | None = None  # acknowledged increments not in Redis at the end (None: unread)
    outage_lines: int = 0  # "session store unavailable" lines the app logged
    framework: str = "asgi"  # the app served: asgi (uvicorn), flask or django (threaded WSGI)
    on_backend_error: str = "raise"

    HEADER = (
        "scenario",
        "framework",
        "on_backend_error",
        "replicas",
        "replica_acks",
        "requests",
        "200",
        "500s",
        "503s",
        "other",
        "recovery s",
        "acked lost",
        "sessions reset",
        "cross-talk",
        "clients hit",
        "slowest s",
        f"over {SLOW} s",
        "missing in Redis",
        "outage log lines",
    )

    def cells(self) -> tuple[str, ...]:
        return (
            self.scenario,
            self.framework,
            self.on_backend_error,
            str(self.replicas),
            str(self.replica_acks),
            str(self.requests),
            str(self.ok),
            str(self.errors_500),
            str(self.errors_503),
            str(self.other),
            f"{self.recovery:.2f}",
            str(self.acked_lost),
            str(self.sessions_reset),
            str(self.crosstalk),
            f"{self.affected}/{CLIENTS}",
            f"{self.slowest:.2f}",
            str(self.slow),
            "-" if self.missing_in_redis is None else str(self.missing_in_redis),
            str(self.outage_lines),
        )


def table(rows: list[Figures]) -> str:
    """A Markdown table of `rows`."""
    lines = [Figures.HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(Figures.HEADER))]

    def render(line: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * width for width in widths) + " |"
    return "\n".join([render(lines[0]), rule, *(render(line) for line in lines[1:])])


APPS = {
    "asgi": "tests.faults.app:app",
    "flask": "tests.faults.flask_app:app",
    "django": "tests.faults.django_app:application",
}


@contextmanager
def served_app(
    url: str,
    prefix: str,
    replica_acks: int,
    log: Path,
    *,
    framework: str = "asgi",
    on_backend_error: str = "raise",
    breaker: tuple[int, float] = (5, 2.0),
) -> Iterator[str]:
    """The fault tests' app on `framework` (`APPS`: the ASGI one under uvicorn, Flask and Django
    under werkzeug's threaded WSGI server; a subprocess, stopped by its PID) on `url`'s store, with
    `replica_acks` (WAIT for 0.5 s), `on_backend_error` and the circuit `breaker` (threshold,
    cool-down in seconds)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "SESSION_"))}
    env.update(REDIS_URL=url, SESSION_SECRET_KEYS=SECRET, SESSION_KEY_PREFIX=prefix)
    env.update(SESSION_REPLICA_ACKS=str(replica_acks), SESSION_REPLICA_ACK_TIMEOUT="0.5")
    env.update(SESSION_ON_BACKEND_ERROR=on_backend_error, SESSION_CIRCUIT_BREAKER_THRESHOLD=str(breaker[0]))
    env.update(SESSION_CIRCUIT_BREAKER_COOLDOWN=str(breaker[1]))
    serve = uvicorn_process if framework == "asgi" else wsgi_process
    with serve(APPS[framework], env, log, "/ping") as base_url:
        served = httpx.get(f"{base_url}/ping", timeout=5).json()
        assert (served["replica_acks"], served["on_backend_error"]) == (replica_acks, on_backend_error), (
            served
        )
        yield base_url


def scenario(
    name: str,
    url: str,
    *,
    replicas: int,
    replica_acks: int,
    prefix: str,
    log: Path,
    fault: Callable[[list[str]], object],
    framework: str = "asgi",
    on_backend_error: str = "raise",
    breaker: tuple[int, float] = (5, 2.0),
    check_stored: bool = False,
) -> Figures:
    """`run_under_load` on `served_app` (its server's log to `log`); `replicas` per primary is only
    reported. The outage lines are counted from `log` once the app stopped. `check_stored`: read
    every client's session in Redis itself at the end (`Figures.missing_in_redis`)."""
    options: dict[str, Any] = {
        "framework": framework,
        "on_backend_error": on_backend_error,
        "breaker": breaker,
    }
    reader = (
        SessionStore(SessionConfig(url=url, secret_keys=[SECRET], key_prefix=prefix))
        if check_stored
        else None
    )

    def stored(session_id: str) -> int:
        assert reader is not None
        session = reader.get(session_id)
        return 0 if session is None else int(session.get("n", 0))

    try:
        with served_app(url, prefix, replica_acks, log, **options) as base_url:
            figures = run_under_load(base_url, fault, stored if reader else None)
    finally:
        if reader is not None:
            reader.close()
    lines = log.read_text(errors="replace").count("session store unavailable")
    result = replace(
        figures,
        scenario=name,
        replicas=replicas,
        replica_acks=replica_acks,
        outage_lines=lines,
        framework=framework,
        on_backend_error=on_backend_error,
    )
    print(f"\n{table([result])}")
    return result


def run_under_load(
    base_url: str, fault: Callable[[list[str]], object], stored: Callable[[str], int] | None = None
) -> Figures:
    """Start `CLIENTS` clients; once each has `WARMUP_WRITES` acknowledged writes, call `fault` with
    their session ids (it injects the fault and returns when the topology has switched); keep the
    load on for `SETTLE` seconds more and until every client has succeeded again (at most `LIMIT`
    seconds after the fault); then read every session back and count (`Figures` without the
    scenario's name and settings)."""
    signer = SessionIdSigner([SECRET])
    clients = [LoadClient(base_url, f"c{i}-{os.urandom(4).hex()}") for i in range(CLIENTS)]
    stop = threading.Event()
    threads = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    try:
        _wait(lambda: all(c.acked >= WARMUP_WRITES for c in clients), 20, "warm-up writes")
        ids = [c.session_id(signer) for c in clients]
        assert all(ids) and len(set(ids)) == CLIENTS, "each client has a session of its own"
        fault_at = time.monotonic()
        fault([i for i in ids if i])
        switched = time.monotonic()
        _wait(
            lambda: (
                time.monotonic() >= switched + SETTLE and all(c.succeeded_since(switched) for c in clients)
            ),
            max(fault_at + LIMIT - time.monotonic(), SETTLE + 1),
            "every client succeeding again after the fault",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(HTTP_TIMEOUT + 5)
    try:
        for client in clients:
            client.final_read()
        finals = [c.session_id(signer) for c in clients]
        if len(set(finals)) != CLIENTS:
            clients[0].crosstalk.append("two clients ended with the same session id")
        if stored is not None:
            for client, session_id in zip(clients, finals, strict=True):
                client.stored_lost = _missing_in_redis(client, session_id, stored)
    finally:
        for client in clients:
            client.http.close()
    outcomes = [o for c in clients for o in c.outcomes]
    statuses = [o.status for o in outcomes]
    recovered = [at for at in (c.recovered_at() for c in clients) if at is not None]
    return Figures(
        scenario="",
        replicas=0,
        replica_acks=0,
        requests=len(outcomes),
        ok=statuses.count(200),
        errors_500=sum(isinstance(s, int) and s >= 500 and s != 503 for s in statuses),
        errors_503=statuses.count(503),
        other=sum(not isinstance(s, int) or s < 200 or 200 < s < 500 for s in statuses),
        recovery=max(recovered, default=fault_at) - fault_at,
        acked_lost=sum(c.lost for c in clients),
        sessions_reset=sum(c.resets for c in clients),
        crosstalk=sum(len(c.crosstalk) for c in clients),
        affected=len(recovered),
        slowest=max(o.ended - o.started for o in outcomes),
        slow=sum(o.ended - o.started > SLOW for o in outcomes),
        missing_in_redis=None if stored is None else sum(c.stored_lost for c in clients),
    )


def _missing_in_redis(client: LoadClient, session_id: str | None, stored: Callable[[str], int]) -> int:
    """Acknowledged increments of `client` missing in Redis itself (`stored` reads a session's
    counter there), after giving the app up to `WRITE_BACK` seconds (and requests, which is when it
    writes an outage's changes back) to put them there."""
    if session_id is None:
        return client.last_acked
    deadline = time.monotonic() + WRITE_BACK
    while (found := stored(session_id)) < client.last_acked and time.monotonic() < deadline:
        client.http.get("/read")
        time.sleep(0.1)
    return max(client.last_acked - found, 0)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.05)


RECOVERY_BOUND = 15.0  # seconds from the fault until requests succeed again
SLOWEST_BOUND = 5.0  # seconds: no request waits longer (timeouts are 0.5 s connect, 1 s command)


def assert_sound(figures: Figures, log: Path, *, lossless: bool) -> None:
    """What every scenario must show: no 500 (503s allowed during the switch), no cross-talk, no hang,
    recovery within `RECOVERY_BOUND`; with `lossless`, no acknowledged write lost (else the loss is
    only measured). `log` is the app's uvicorn log, shown with a 500."""
    assert figures.errors_500 == 0, f"{figures}\n{log.read_text(errors='replace')[-3000:]}"
    assert figures.other == 0, figures
    assert figures.crosstalk == 0, figures
    assert figures.slowest < SLOWEST_BOUND, figures
    assert figures.recovery < RECOVERY_BOUND, figures
    if lossless:
        assert figures.acked_lost == 0, figures
        assert figures.sessions_reset == 0, figures

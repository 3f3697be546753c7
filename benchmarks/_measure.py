"""What the benchmark scripts share for measuring: a round-trip counter, MONITOR command counts,
PING timing, redis-server CPU, CPU pinning, and the loops that time and count an app per variant."""

from __future__ import annotations

import argparse
import functools
import gc
import os
import re
import secrets
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import redis
import redis.asyncio.connection
import redis.connection
from _report import BARE_PING, KINDS, PING_OP, Timing

T = TypeVar("T")


@contextmanager
def count_round_trips(asynchronous: bool = False) -> Iterator[list[int]]:
    """Count writes of a command (or of a pipelined batch) to any sync (or, `asynchronous`,
    redis.asyncio) redis-py connection.

    redis-py sends one command, or a whole pipeline, with one ``send_packed_command`` and then
    reads the replies: one call is one round trip.
    """
    counter = [0]
    cls: Any = (redis.asyncio.connection if asynchronous else redis.connection).AbstractConnection
    original = cls.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> Any:
        counter[0] += 1
        return original(self, command, check_health)  # async: the coroutine, awaited by the caller

    setattr(cls, "send_packed_command", counting)  # noqa: B010
    try:
        yield counter
    finally:
        setattr(cls, "send_packed_command", original)  # noqa: B010


_MONITOR_LINE = re.compile(rb'^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"')


class MonitorTally:
    """Commands on ``MONITOR`` lines by name, sent by clients (top level) or run by Lua scripts, up
    to the line of `marker`, which the caller echoes once the action under watch is done."""

    def __init__(self) -> None:
        self.marker = f"bench-marker-{secrets.token_hex(8)}"
        self.top: Counter[str] = Counter()
        self.lua: Counter[str] = Counter()
        self.first_top: bytes | None = None  # the line of the first top-level command

    def feed(self, line: bytes) -> bool:
        """Tally one line; True at the marker's (the end)."""
        if not line:
            raise RuntimeError("MONITOR connection closed")
        if self.marker.encode() in line:
            return True
        match = _MONITOR_LINE.match(line)
        if match is not None:
            client, name = match.group(1), match.group(2).decode().upper()
            (self.lua if client == b"lua" else self.top)[name] += 1
            if client != b"lua" and self.first_top is None:
                self.first_top = line
        return False

    def per_request(self, n: int) -> dict[str, dict[str, float]]:
        return {
            "top_level": {k: v / n for k, v in sorted(self.top.items())},
            "lua": {k: v / n for k, v in sorted(self.lua.items())},
        }


def monitor_commands(port: int, admin: redis.Redis, action: Callable[[], T]) -> tuple[T, MonitorTally]:
    """Run `action` under ``MONITOR``; return its result and the commands redis-server saw meanwhile.
    An ``ECHO`` of the marker sent through `admin` after `action` ends the tally."""
    tally = MonitorTally()
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as lines:
        sock.sendall(b"MONITOR\r\n")
        if not lines.readline().startswith(b"+OK"):
            raise RuntimeError("MONITOR refused")
        result = action()
        admin.echo(tally.marker)
        while not tally.feed(lines.readline()):
            pass
    return result, tally


def time_pings(client: redis.Redis, n: int) -> tuple[list[int], int]:
    """Time `n` redis-py PINGs through `client`: per-PING ns and the batch's CPU ns."""
    samples = [0] * n
    clock = time.perf_counter_ns
    ping = client.execute_command
    gc.collect()
    cpu0 = time.process_time_ns()
    for i in range(n):
        t0 = clock()
        ping("PING")  # type: ignore[no-untyped-call]
        samples[i] = clock() - t0
    return samples, time.process_time_ns() - cpu0


def server_cpu(admin: redis.Redis) -> float:
    """redis-server's CPU seconds so far (user + system), from ``INFO cpu``."""
    info = admin.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def pin(mode: str, redis_pid: int, who: str = "this process") -> str:
    """Pin redis-server and this process (whose affinity children started later inherit) to CPUs
    by `mode`: "split" (two CPUs), "same" (one) or "none"; say how, naming this side `who`.

    On a small VM a round trip between processes on two cores costs far more than on one (a
    cross-core wake-up), and the scheduler moves processes between the two: pinning makes the
    placement the same for every variant and every repeat.
    """
    setaffinity = getattr(os, "sched_setaffinity", None)
    if mode == "none" or setaffinity is None:
        return "not pinned"
    cpus = sorted(os.sched_getaffinity(0))
    if mode == "split" and len(cpus) >= 2:
        setaffinity(redis_pid, {cpus[1]})
        setaffinity(0, {cpus[0]})
        return f"{who} on CPU {cpus[0]}, redis-server on CPU {cpus[1]}"
    setaffinity(redis_pid, {cpus[0]})
    setaffinity(0, {cpus[0]})
    return f"{who} and redis-server on CPU {cpus[0]}"


# -- measuring an app per variant with sync redis-py (in this process or in a worker) ---------------
class Driven(Protocol):
    """One variant's app as the measuring loops drive it."""

    name: str
    cookie_bytes: int  # of its seeded session's cookie value (0: none)

    def time(self, kind: str, n: int) -> tuple[list[int], int, int]:
        """Time `n` requests of `kind` (or `n` PINGs): per-request ns, the batch's CPU ns, and
        how many responses were not 200."""
        ...

    def count(self, kind: str, n: int) -> dict[str, Any]:
        """`n` requests of `kind` under `count_round_trips`: its "round_trips" per request,
        "set_cookie" (the first response sets the cookie) and "statuses" (sorted, distinct)."""
        ...


def measure_traffic(
    cells: Sequence[tuple[Driven, str]], admin: redis.Redis, port: int, n: int
) -> dict[str, dict[str, Any]]:
    """Per cell, commands per request from MONITOR (top level vs inside Lua) and round trips."""
    print("counting Redis commands and round trips ...", file=sys.stderr)
    traffic: dict[str, dict[str, Any]] = {}
    for app, kind in cells:
        key = f"{app.name}/{kind}"
        app.time(kind, 5)  # warm: connections, script caches
        counted, tally = monitor_commands(port, admin, functools.partial(app.count, kind, n))
        if counted["statuses"] != [200]:
            raise RuntimeError(f"{key}: statuses {counted['statuses']}")
        traffic[key] = {
            **tally.per_request(n),
            "round_trips": counted["round_trips"],
            "set_cookie": counted["set_cookie"],
        }
    return traffic


def measure_times(
    cells: Sequence[tuple[Driven, str]], admin: redis.Redis, repeats: int, iterations: int, warmup: int
) -> dict[str, dict[str, float]]:
    """Per cell, the summary of `repeats` x `iterations` timed requests after `warmup`."""
    print("timing ...", file=sys.stderr)
    timings = {f"{app.name}/{kind}": Timing() for app, kind in cells}
    for app, kind in cells:
        app.time(kind, warmup)
    for rep in range(repeats):
        # Every cell once per repeat, in turn: drift (CPU frequency, neighbours) hits all alike.
        for app, kind in cells:
            before = server_cpu(admin)
            samples, cpu_ns, bad = app.time(kind, iterations)
            spent = server_cpu(admin) - before
            if bad:
                raise RuntimeError(f"{app.name}/{kind}: {bad} responses were not 200")
            timings[f"{app.name}/{kind}"].add(samples, cpu_ns, spent)
        print(f"  repeat {rep + 1}/{repeats} done", file=sys.stderr)
    return {key: t.summary() for key, t in timings.items()}


def measure_variants(
    meta: dict[str, Any],
    apps: Mapping[str, Driven],
    yardsticks: Sequence[str],
    admin: redis.Redis,
    port: int,
    args: argparse.Namespace,
    evaluate: Callable[[dict[str, Any]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """A sync script's results: `meta`; the "variants" (`apps` but `BARE_PING` and `yardsticks`)
    and the "cookie_value_bytes" of all; the "traffic" of every request type x the variants and of
    `BARE_PING`'s (b); the "timings" of those, of its PING alone and of (b) of the `yardsticks`;
    last, the "targets" as `evaluate` finds them."""
    requests = [app for name, app in apps.items() if name != BARE_PING and name not in yardsticks]
    yard = apps[BARE_PING]
    results: dict[str, Any] = {
        "meta": meta,
        "variants": [app.name for app in requests],
        "cookie_value_bytes": {name: app.cookie_bytes for name, app in apps.items()},
    }
    cells = [(app, kind.key) for kind in KINDS for app in requests]
    results["traffic"] = measure_traffic([*cells, (yard, "b")], admin, port, args.traffic_requests)
    cells += [(yard, "b"), (yard, PING_OP), *((apps[name], "b") for name in yardsticks)]
    results["timings"] = measure_times(cells, admin, args.repeats, args.iterations, args.warmup)
    results["targets"] = evaluate(results)
    return results


class Closable(Protocol):
    def close(self) -> None: ...


@contextmanager
def closing_all(things: Iterable[Closable]) -> Iterator[None]:
    """Close each of `things`, in order, on the way out."""
    try:
        yield
    finally:
        for thing in things:
            thing.close()


def pin_all(mode: str, redis_pids: Sequence[int], who: str = "this process") -> str:
    """`pin` with several redis-server processes (every node of a cluster or a sentinel set, say): by
    `mode`, all of them on one CPU and this process on another ("split"), all on one ("same"), or
    "none"; say how, naming this side `who`."""
    setaffinity = getattr(os, "sched_setaffinity", None)
    if mode == "none" or setaffinity is None:
        return "not pinned"
    cpus = sorted(os.sched_getaffinity(0))
    theirs = cpus[1] if mode == "split" and len(cpus) >= 2 else cpus[0]
    for pid in redis_pids:
        setaffinity(pid, {theirs})
    setaffinity(0, {cpus[0]})
    servers = f"all {len(redis_pids)} redis-server processes"
    if theirs == cpus[0]:
        return f"{who} and {servers} on CPU {cpus[0]}"
    return f"{who} on CPU {cpus[0]}, {servers} on CPU {theirs}"

"""What the benchmark scripts share: request kinds, timing summaries, the report's tables, the
state of the source under test; and, for the scripts that drive sync redis-py in-process, the
typical session, a round-trip counter, MONITOR command counts, redis-server CPU and CPU pinning."""

from __future__ import annotations

import os
import re
import secrets
import socket
import statistics
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import redis
from redis.connection import AbstractConnection

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    path: str
    with_cookie: bool


@dataclass
class Timing:
    samples_ns: list[int] = field(default_factory=list)
    repeat_means_us: list[float] = field(default_factory=list)
    cpu_ns: int = 0
    server_cpu_s: float = 0.0

    def add(self, samples: list[int], cpu_ns: int, server_cpu_s: float) -> None:
        self.samples_ns += samples
        self.repeat_means_us.append(sum(samples) / len(samples) / 1000)
        self.cpu_ns += cpu_ns
        self.server_cpu_s += server_cpu_s

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.samples_ns)
        n = len(ordered)
        return {
            "median_us": statistics.median(ordered) / 1000,
            "mean_us": statistics.fmean(ordered) / 1000,
            "p99_us": ordered[min(n - 1, int(n * 0.99))] / 1000,
            "repeat_mean_min_us": min(self.repeat_means_us),
            "repeat_mean_max_us": max(self.repeat_means_us),
            "cpu_us": self.cpu_ns / n / 1000,
            "redis_cpu_us": self.server_cpu_s * 1e6 / n,
            "requests": n,
        }


def fmt_cmds(counts: dict[str, float]) -> str:
    if not counts:
        return "-"
    return " ".join(name if per == 1 else f"{name}x{per:g}" for name, per in counts.items())


def table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def timing_cells(t: dict[str, float]) -> list[str]:
    return [
        f"{t['median_us']:.1f}",
        f"{t['mean_us']:.1f}",
        f"{t['p99_us']:.1f}",
        f"{t['repeat_mean_min_us']:.0f}-{t['repeat_mean_max_us']:.0f}",
        f"{t['cpu_us']:.1f}",
        f"{t['redis_cpu_us']:.1f}",
    ]


def source_state() -> str:
    """The commit of the package under test, and whether its source differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "redis_sessions", "integrations"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "source state unknown"
    return f"commit {head}{' + uncommitted changes' if dirty else ''}"


# The "typical session" of the issue: a user id, a five-item cart, three boolean flags, a CSRF token.
TYPICAL_SESSION: dict[str, Any] = {
    "user_id": "u-1048576",
    "cart": [1001, 1002, 1003, 1004, 1005],
    "is_admin": False,
    "seen_tour": True,
    "dark_mode": True,
    "csrf_token": "7Zr0kq3c5mQh8XvB2yN6pW1sT9dL4fJ0aE3uK8iR5oG",  # 43 chars, as token_urlsafe(32)
}
assert len(TYPICAL_SESSION["csrf_token"]) == 43


@contextmanager
def count_round_trips() -> Iterator[list[int]]:
    """Count writes of a command (or of a pipelined batch) to any sync redis-py connection.

    redis-py sends one command, or a whole pipeline, with one ``send_packed_command`` and then
    reads the replies: one call is one round trip.
    """
    counter = [0]
    original = AbstractConnection.send_packed_command

    def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        counter[0] += 1
        original(self, command, check_health)  # type: ignore[no-untyped-call]

    setattr(AbstractConnection, "send_packed_command", counting)  # noqa: B010
    try:
        yield counter
    finally:
        setattr(AbstractConnection, "send_packed_command", original)  # noqa: B010


_MONITOR_LINE = re.compile(rb'^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"')


def monitor_commands(
    port: int, admin: redis.Redis, action: Callable[[], T]
) -> tuple[T, Counter[str], Counter[str]]:
    """Run `action` under ``MONITOR``; return its result and the commands redis-server saw meanwhile,
    sent by clients (top level) and run by Lua scripts, by name. An ``ECHO`` marker sent through
    `admin` after `action` ends the tally."""
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as lines:
        sock.sendall(b"MONITOR\r\n")
        if not lines.readline().startswith(b"+OK"):
            raise RuntimeError("MONITOR refused")
        result = action()
        marker = f"bench-marker-{secrets.token_hex(8)}"
        admin.echo(marker)
        top: Counter[str] = Counter()
        lua: Counter[str] = Counter()
        while True:
            line = lines.readline()
            if not line:
                raise RuntimeError("MONITOR connection closed")
            if marker.encode() in line:
                break
            match = _MONITOR_LINE.match(line)
            if match is not None:
                client, name = match.group(1), match.group(2).decode().upper()
                (lua if client == b"lua" else top)[name] += 1
    return result, top, lua


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

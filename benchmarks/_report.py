"""What the benchmark scripts share for reporting: the typical session, request kinds, timing
summaries, the run's versions, the report's parts and the targets (measuring is in `_measure`)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

import redis
import redis.asyncio.connection
import redis.connection

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    path: str
    with_cookie: bool


KINDS = (
    Kind("a", "(a) no cookie, untouched", "/untouched", False),
    Kind("b", "(b) cookie, reads a key", "/read", True),
    Kind("c", "(c) cookie, untouched", "/untouched", True),
    Kind("d", "(d) cookie, writes a key", "/write", True),
    Kind("e", "(e) no cookie, writes (new)", "/write", False),
)
KIND = {k.key: k for k in KINDS}
PING_OP = "ping"  # not a request: one redis-py PING, timed next to the requests

# The sync scripts' yardstick variant: the bare app whose read view makes one redis-py PING first.
BARE_PING = "bare+PING"
BARE_PING_KEY = f"{BARE_PING}/b"
PING_KEY = f"{BARE_PING}/{PING_OP}"  # that PING alone, in a loop


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


# -- the run's set-up ---------------------------------------------------------------------------------
def dist_version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def run_meta(
    args: argparse.Namespace, versions: dict[str, str], ours: str, redis_server: str, count_key: str
) -> dict[str, Any]:
    """The counts of the run (`args.iterations` as `count_key`), the versions under test (the
    frameworks' `versions`, `ours` of redis_sessions), the machine and its load at start."""
    return {
        "repeats": args.repeats,
        count_key: args.iterations,
        "warmup": args.warmup,
        "python": sys.version.split()[0],
        **versions,
        "redis_py": redis.__version__,
        "hiredis": dist_version("hiredis"),
        "redis_sessions": ours,
        "redis_sessions_source": source_state(),
        "redis_server": redis_server,
        "cpus": os.cpu_count(),
        "load_average_at_start": args.load_average,
    }


# -- the report's parts -------------------------------------------------------------------------------
def heading(meta: dict[str, Any], title: str, frameworks: str, count_key: str) -> list[str]:
    """What ran: counts, versions (`frameworks` after Python's), machine, load and placement."""
    load = meta["load_average_at_start"]
    return [
        f"{title}, in-process; {meta['repeats']} repeats x {meta[count_key]} requests per cell after "
        f"{meta['warmup']} warm-up.",
        f"Python {meta['python']}, {frameworks}, redis-py {meta['redis_py']} (hiredis {meta['hiredis']}), "
        f"redis-server {meta['redis_server']}, redis_sessions {meta['redis_sessions']} "
        f"({meta['redis_sessions_source']}), {meta['cpus']} CPUs, load average {load} at start"
        + (" (other work is running: expect noise)" if load > 0.5 else "")
        + (f"; {meta['placement']}." if "placement" in meta else "."),
    ]


def legend(cpu: str) -> list[str]:
    """How to read the request table; `cpu` is whose CPU its CPU column is."""
    return [
        "Per request, in microseconds: median / mean / p99 over all timed requests; 'repeats' = range of the",
        f"per-repeat means; CPU = {cpu} CPU; redis CPU = redis-server's CPU (INFO cpu deltas);",
        "vs bare = median minus the bare app's median for the same request type; RT = round trips to Redis.",
    ]


def request_table(results: dict[str, Any], names: list[str], column: str) -> str:
    """Every request type x every variant in `names` (headed `column`), with its Redis traffic."""
    timings, traffic = results["timings"], results["traffic"]
    rows: list[list[str]] = []
    for kind in KINDS:
        bare = timings[f"bare/{kind.key}"]
        for i, name in enumerate(names):
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
        "request", column, "median", "mean", "p99", "repeats", "CPU", "redis CPU", "vs bare",
        "RT/req", "commands/req (top level)", "inside Lua/req", "Set-Cookie",
    ]
    # fmt: on
    return table(headers, rows, right=set(range(2, 10)))


def operations_table(rows: list[tuple[str, dict[str, float]]]) -> str:
    """Single operations (yardsticks), each a label and its timing summary."""
    headers = ["operation", "median", "mean", "p99", "repeats", "CPU", "redis CPU"]
    return table(headers, [[label, *timing_cells(t)] for label, t in rows], set(range(1, 7)))


def target_lines(targets: list[dict[str, Any]]) -> list[str]:
    return [
        "Targets from the issue, our numbers in this run:",
        *(f"  [{'ok' if c['ok'] else 'MISS'}] {c['name']}: {c['detail']}" for c in targets),
    ]


def variants_report(
    results: dict[str, Any],
    *,
    title: str,
    frameworks: str,
    count_key: str,
    variants: list[str],
    cpu: str,
    yardsticks: list[tuple[str, dict[str, float]]],
) -> str:
    """The report of a sync script: `heading` (`title`, `frameworks`, `count_key`), the `variants`
    lines, the request table (`cpu`: whose CPU), the yardsticks (`BARE_PING`'s and `yardsticks`),
    cookie sizes and targets."""
    timings, sizes = results["timings"], results["cookie_value_bytes"]
    yard_rt = results["traffic"][BARE_PING_KEY]["round_trips"]
    operations = [
        (f"bare + one redis-py PING in the view, (b) [{yard_rt:g} RT]", timings[BARE_PING_KEY]),
        ("redis-py PING alone, in a loop", timings[PING_KEY]),
        *yardsticks,
    ]
    named = (f"{name} {sizes[name]}" for name in results["variants"] if sizes.get(name))
    out = [
        *heading(results["meta"], title, frameworks, count_key),
        "",
        *variants,
        "",
        *legend(cpu),
        request_table(results, results["variants"], "variant"),
        "",
        "Yardsticks, timed the same way in the same repeats:",
        operations_table(operations),
        "",
        "Cookie value bytes: " + ", ".join(named) + ".",
        "",
        *target_lines(results["targets"]),
    ]
    return "\n".join(out)


# -- targets shared by the scripts ----------------------------------------------------------------------
def overhead_target(
    subject: str,
    ours: dict[str, float],
    bare: dict[str, float],
    yard: dict[str, float],
    ping: dict[str, float],
    target_us: float,
    *,
    yard_what: str,
    cpu: str,
    after: str,
    tail: str,
) -> dict[str, Any]:
    """`ours` (request (b)) within `target_us` of `yard`, the bare app with one PING (`yard_what`);
    the detail also sets it against bare + a tight-loop `ping`. `after` and `tail` add to it."""
    budget = yard["median_us"] + target_us
    loose = bare["median_us"] + ping["median_us"] + target_us
    return {
        "name": f"{subject} <= bare + one round trip + {target_us:.0f} us",
        "ok": ours["median_us"] <= budget,
        "detail": (
            f"median {ours['median_us']:.1f} us vs {budget:.1f} us ({yard_what} {yard['median_us']:.1f} + "
            f"{target_us:.0f}): {ours['median_us'] - yard['median_us']:.1f} us wall and "
            f"{ours['cpu_us'] - yard['cpu_us']:.1f} us of {cpu} CPU beyond it{after}. With a tight-loop "
            f"PING instead: bare {bare['median_us']:.1f} + PING {ping['median_us']:.1f} + "
            f"{target_us:.0f} = {loose:.1f} us. {tail}"
        ),
    }


def bare_ping_target(
    results: dict[str, Any], ours: str, target_us: float, cpu: str, tail: str
) -> dict[str, Any]:
    """`overhead_target` of `ours`' request (b) in a sync script, against `BARE_PING`."""
    t, rt = results["timings"], results["traffic"][f"{ours}/b"]["round_trips"]
    return overhead_target(
        f"{ours}, read-only (b)",
        t[f"{ours}/b"],
        t["bare/b"],
        t[BARE_PING_KEY],
        t[PING_KEY],
        target_us,
        yard_what="bare + one PING in the view",
        cpu=cpu,
        after=f"; {rt:g} RT",
        tail=tail,
    )


def cpu_alone(canned: dict[str, float], bare: dict[str, float]) -> str:
    """The tail of `overhead_target` where ours also ran with the load's reply canned."""
    extra = canned["median_us"] - bare["median_us"]
    return f"Our CPU alone (the load's reply canned, no I/O): {extra:.1f} us above the bare app"


def write_target(traffic: dict[str, Any], names: list[str], judged: list[str], target: int) -> dict[str, Any]:
    """Round trips of a modifying request (d) (and of a new session (e)) of `names`; those of
    `judged` must be at most `target`."""
    write_rt = {name: traffic[f"{name}/d"]["round_trips"] for name in names}
    new_rt = {name: traffic[f"{name}/e"]["round_trips"] for name in names}
    return {
        "name": f"modifying request (d): at most {target} round trips",
        "ok": max(write_rt[name] for name in judged) <= target,
        "detail": (
            ", ".join(f"{name} {rt:g} RT" for name, rt in write_rt.items())
            + " (new session (e): "
            + ", ".join(f"{name} {rt:g} RT" for name, rt in new_rt.items())
            + ")"
        ),
    }

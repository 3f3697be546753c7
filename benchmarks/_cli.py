"""The command line the benchmark scripts share: common options, count defaults, the end of a run."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Counts:
    """Default counts per cell: (full run, --quick)."""

    iterations: tuple[int, int]
    warmup: tuple[int, int]
    repeats: tuple[int, int] = (20, 3)
    traffic: int = 20  # requests under MONITOR, either way


def make_parser(
    description: str,
    counts: Counts,
    *,
    count_flags: tuple[str, ...] = ("--iterations",),
    quick: str = "requests",
    pin: str | None = None,
) -> argparse.ArgumentParser:
    """The options every script has (the per-cell request count `count_flags`, stored as
    ``iterations``); with `pin`, who shares the CPUs with redis-server, ``--pin``."""
    (full_n, quick_n), (full_w, quick_w), (full_r, quick_r) = counts.iterations, counts.warmup, counts.repeats
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=f"fewer {quick}: a smoke test of a few seconds")
    parser.add_argument(
        "--repeats", type=int, help=f"timed repeats of every cell (default {full_r}; quick {quick_r})"
    )
    parser.add_argument(
        *count_flags,
        type=int,
        dest="iterations",
        metavar=count_flags[0].lstrip("-").upper(),
        help=f"requests per cell and repeat (default {full_n}; quick {quick_n})",
    )
    parser.add_argument(
        "--warmup", type=int, help=f"untimed requests per cell first (default {full_w}; quick {quick_w})"
    )
    parser.add_argument(
        "--traffic-requests", type=int, default=counts.traffic, help="requests per cell under MONITOR"
    )
    if pin is not None:
        parser.add_argument(
            "--pin",
            choices=("split", "same", "none"),
            default="split",
            help=f"CPU placement: {pin} and redis-server on two CPUs (default), on one, or as the OS likes",
        )
    return parser


def parse(
    parser: argparse.ArgumentParser, counts: Counts, argv: list[str] | None, *more_counts: str
) -> argparse.Namespace:
    """Add ``--json``, parse `argv`, fill in the count defaults and check every count (and the
    options named `more_counts`) is positive; note the load average before the run adds its own."""
    parser.add_argument("--json", metavar="PATH", help="also write every number as JSON to PATH")
    args = parser.parse_args(argv)
    for name in ("repeats", "iterations", "warmup"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(counts, name)[args.quick])
    named = (getattr(args, name) for name in more_counts)
    if min(args.repeats, args.iterations, args.warmup, args.traffic_requests, *named) < 1:
        parser.error("counts must be positive")
    args.load_average = round(os.getloadavg()[0], 2)
    return args


@contextmanager
def needs_redis_server() -> Iterator[None]:
    """Turn a missing redis-server executable into a plain exit message."""
    try:
        yield
    except FileNotFoundError:
        raise SystemExit("redis-server is not on PATH") from None


def finish(
    results: dict[str, Any], report: Callable[[dict[str, Any]], str], started: float, json_path: str | None
) -> int:
    """Print the report and the run time; write `results` as JSON to `json_path` if given."""
    results["meta"]["run_seconds"] = round(time.monotonic() - started, 1)
    print(report(results))
    print(f"\n(run time {results['meta']['run_seconds']:.0f} s)")
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0

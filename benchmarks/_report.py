"""What both benchmark scripts share: request kinds, timing summaries, the report's tables, and
the state of the source under test."""

from __future__ import annotations

import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

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

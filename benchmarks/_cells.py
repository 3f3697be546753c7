"""Timing cells in turn: the in-process loop `cluster_sessions.py` and `outage_sessions.py` share."""

from __future__ import annotations

import gc
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from _report import Timing
from asgi_sessions import Step, run_batch


@dataclass
class Cell:
    """One timed row: `steps(n)` gives `n` ready-to-run operations."""

    key: str
    steps: Callable[[int], list[Step]]
    timing: Timing = field(default_factory=Timing)
    repeat_medians_us: list[float] = field(default_factory=list)


async def time_cells(cells: list[Cell], repeats: int, iterations: int, warmup: int, what: str = "") -> None:
    """`repeats` x `iterations` per cell after `warmup`; every cell once per repeat, in turn, so slow
    phases of the machine hit all of them alike."""
    for cell in cells:
        await run_batch(cell.steps(warmup))
    for rep in range(repeats):
        for cell in cells:
            steps = cell.steps(iterations)
            gc.collect()
            samples, cpu_ns = await run_batch(steps)
            cell.timing.add(samples, cpu_ns, 0.0)
            cell.repeat_medians_us.append(statistics.median(samples) / 1000)
        print(f"  {what + ': ' if what else ''}repeat {rep + 1}/{repeats} done", file=sys.stderr)

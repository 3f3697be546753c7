"""Timing cells in turn: the in-process loop `cluster_sessions.py` and `outage_sessions.py` share."""

from __future__ import annotations

import functools
import gc
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from _report import KIND, Timing
from asgi_sessions import Step, discard, make_scope, receive, run_batch, seed_cookie
from starlette.types import ASGIApp

from redis_sessions import AsyncSessionStore


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


async def seed_sessions(app: ASGIApp, store: AsyncSessionStore, n: int) -> tuple[list[bytes], list[str]]:
    """Create `n` sessions through `app` (over `store`); their ``Cookie`` headers and ids."""
    cookies, ids = [], []
    for _ in range(n):
        cookie = await seed_cookie(app)
        session_id = store.signer.unsign(cookie.split(b"=", 1)[1].decode())
        assert session_id is not None
        cookies.append(cookie)
        ids.append(session_id)
    return cookies, ids


def request_steps(app: ASGIApp, op: str, cookies: list[bytes], n: int) -> list[Step]:
    """`n` ready-to-run requests of kind `op` into `app`, cycling over `cookies`."""
    kind = KIND[op]
    scopes = (
        make_scope(kind.path, cookies[i % len(cookies)] if kind.with_cookie else None, None) for i in range(n)
    )
    return [functools.partial(app, scope, receive, discard) for scope in scopes]

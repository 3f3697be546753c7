#!/usr/bin/env python
"""Instructions per request with metrics off and on, counted by valgrind (callgrind): the figure this
noisy machine cannot move, where timings of a few microseconds drown in its noise.

Run from the repository root (needs ``valgrind``; about a minute)::

    .venv/bin/python benchmarks/metrics_instructions.py

For each mode of ``metrics_sessions.py`` and each request kind, the ASGI app with Redis' replies canned
(no I/O) serves 500 and then 1,500 requests under callgrind after a warm-up; the difference over 1,000
is the instructions of one request, start-up excluded; "- off" is what the mode adds, also as a share of
the request with metrics off (a request's share of its time, near enough: on the development VM a canned
read takes about 50 µs, so 1% is about half a microsecond).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import time

RUNS = (500, 1500)
MODES = ("off", "prometheus", "otel", "otel+spans", "active gauge")
KINDS = ("b", "d", "e")


async def serve(mode: str, op: str, n: int) -> None:
    """`n` canned requests of kind `op` in `mode`, after a warm-up."""
    import metrics_sessions as bench

    from redis_sessions._record import pack

    subject = await bench.open_subject("redis://127.0.0.1:1/0", mode, 0, [])
    record = pack({"c": str(time.time_ns() // 1_000_000)}, {"n": b"1"})
    canned = await bench.canned(subject, record)
    canned.cookies = [b"session=" + canned.store.signer.sign(canned.store.new_session().id).encode()]
    for step in canned.steps(op, 200):
        await step()
    for step in canned.steps(op, n):
        await step()


def instructions(mode: str, op: str, n: int) -> int:
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    done = subprocess.run(
        [*argv, sys.executable, __file__, "--serve", mode, op, str(n)], capture_output=True, text=True
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind gave no count:\n{done.stderr[-2000:]}")
    return int(found[1])


def main() -> int:
    if sys.argv[1:2] == ["--serve"]:
        asyncio.run(serve(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    print(f"{'request':<8}{'metrics':<14}{'instructions':>14}{'- off':>10}{'':>8}")
    for op in KINDS:
        off = 0
        for mode in MODES:
            low, high = (instructions(mode, op, n) for n in RUNS)
            each = (high - low) // (RUNS[1] - RUNS[0])
            if mode == "off":
                off = each
                print(f"{op:<8}{mode:<14}{each:>14,}")
            else:
                extra = each - off
                print(f"{'':<8}{mode:<14}{each:>14,}{extra:>+10,}{extra / off:>+8.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

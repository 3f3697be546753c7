"""Fixtures of the fault tests: the figures table, printed at the end of the run (see with ``-s``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TypeVar

import pytest

from tests.faults.load import Figures, table

T = TypeVar("T")


@pytest.fixture(scope="session")
def figures() -> Iterator[list[Figures]]:
    """Every scenario's figures, in run order; printed as a table when the run ends."""
    rows: list[Figures] = []
    yield rows
    if rows:
        print(f"\nfailover figures ({len(rows)} scenarios):\n{table(rows)}")


def started(start: Callable[[], AbstractContextManager[T]]) -> Iterator[T]:
    """Run a topology helper's context manager; skip without redis-server (fail under REQUIRE_REDIS=1)."""
    try:
        with start() as topology:
            yield topology
    except FileNotFoundError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise
        pytest.skip("redis-server not installed")

"""Output of the admin CLI: rich tables on a terminal, one JSON document with ``--json``; progress
on stderr, only on a terminal."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console(highlight=False, soft_wrap=True)
        self.errors = Console(stderr=True, highlight=False)

    def result(self, data: Any, render: Callable[[Console], None]) -> None:
        """Print `data` as JSON with ``--json``, else `render` it."""
        if self.as_json:
            click_echo(json.dumps(data, indent=2, default=str))
        else:
            render(self.console)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
        table = Table(title=title, title_justify="left", header_style="bold")
        for column in columns:
            table.add_column(column, justify="right" if column in _NUMERIC else "left")
        for row in rows:
            table.add_row(*("" if cell is None else str(cell) for cell in row))
        return table

    def note(self, text: str) -> None:
        """A remark for the operator, on stderr (never mixed into ``--json`` output)."""
        self.errors.print(text)

    @contextlib.contextmanager
    def progress(self, what: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        if self.as_json or not self.errors.is_terminal:
            yield lambda n: None
            return
        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
        with Progress(*columns, TimeElapsedColumn(), console=self.errors, transient=True) as bar:
            task = bar.add_task(what, total=total)
            yield lambda n: bar.advance(task, n)


_NUMERIC = {"sessions", "count", "removed", "keys", "bytes", "value"}


def click_echo(text: str) -> None:
    sys.stdout.write(text + "\n")

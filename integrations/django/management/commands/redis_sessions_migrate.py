"""``manage.py redis_sessions_migrate``: move every live session of the old engine into Redis.

Each moved session gets a fresh id of ours; its old key maps to it, so a browser still holding the
old cookie is served from Redis (and handed our cookie) on its next request. Nothing in the old
store is changed. ``--dry-run`` reads and checks without writing; ``--rollback`` removes what was
moved (in bulk or lazily). The report gives counts and a sample compared field by field.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from redis_sessions import Session, SessionError, _http
from redis_sessions.integrations.django import _legacy, _settings
from redis_sessions.integrations.django.engine import apply_django_keys

Source = tuple[str, dict[str, Any] | None]


class Command(BaseCommand):
    help = "Move the live sessions of REDIS_SESSIONS['FALLBACK_ENGINE'] (or --source) into Redis."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", help="the old session engine (default: FALLBACK_ENGINE)")
        parser.add_argument("--dry-run", action="store_true", help="read and check, write nothing")
        parser.add_argument("--rollback", action="store_true", help="remove every moved session")
        parser.add_argument("--batch-size", type=int, default=500, help="sessions per round trip")
        parser.add_argument("--sample", type=int, default=20, help="sessions compared field by field")

    def handle(self, *args: Any, **options: Any) -> None:
        engine = _settings.current()
        console = Console(file=cast("IO[str]", self.stdout), highlight=False)  # an OutputWrapper: writes
        if options["rollback"]:
            self._rollback(engine, console, options["dry_run"])
            return
        source = options["source"] or engine.fallback_engine
        if not source:
            raise CommandError("no source engine: give --source or set REDIS_SESSIONS['FALLBACK_ENGINE']")
        try:
            total, sessions = _legacy.live_sessions(source)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        counts = {"live in source": 0, "moved": 0, "already moved": 0, "skipped: empty or unreadable": 0}
        counts["rejected: too large or not serializable"] = 0
        moved: list[tuple[str, dict[str, Any]]] = []
        verb = "Checking" if options["dry_run"] else "Moving"
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"{verb} sessions from {source}", total=total)
            for batch in _batches(sessions, options["batch_size"]):
                counts["live in source"] += len(batch)
                ready = self._prepare(engine, batch, counts)
                if not options["dry_run"] and ready:
                    self._move(engine, ready, counts, moved)
                elif ready:
                    counts["moved"] += len(ready)
                progress.advance(task, len(batch))
        if options["dry_run"]:
            counts["would move"] = counts.pop("moved")
        _report(console, "Sessions" + (" (dry run: nothing written)" if options["dry_run"] else ""), counts)
        if moved:
            self._validate(engine, console, random.sample(moved, min(options["sample"], len(moved))))

    def _prepare(
        self, engine: _settings.EngineSettings, batch: list[Source], counts: dict[str, int]
    ) -> list[tuple[str, dict[str, Any], Session]]:
        core = _http.core_of(engine.store)
        ready = []
        for key, data in batch:
            if not data:
                counts["skipped: empty or unreadable"] += 1
                continue
            session = core.new_session(data, None, None)
            try:
                apply_django_keys(core, session)
                _http.check_size(core, session)
            except (SessionError, ValueError) as exc:
                counts["rejected: too large or not serializable"] += 1
                self.stderr.write(f"session {key[:6]}…: {exc}")
                continue
            ready.append((key, data, session))
        return ready

    def _move(
        self,
        engine: _settings.EngineSettings,
        ready: list[tuple[str, dict[str, Any], Session]],
        counts: dict[str, int],
        moved: list[tuple[str, dict[str, Any]]],
    ) -> None:
        core = _http.core_of(engine.store)
        results = _http.run(
            engine.store, _http.gather(_http.adopt(core, key, session) for key, _, session in ready)
        )
        for (key, data, session), result in zip(ready, results, strict=True):
            if result is not None and result.id == session.id:
                counts["moved"] += 1
                moved.append((key, data))
            else:
                counts["already moved"] += 1

    def _validate(
        self, engine: _settings.EngineSettings, console: Console, sample: list[tuple[str, dict[str, Any]]]
    ) -> None:
        table = Table(title=f"Validation: {len(sample)} moved sessions compared field by field")
        for column in ("old key", "fields", "equal", "differing"):
            table.add_column(column)
        bad = 0
        for key, data in sample:
            session = _http.run(engine.store, _http.find_migrated(_http.core_of(engine.store), key))
            ours = dict(session) if session is not None else {}
            differing = sorted(k for k in data.keys() | ours.keys() if data.get(k) != ours.get(k))
            bad += bool(differing)
            table.add_row(
                key[:6] + "…", str(len(data)), str(len(data) - len(differing)), ", ".join(differing)
            )
        console.print(table)
        if bad:
            raise CommandError(f"{bad} of {len(sample)} sampled sessions differ; see the table above")
        console.print(f"Validation passed: {len(sample)} of {len(sample)} sampled sessions are identical.")

    def _rollback(self, engine: _settings.EngineSettings, console: Console, dry_run: bool) -> None:
        core = _http.core_of(engine.store)
        found = removed = 0
        cursor = "0"
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Removing moved sessions", total=None)
            while True:
                cursor, pairs = _http.run(engine.store, _http.migrated_ids(core, cursor))
                found += len(pairs)
                if pairs and not dry_run:
                    removed += _http.run(engine.store, _http.forget(core, pairs))
                progress.advance(task, len(pairs))
                if cursor == "0":
                    break
        title = "Rollback" + (" (dry run: nothing removed)" if dry_run else "")
        _report(console, title, {"moved sessions found": found, "removed from Redis": removed})


def _batches(items: Iterable[Source], size: int) -> Iterator[list[Source]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, max(1, size))):
        yield batch


def _report(console: Console, title: str, counts: dict[str, int]) -> None:
    table = Table(title=title)
    table.add_column("")
    table.add_column("count", justify="right")
    for name, value in counts.items():
        table.add_row(name, str(value))
    console.print(table)

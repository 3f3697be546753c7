"""The admin commands. Each calls the public store API (`SessionStore`); sessions are shown by their
handle (`Session.handle`), never by their id unless ``--show-ids`` asks for it (an id is a bearer
token)."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console

from redis_sessions import Session, SessionStore
from redis_sessions._export import from_record, to_record
from redis_sessions._http import core_of
from redis_sessions.errors import SessionError

from ._group import Admin, progress

pass_admin = click.make_pass_decorator(Admin)


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _left(moment: datetime) -> str:
    seconds = max(0, int(moment.timestamp() - time.time()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours:02}h" if days else f"{hours}h {rest // 60:02}m"


def _row(session: Session, show_ids: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "handle": session.handle,
        "user": session.user_id,
        "created": _when(session.created_at),
        "last_active": _when(session.last_accessed),
        "expires_in": _left(session.expires_at),
        "keys": len(session),
    }
    if show_ids:
        row["id"] = session.id
    return row


def _session_table(admin: Admin, title: str, rows: list[dict[str, Any]]) -> Any:
    columns = list(rows[0]) if rows else ["handle", "user", "created", "last_active", "expires_in", "keys"]
    return admin.out.table(title, columns, [list(r.values()) for r in rows])


def _find(admin: Admin, handle: str) -> Session:
    session = admin.store.find_session(handle)
    if session is None:
        raise click.ClickException(f"no live session has the handle {handle}")
    return session


@click.command()
@click.option("--top", default=10, show_default=True, help="How many users with the most sessions.")
@pass_admin
def stats(admin: Admin, top: int) -> None:
    """Live sessions, Redis memory, and the users with the most sessions."""
    store = admin.store
    report = store.health()
    if not report.ok and report.latency_ms is None:
        raise click.ClickException(report.detail)
    try:
        active, counted_by = store.active_count(), "active-session gauge"
    except SessionError:  # the gauge is off: walk
        with progress(admin, "counting sessions (SCAN)"):
            active, counted_by = store.count(), "SCAN walk (track_active_sessions is off)"
    leaders: list[tuple[str, int]] = []
    cursor: str | None = None
    with progress(admin, "walking user indexes") as advance:
        while True:
            page = store.user_session_counts(cursor)
            leaders = _top(leaders, page.found, top)
            advance(len(page.found))
            cursor = page.next_cursor
            if cursor is None:
                break
    data = {
        "active_sessions": active,
        "counted_by": counted_by,
        "used_memory": report.used_memory,
        "maxmemory": report.maxmemory,
        "maxmemory_policy": report.maxmemory_policy,
        "evicted_keys": report.evicted_keys,
        "top_users": [{"user": user, "sessions": n} for user, n in leaders],
    }

    def render(console: Console) -> None:
        memory = "unknown (grant +info)"
        if report.used_memory is not None:
            limit = f" of {_bytes(report.maxmemory)}" if report.maxmemory else " (no maxmemory)"
            memory = f"{_bytes(report.used_memory)}{limit}, policy {report.maxmemory_policy}"
        summary = admin.out.table("Sessions", ["", "value"], [])
        summary.add_row("live sessions", f"{active:,}")
        summary.add_row("counted by", counted_by)
        summary.add_row("Redis memory", memory)
        summary.add_row(
            "keys evicted", "unknown" if report.evicted_keys is None else f"{report.evicted_keys:,}"
        )
        console.print(summary)
        console.print(
            admin.out.table(f"Users with the most sessions (top {top})", ["user", "sessions"], leaders)
        )

    admin.out.result(data, render)


def _top(kept: list[tuple[str, int]], more: list[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    return sorted([*kept, *more], key=lambda pair: (-pair[1], pair[0]))[:limit]


def _bytes(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return str(size)


@click.command(name="list")
@click.option("--user", help="Only this user's sessions (oldest first).")
@click.option("--limit", default=20, show_default=True, help="Sessions per page (a SCAN step may add a few).")
@click.option("--cursor", help="Where the previous page stopped (printed after it).")
@click.option("--all", "everything", is_flag=True, help="Every session (a walk of the keyspace).")
@click.option("--show-ids", is_flag=True, help="Also print the full session ids (bearer tokens).")
@pass_admin
def list_(
    admin: Admin, user: str | None, limit: int, cursor: str | None, everything: bool, show_ids: bool
) -> None:
    """Sessions, by handle, a page at a time."""
    store = admin.store
    next_cursor: str | None = None
    if user is not None:
        sessions = store.sessions_for_user(user)
    else:
        sessions = []
        with progress(admin, "listing") as advance:
            while True:  # whole SCAN steps: the cursor printed never carries a session id
                page = store.list_sessions(
                    limit=500 if everything else limit, cursor=cursor, whole_steps=True
                )
                sessions += page.sessions
                advance(len(page.sessions))
                cursor = next_cursor = page.next_cursor
                if cursor is None or not everything:
                    break
    rows = [_row(s, show_ids) for s in sessions]

    def render(console: Console) -> None:
        console.print(_session_table(admin, f"{len(rows)} sessions", rows))
        if next_cursor is not None:
            console.print(f"next page: --cursor '{next_cursor}'")

    admin.out.result({"sessions": rows, "next_cursor": next_cursor}, render)
    if show_ids:
        admin.out.note("The ids printed are live bearer tokens: do not paste them anywhere.")


@click.command()
@click.argument("handle")
@click.option("--show-id", is_flag=True, help="Also print the full session id (a bearer token).")
@pass_admin
def show(admin: Admin, handle: str, show_id: bool) -> None:
    """One session's details and data, by handle."""
    session = _find(admin, handle)
    row = _row(session, show_id)
    data = {**row, "data": dict(session.items())}

    def render(console: Console) -> None:
        details = admin.out.table(f"Session {session.handle}", ["", "value"], list(row.items()))
        console.print(details)
        console.print_json(json.dumps(data["data"], default=str))

    admin.out.result(data, render)


@click.command()
@click.argument("handles", nargs=-1, required=True)
@pass_admin
def revoke(admin: Admin, handles: tuple[str, ...]) -> None:
    """Delete sessions, by handle (their users are logged out)."""
    revoked, unknown = [], []
    for handle in handles:
        session = admin.store.find_session(handle)
        if session is not None and admin.store.delete(session):
            revoked.append(handle)
        else:
            unknown.append(handle)
    admin.out.result(
        {"revoked": revoked, "unknown": unknown},
        lambda console: console.print(f"revoked {len(revoked)} session(s)"),
    )
    if unknown:
        raise click.ClickException(f"no live session has the handle {', '.join(unknown)}")


@click.command(name="revoke-user")
@click.argument("user")
@click.option("--except", "except_handle", metavar="HANDLE", help="Keep this one session.")
@pass_admin
def revoke_user(admin: Admin, user: str, except_handle: str | None) -> None:
    """Delete every session of USER ("log out everywhere"), but one if --except is given."""
    except_id = _find(admin, except_handle).id if except_handle else None
    count = admin.store.delete_user_sessions(user, except_id=except_id)
    admin.out.result(
        {"user": user, "revoked": count},
        lambda console: console.print(f"revoked {count} session(s) of {user}"),
    )


@click.command()
@pass_admin
def cleanup(admin: Admin) -> None:
    """Prune per-user index entries of sessions that are gone, in steps (SCAN)."""
    store = admin.store
    users = removed = 0
    cursor: str | None = None
    with progress(admin, "pruning user indexes") as advance:
        while True:
            page = store.prune_user_indexes(cursor)
            users += len(page.found)
            removed += sum(n for _, n in page.found)
            advance(len(page.found))
            cursor = page.next_cursor
            if cursor is None:
                break
    gauge: int | None = None
    with contextlib.suppress(SessionError):  # the gauge is off
        gauge = store.active_count()  # also prunes the gauge's expired entries
    admin.out.result(
        {"users": users, "entries_removed": removed, "active_sessions": gauge},
        lambda console: console.print(f"{users} user indexes walked, {removed} stale entries removed"),
    )


@click.command(name="export")
@click.option("-o", "--output", type=click.File("w"), default="-", help="File to write (default: stdout).")
@pass_admin
def export(admin: Admin, output: TextIO) -> None:
    """Every session as JSON Lines (with its id: keep the file secret)."""
    count = 0
    cursor: str | None = None
    with progress(admin, "exporting") as advance:
        while True:
            page = admin.store.list_sessions(limit=500, cursor=cursor)
            for session in page.sessions:
                output.write(json.dumps(to_record(session), separators=(",", ":")) + "\n")
            count += len(page.sessions)
            advance(len(page.sessions))
            cursor = page.next_cursor
            if cursor is None:
                break
    admin.out.note(f"exported {count} session(s); the file holds live session ids: keep it secret")


@click.command(name="import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report; store nothing.")
@click.option(
    "--rollback-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File the ids imported are added to (default: SOURCE.rollback).",
)
@click.option("--rollback", is_flag=True, help="Delete the sessions SOURCE (a rollback log) lists.")
@pass_admin
def import_(admin: Admin, source: Path, dry_run: bool, rollback_log: Path | None, rollback: bool) -> None:
    """Store the sessions of a JSON Lines export under their ids (never over an existing one)."""
    if rollback:
        _rollback(admin, source)
        return
    core = core_of(admin.store)
    sessions: list[Session] = []
    invalid: list[dict[str, Any]] = []
    lines = 0
    with source.open(encoding="utf-8") as lines_in:
        for number, line in enumerate(lines_in, 1):
            if not line.strip():
                continue
            lines += 1
            try:
                session = from_record(core, json.loads(line))
                core._check_size(session, {k: core.encode(session[k]) for k in session})
                sessions.append(session)
            except (ValueError, SessionError) as exc:
                invalid.append({"line": number, "error": str(exc)})
    now = core.now_ms()
    expired = [s for s in sessions if s._expires_ms <= now]
    live = [s for s in sessions if s._expires_ms > now]
    present = {s.id for s in live if admin.store.exists(s.id)}
    report: dict[str, Any] = {
        "lines": lines,
        "valid": len(sessions),
        "invalid": len(invalid),
        "expired": len(expired),
        "already_present": len(present),
        "errors": invalid[:20],
        "dry_run": dry_run,
    }
    if not dry_run:
        log_path = rollback_log or source.with_name(source.name + ".rollback")
        imported = 0
        # Appended to: a second run of the same import never loses what the first one stored.
        with log_path.open("a", encoding="utf-8") as log, progress(admin, "importing") as advance:
            for session in live:
                if session.id in present:
                    continue
                if admin.store.restore(session):
                    log.write(session.id + "\n")
                    imported += 1
                advance(1)
        report.update(imported=imported, rollback_log=str(log_path))

    def render(console: Console) -> None:
        rows = [(k, v) for k, v in report.items() if k not in ("errors", "dry_run")]
        console.print(
            admin.out.table("Import" + (" (dry run: nothing stored)" if dry_run else ""), ["", "value"], rows)
        )
        if invalid:
            console.print(
                admin.out.table(
                    "Invalid lines", ["line", "error"], [(e["line"], e["error"]) for e in invalid[:20]]
                )
            )

    admin.out.result(report, render)
    if invalid and not dry_run:
        raise click.ClickException(f"{len(invalid)} line(s) were invalid and not imported")


def _rollback(admin: Admin, log: Path) -> None:
    ids = [line.strip() for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    deleted = admin.store.delete_many(ids) if ids else 0
    admin.out.result(
        {"listed": len(ids), "deleted": deleted},
        lambda console: console.print(f"rolled back: {deleted} of {len(ids)} imported session(s) deleted"),
    )


@click.command()
@click.option("--dry-run", is_flag=True, help="Read and check the old sessions; store nothing.")
@click.option("--rollback", is_flag=True, help="Delete every session moved in (bulk or lazily).")
@click.option("--sample", default=20, show_default=True, help="Moved sessions compared field by field.")
@click.option(
    "--from",
    "source",
    type=click.Choice(["flask-session", "starsessions"]),
    help="The library to move from (default: the config's migrate_from).",
)
@click.option("--from-prefix", help="Its key prefix (default: its own default).")
@click.option("--pickle", "allow_pickle", is_flag=True, help="Also read pickled Flask-Session values.")
@pass_admin
def migrate(
    admin: Admin,
    dry_run: bool,
    rollback: bool,
    sample: int,
    source: str | None,
    from_prefix: str | None,
    allow_pickle: bool,
) -> None:
    """Move every session of another library (Flask-Session, starsessions) in, from the same Redis;
    the old store is only read."""
    changes: dict[str, Any] = {}
    if source is not None:
        changes["migrate_from"] = source
    if from_prefix is not None:
        changes["migrate_from_prefix"] = from_prefix
    if allow_pickle:
        changes["migrate_pickle"] = True
    if changes:
        store = SessionStore(admin.store.config.replace(**changes))
        try:
            _migrate(admin, store, dry_run, rollback, sample)
        finally:
            store.close()
    else:
        _migrate(admin, admin.store, dry_run, rollback, sample)


def _migrate(admin: Admin, store: SessionStore, dry_run: bool, rollback: bool, sample: int) -> None:
    counts: dict[str, int] = {}
    compared = mismatched = 0
    differences: list[str] = []
    cursor: str | None = None
    with progress(admin, "rolling back" if rollback else "migrating") as advance:
        while True:
            page = (
                store.unmigrate_sessions(cursor)
                if rollback
                else store.migrate_sessions(cursor, dry_run=dry_run)
            )
            for item in page.found:
                if rollback:
                    counts["deleted" if item else "gone already"] = (
                        counts.get("deleted" if item else "gone already", 0) + 1
                    )
                    continue
                outcome, old, back = item
                counts[outcome] = counts.get(outcome, 0) + 1
                if outcome == "moved" and compared < sample:
                    compared += 1
                    fields = sorted(set(old) | set(back or {}))
                    bad = [f for f in fields if back is None or old.get(f) != back.get(f)]
                    if bad:
                        mismatched += 1
                        differences.append(", ".join(bad))
            advance(len(page.found))
            cursor = page.next_cursor
            if cursor is None:
                break
    report: dict[str, Any] = {"dry_run": dry_run, "rollback": rollback, **counts}
    if not rollback:
        report.update(
            sample_compared=compared, sample_mismatched=mismatched, mismatched_fields=differences[:20]
        )

    def render(console: Console) -> None:
        title = "Rollback" if rollback else "Migration" + (" (dry run: nothing stored)" if dry_run else "")
        rows = [(k, v) for k, v in report.items() if k not in ("dry_run", "rollback", "mismatched_fields")]
        console.print(admin.out.table(title, ["", "count"], rows))

    admin.out.result(report, render)
    if mismatched:
        raise click.ClickException(f"{mismatched} of {compared} sampled sessions differ after the move")


COMMANDS = [stats, list_, show, revoke, revoke_user, cleanup, export, import_, migrate]

"""Plans for operators (the admin CLI's store methods), sans-IO like `_plan`: finding a session by
its handle, the users with the most sessions, pruning the per-user indexes, restoring an exported
session under its id. Each walks the keyspace with SCAN in steps (never KEYS), primary after primary
on a Cluster; none is on the request path.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from . import _migration as M
from ._calls import Batch, Command, Plan, Primaries
from ._ids import TAG_LENGTH, is_handle, is_valid_id, session_handle
from ._plan import Core, _peek_all, delete, gather, store_new
from .errors import SerializationError
from .session import Session

STEP = 1000  # keys asked of each SCAN step


class WalkPage(NamedTuple):
    """One step of a walk: what it found, and the cursor of the next step (None: done)."""

    found: list[Any]
    next_cursor: str | None


def _scan_step(core: Core, pattern: str, cursor: str | None) -> Plan[tuple[list[bytes], str | None]]:
    """One SCAN step of `pattern` on the primary the cursor is at ("<scan>@<primary>"); the keys
    and the cursor of the next step, over every primary in turn (None at the end)."""
    (primaries,) = yield [Primaries()]
    scan, node = "0", primaries[0]
    if cursor is not None:
        scan, _, node = cursor.partition("@")
        if node not in primaries or not scan.isdigit():
            raise ValueError(f"not a cursor of this walk: {cursor!r}")
    ((following, keys),) = yield [Command(("SCAN", scan, "MATCH", pattern, "COUNT", STEP), node)]
    following = following.decode() if isinstance(following, bytes) else str(following)
    if following != "0":
        return keys, f"{following}@{node}"
    at = primaries.index(node)
    return keys, (f"0@{primaries[at + 1]}" if at + 1 < len(primaries) else None)


def find_by_handle(core: Core, handle: str) -> Plan[Session | None]:
    """The live session whose `session_handle` is `handle` (None if none): a walk of the keys
    under the handle's slot tag and marker, without touching any expiry."""
    if not is_handle(handle):
        raise ValueError(f"not a session handle: {handle!r}")
    tag, marker = handle[:TAG_LENGTH], handle[TAG_LENGTH]
    pattern = f"{core.keys.scan_pattern[:-1]}{tag}}}{marker}*"  # "<prefix>{<tag>}<marker>*"
    cursor: str | None = None
    while True:
        keys, cursor = yield from _scan_step(core, pattern, cursor)
        ids = [i for i in map(core.keys.session_id, keys) if i is not None and session_handle(i) == handle]
        if ids:
            (session,) = yield from _peek_all(core, ids[:1], core.now_ms())
            if session is not None:
                return session
        if cursor is None:
            return None


def user_page(core: Core, cursor: str | None) -> Plan[WalkPage]:
    """One step of a walk over the users with a session index: their ids and how many live
    sessions each index lists (``ZCOUNT`` of entries that may still be alive)."""
    keys, next_cursor = yield from _scan_step(core, core.keys.user_pattern, cursor)
    users = [core.keys.user_id(k) for k in keys]
    if not users:
        return WalkPage([], next_cursor)
    now = core.now_ms()
    counts = yield [Command(("ZCOUNT", core.keys.user_key(u), now, "+inf")) for u in users]
    return WalkPage(list(zip(users, map(int, counts), strict=True)), next_cursor)


def prune_user_page(core: Core, cursor: str | None) -> Plan[WalkPage]:
    """One step of pruning the per-user indexes: every entry of the users this step finds whose
    session is gone or bound to someone else is removed. `found`: (user, entries removed)."""
    keys, next_cursor = yield from _scan_step(core, core.keys.user_pattern, cursor)
    users = [core.keys.user_id(k) for k in keys]
    if not users:
        return WalkPage([], next_cursor)
    members = yield [Command(("ZRANGE", core.keys.user_key(u), 0, -1)) for u in users]
    listed = {u: [m.decode() for m in ms] for u, ms in zip(users, members, strict=True)}
    ids = sorted({i for ms in listed.values() for i in ms if is_valid_id(i)})
    owners: dict[str, str | None] = {}
    if ids:
        sessions = yield from _peek_all(core, ids, core.now_ms())
        owners = {i: (s.user_id if s is not None else None) for i, s in zip(ids, sessions, strict=True)}
    stale = {u: [i for i in ms if owners.get(i) != u] for u, ms in listed.items()}
    removals: Batch = [core.index_remove(u, *ids) for u, ids in stale.items() if ids]
    if removals:
        yield removals
    return WalkPage([(u, len(ids)) for u, ids in stale.items()], next_cursor)


def restore(core: Core, session: Session) -> Plan[bool]:
    """Store `session` (an exported one, rebuilt) under its own id, if that id is free and the
    session has not expired: True when stored. Raises `SessionTooLarge` or `SerializationError`
    before storing anything."""
    if not is_valid_id(session.id):
        raise SerializationError("not a session id of this store's shape")
    return (yield from store_new(core, session, core.now_ms(), session._expires_ms))


_GLOB_SPECIAL = str.maketrans({c: "\\" + c for c in "*?[]\\"})


def migrate_page(core: Core, cursor: str | None, dry_run: bool) -> Plan[WalkPage]:
    """One step of moving every session of `SessionConfig.migrate_from` in (the bulk form of the
    lazy move): each old key found is read, checked, and unless `dry_run` stored under a fresh id
    with the old key mapped to it (`_migration.adopt`), then read back. `found`: one
    ``(outcome, old data, data read back)`` per old key, outcome ``"moved"``, ``"would move"``,
    ``"already moved"`` or ``"unreadable"``. The old keys are only read."""
    legacy = core.legacy
    if legacy is None:
        raise ValueError("set migrate_from (and migrate_from_prefix if it is not the default) first")
    keys, next_cursor = yield from _scan_step(core, legacy.prefix.translate(_GLOB_SPECIAL) + "*", cursor)
    names = [k.decode() if isinstance(k, bytes) else str(k) for k in keys]
    names = [k for k in names if legacy.is_key(k)]
    if not names:
        return WalkPage([], next_cursor)
    reads: Batch = [Command(("GET", k)) for k in names]
    reads += [Command(("EXISTS", core.keys.migrated_key(k))) for k in names]
    replies = yield reads
    found: list[tuple[str, Any, Any]] = []
    moving: list[tuple[str, dict[str, Any]]] = []
    for key, raw, moved in zip(names, replies[: len(names)], replies[len(names) :], strict=True):
        data = legacy.decode(raw) if isinstance(raw, bytes) else None
        if data is None:
            found.append(("unreadable", None, None))
        elif moved:
            found.append(("already moved", data, None))
        elif dry_run:
            found.append(("would move", data, None))
        else:
            moving.append((key, data))
    if moving:
        adopted = yield from gather(
            M.adopt(core, key, core.new_session(data, None, None)) for key, data in moving
        )
        ids = [s.id for s in adopted if s is not None]
        back = {
            s.id: dict(s.items()) for s in (yield from _peek_all(core, ids, core.now_ms())) if s is not None
        }
        for (_, data), session in zip(moving, adopted, strict=True):
            found.append(("moved", data, back.get(session.id) if session is not None else None))
    return WalkPage(found, next_cursor)


def unmigrate_page(core: Core, cursor: str | None) -> Plan[WalkPage]:
    """One step of rolling a migration back: every session moved in (in bulk or lazily) is deleted,
    with its map entry; the old store, never changed, serves its users again. `found`: one
    ``True`` per session deleted, ``False`` per map entry whose session was gone already."""
    keys, next_cursor = yield from _scan_step(core, core.keys.migrated_pattern, cursor)
    names = [k.decode() if isinstance(k, bytes) else str(k) for k in keys]
    if not names:
        return WalkPage([], next_cursor)
    ids = yield [Command(("GET", k)) for k in names]
    pairs = [(k, i.decode() if isinstance(i, bytes) else None) for k, i in zip(names, ids, strict=True)]
    deleted = yield from gather(delete(core, i) for _, i in pairs if i is not None)
    yield [Command(("DEL", *names))]
    return WalkPage(list(deleted) + [False] * sum(1 for _, i in pairs if i is None), next_cursor)

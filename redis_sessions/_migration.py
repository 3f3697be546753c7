"""Plans that move sessions in from another session backend, each legacy key at most once.

A moved session gets a fresh id of ours (a client never chooses its id); the legacy key maps to it
under `KeyLayout.migrated_key` until the session would expire, so concurrent requests carrying the
old cookie, and sessions moved in bulk before their first visit, find it. Rollback removes both.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._plan import Call, Command, Core, Plan, delete, delete_any, gather, load, save
from .session import Session


def _call(call: Call) -> Plan[object]:
    (reply,) = yield [call]
    return reply


def find_migrated(core: Core, legacy_key: str) -> Plan[Session | None]:
    """The session `legacy_key` was moved to, loaded and slid; None if never moved, or gone."""
    moved = yield from _call(Command(("GET", core.keys.migrated_key(legacy_key))))
    if not isinstance(moved, bytes):
        return None
    return (yield from load(core, moved.decode()))


def adopt(core: Core, legacy_key: str, session: Session) -> Plan[Session | None]:
    """Store the new `session` as the one `legacy_key` moved to (one round trip). If another
    request moved it first, drop ours and return theirs (None if that one is gone already)."""
    left_ms = max(1, session._expires_ms - core.now_ms())
    claim = Command(("SET", core.keys.migrated_key(legacy_key), session.id, "PX", left_ms, "NX"))
    _, claimed = yield from gather([save(core, session), _call(claim)])
    if claimed:
        return session
    yield from delete_any(core, session)
    return (yield from find_migrated(core, legacy_key))


def move_legacy(core: Core, legacy_key: str) -> Plan[Session | None]:
    """The session another library (`SessionConfig.migrate_from`) keeps under `legacy_key`, moved
    to a fresh id of ours if not moved already; None if there is none. The old key is only read."""
    moved = yield from find_migrated(core, legacy_key)
    if moved is not None:
        return moved
    raw = yield from _call(Command(("GET", legacy_key)))
    assert core.legacy is not None
    data = core.legacy.decode(raw) if isinstance(raw, bytes) else None
    if data is None:
        return None
    return (yield from adopt(core, legacy_key, core.new_session(data, None, None)))


def migrated_ids(core: Core, cursor: str) -> Plan[tuple[str, list[tuple[str, str | None]]]]:
    """One SCAN step over the migration map: the next cursor ("0" at the end) and
    (map key, session id) pairs."""
    ((after, found),) = yield [Command(("SCAN", cursor, "MATCH", core.keys.migrated_pattern, "COUNT", 500))]
    keys = [key.decode() if isinstance(key, bytes) else str(key) for key in found]
    ids = yield [Command(("GET", key)) for key in keys] if keys else []
    pairs = [(key, i.decode() if isinstance(i, bytes) else None) for key, i in zip(keys, ids, strict=True)]
    return (after.decode() if isinstance(after, bytes) else str(after)), pairs


def forget(core: Core, pairs: Iterable[tuple[str, str | None]]) -> Plan[int]:
    """Delete moved sessions and their map entries (rollback); returns how many sessions existed."""
    pairs = list(pairs)
    if not pairs:
        return 0
    deleted = yield from gather(delete(core, i) for _, i in pairs if i is not None)
    yield [Command(("DEL", *(key for key, _ in pairs)))]
    return sum(deleted)

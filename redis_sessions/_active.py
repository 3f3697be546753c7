"""The active-session gauge (``track_active_sessions``): how many sessions are alive, in one round
trip whatever their number, sans-IO.

Sessions are spread over `SHARDS` shards by the first character of their id. A shard is a sorted
set of session ids scored by expiry (epoch ms), and two more for the sessions with expiry rules of
their own (scored by own ttl and by deadline), all under one hash tag, so a Lua script
(``active_*.lua``) updates them together, also on a Cluster. Notes ride in the batches the plans send anyway:

- every write (create, save, regenerate) sets the session's score to its exact expiry;
- a read moves the score forward at most once per `window_ms` per session and process (this
  process remembers when it last did), and never adds an id: a deleted session is not counted again;
- a delete, a revocation and an emptied session remove the id; `count` prunes expired ids (and
  each write prunes a few), so the sets hold live sessions only.

So the count (`count`: ``ZCARD`` after pruning, 16 scripts in one round trip) is exact for every
session with more than `window_ms` left, and may leave out a session in its last `window_ms` (read
since, by a process that noted it less than `window_ms` before). Sessions stored before the gauge
was turned on count from their next write.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._calls import Batch, Script
from ._ids import has_own_expiry
from .session import Session

SHARDS = 16
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SHARD_OF = {c: n % SHARDS for n, c in enumerate(_ALPHABET)}  # 4 id characters per shard
_REMEMBERED = 100_000  # sessions whose last read note this process remembers (then it forgets all)
PRUNE_LIMIT = 1000  # expired ids one count script removes from a shard


class ActiveSessions:
    """The gauge's calls for one store (its key prefix and ttl), and what this process noted."""

    def __init__(self, prefix: str, ttl_ms: int, absolute_ttl_ms: int) -> None:
        self.ttl_ms = ttl_ms
        self.absolute_ttl_ms = absolute_ttl_ms
        self.window_ms = min(60_000, ttl_ms // 4)
        self.shards = [
            tuple(f"{prefix}active{part}:{{{n:x}}}" for part in ("", "-ttls", "-deadlines"))
            for n in range(SHARDS)
        ]
        self._noted: dict[str, int] = {}  # session id -> when this process last noted a read of it

    def _keys(self, session_id: str) -> tuple[str, ...]:
        return self.shards[_SHARD_OF.get(session_id[0], 0)]

    def read(self, session_id: str, now: int) -> Script | None:
        """The note for a read of `session_id` at `now`, when one is due; None otherwise."""
        noted = self._noted
        last = noted.get(session_id)
        if last is not None and now - last < self.window_ms:
            return None
        if len(noted) >= _REMEMBERED:
            noted.clear()
        noted[session_id] = now
        rule = "?" if self.absolute_ttl_ms or has_own_expiry(session_id) else ""
        return Script("active_note", self._keys(session_id), (now, self.ttl_ms, session_id, "r", rule))

    def write(self, session: Session, session_id: str, now: int) -> Script:
        """The note for a write that leaves `session` stored under `session_id` at `now`."""
        self._noted[session_id] = now
        ttl, deadline = session._ttl, session._deadline_ms
        if ttl or deadline is not None:
            rule = f"{ttl * 1000 if ttl else ''}:{'' if deadline is None else deadline}"
        else:
            rule = "-" if has_own_expiry(session_id) else ""
        return Script("active_note", self._keys(session_id), (now, self.ttl_ms, session_id, "w", rule))

    def drop(self, session_ids: Iterable[str]) -> Batch:
        """Calls removing `session_ids` (one per shard they are in)."""
        by_shard: dict[tuple[str, ...], list[str]] = {}
        for session_id in session_ids:
            self._noted.pop(session_id, None)
            by_shard.setdefault(self._keys(session_id), []).append(session_id)
        return [Script("active_drop", keys, tuple(ids)) for keys, ids in by_shard.items()]

    def count(self, now: int, shards: Iterable[tuple[str, ...]] | None = None) -> Batch:
        """One count script per shard (all of them unless `shards` is given)."""
        return [Script("active_count", keys, (now, PRUNE_LIMIT)) for keys in shards or self.shards]

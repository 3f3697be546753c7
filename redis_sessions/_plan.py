"""The sans-IO core: every store operation as a plan of Redis command batches.

A plan is a generator: it yields a batch (a list of `Command` / `Script` calls sent in one round
trip), receives the list of replies, and returns the operation's result. It imports neither redis nor
asyncio; `_drivers` run plans against redis-py (sync or async) and `_memory` runs them in-process.

Invariants:
- one round trip per batch on one Redis; `get` is one batch (load and slide together, applying the
  session's own ttl and deadline), `save` one batch;
- a batch may go to several servers (Redis Cluster: the user index lives in another hash slot than
  its sessions), so the user index is a verified hint: it may list a dead session (readers check
  and prune), never miss one its holder can reach. An entry is added before (`Barrier`) a session
  its holder can reach is bound, or with the write that creates the session under an id no one has
  been told yet (create, regenerate: if that write fails, the id is never given out); an entry is
  removed only once the write that unbinds or moves its session has succeeded;
- a session past its deadline (own, or created + `absolute_ttl`) is never served;
- a save never brings back a session that is gone (the save script checks, atomically);
- only changed fields travel: keys set and keys deleted since load;
- nothing is written before size and serializability checks pass, and a merged record over
  `max_size` is refused by the save script itself;
- an unreadable record is no session: it is removed, with one WARNING (never the id).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TypeVar

from . import _layout as F
from . import events
from ._active import PRUNE_LIMIT, ActiveSessions

# The call types live in `_calls`; drivers and adapters import them from here.
from ._calls import BARRIER as BARRIER
from ._calls import Barrier as Barrier
from ._calls import Batch as Batch
from ._calls import Call as Call
from ._calls import Command as Command
from ._calls import Plan as Plan
from ._calls import Primaries as Primaries
from ._calls import Script as Script
from ._calls import Wait as Wait
from ._codec import codec
from ._ids import has_own_expiry, is_valid_id, new_session_id, session_handle, slot_tag
from ._layout import KeyLayout
from ._legacy_formats import LegacyFormat
from ._record import blob_of, pack, unpack
from .config import SessionConfig
from .errors import SerializationError, SessionError, SessionTooLarge
from .results import SessionPage
from .session import Session

T = TypeVar("T")
logger = logging.getLogger("redis_sessions")


_SET_USER, _SET_INDEXED = F.META + F.USER, F.META + F.INDEXED
_SET_TTL, _SET_DEADLINE = F.META + F.TTL, F.META + F.DEADLINE


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Core:
    """What every plan needs: settings, key layout, codec and clock, and the `Session` class to
    build (an integration may use a subclass, as Flask's session adds Flask's attributes)."""

    session_class: type[Session] = Session

    def __init__(self, config: SessionConfig, clock: Callable[[], int] = wall_clock_ms) -> None:
        self.config = config
        self.keys = KeyLayout(config.key_prefix)
        self.encode, self.decode = codec(config.serializer)
        self.now_ms = clock
        self.ttl_ms = config.ttl * 1000
        self.absolute_ttl_ms = (config.absolute_ttl or 0) * 1000  # 0: none, as the scripts read it
        self.observer = config.observer  # told of session events (None: off)
        self.events_channel = f"{config.key_prefix}events" if config.publish_events else None
        self.legacy = LegacyFormat(config) if config.migrate_from else None  # sessions to move in
        self.active = (  # the active-session gauge's notes (None: off)
            ActiveSessions(config.key_prefix, self.ttl_ms, self.absolute_ttl_ms)
            if config.track_active_sessions
            else None
        )

    # -- sessions in and out of records ----------------------------------------------------------
    def new_session(self, data: dict[str, Any] | None, user_id: str | None, ttl: int | None) -> Session:
        now = self.now_ms()
        deadline = None
        if self.config.absolute_ttl is not None:
            deadline = now + self.config.absolute_ttl * 1000
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0):
            raise ValueError("ttl must be a positive whole number of seconds")
        for key in data or ():
            if not isinstance(key, str):
                raise TypeError(f"session keys are strings, got {type(key).__name__}")
        expires = now + (ttl * 1000 if ttl else self.ttl_ms)
        if deadline is not None:
            expires = min(expires, deadline)
        session = self.session_class(
            new_session_id(own_expiry=ttl is not None or deadline is not None),
            dict(data or {}),
            user_id=None,
            created_ms=now,
            accessed_ms=now,
            expires_ms=expires,
            ttl=ttl,
            deadline_ms=deadline,
            is_new=True,
        )
        session.user_id = user_id
        return session

    def from_record(
        self, session_id: str, record: bytes, now: int, pttl: int | None = None
    ) -> tuple[Session, dict[str, str]]:
        """Build a session from its stored record; also return the record's metadata fields.

        Without `pttl` it was just loaded (and slid) at `now`: its expiry is computed here exactly
        as load.lua does; with `pttl` (a peek) it is `now + pttl`, and the last access, never
        stored, is when that expiry was set. Raises `SerializationError` on a corrupt record.
        """
        try:
            meta, data = unpack(record)
        except ValueError as exc:
            raise SerializationError(f"stored session record is corrupt: {exc}") from exc
        created = int(meta.get(F.CREATED, 0))
        ttl = meta.get(F.TTL)
        ttl_ms = int(ttl) if ttl is not None else self.ttl_ms
        deadline_ms = self.deadline_of(meta, created)
        if pttl is None:
            expires, accessed = now + ttl_ms, now
            if deadline_ms is not None and deadline_ms < expires:
                expires = deadline_ms
        else:
            expires = now + pttl
            accessed = max(created, expires - ttl_ms)
        session = self.session_class(
            session_id,
            data,  # serialized, decoded when read
            user_id=meta.get(F.USER),
            created_ms=created,
            accessed_ms=accessed,
            expires_ms=expires,
            ttl=ttl_ms // 1000 if ttl is not None else None,
            deadline_ms=deadline_ms,
            is_new=False,
            decode=self.decode,
        )
        return session, meta

    def deadline_of(self, meta: dict[str, str], created: int) -> int | None:
        """A record's absolute deadline (epoch ms): its own (``x``) capped by created +
        `absolute_ttl`, as record.lua's ``expiry`` computes it; None when it has neither."""
        deadline = meta.get(F.DEADLINE)
        deadline_ms = int(deadline) if deadline is not None else None
        if self.absolute_ttl_ms and created:
            cap = created + self.absolute_ttl_ms
            deadline_ms = cap if deadline_ms is None else min(deadline_ms, cap)
        return deadline_ms

    def set_expiry_rules(self, session: Session, ttl: int | None, deadline_ms: int | None) -> None:
        """Give `session` its own idle timeout (`ttl` seconds; None: the config's `ttl`) and an
        absolute deadline (epoch ms; None: only `absolute_ttl`'s), stored by its next save; as
        Django's `SessionBase.set_expiry` asks. The config's `absolute_ttl` still caps it.

        A session whose expiry class changes gets a fresh id (see `_ids`): a new one at once, a
        stored one at its next save, which moves it in one step (as a regenerate), so every load of
        it stays one round trip that applies the rules. Raises `ValueError` for a `ttl` that is not
        a positive whole number of seconds.
        """
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0):
            raise ValueError("ttl must be a positive whole number of seconds")
        if self.config.absolute_ttl is not None:
            cap = session._created_ms + self.config.absolute_ttl * 1000
            deadline_ms = cap if deadline_ms is None else min(deadline_ms, cap)
        if ttl == session._ttl and deadline_ms == session._deadline_ms:
            return
        session._ttl, session._deadline_ms = ttl, deadline_ms
        own = ttl is not None or deadline_ms is not None
        if not session._is_new:
            session._expiry_changed = True
            if own and not has_own_expiry(session._id):
                session._regenerate_requested = True  # a plain id is loaded by GETEX: move it
            return
        if own != has_own_expiry(session._id):
            session._id = new_session_id(own_expiry=own)
        expires = session._accessed_ms + self._session_ttl_ms(session)
        session._expires_ms = expires if deadline_ms is None else min(expires, deadline_ms)

    def needs_own_expiry_id(self, session: Session) -> bool:
        """Whether `session` must be on an id marked for load.lua (see `_ids`)."""
        return session._ttl is not None or session._deadline_ms is not None

    def index_due(self, meta: dict[str, str], session: Session, now: int) -> bool:
        """Whether load.lua found the user index entry due for a push (the same rule)."""
        if session.user_id is None:
            return False
        indexed = meta.get(F.INDEXED)
        return indexed is None or now - int(indexed) >= self._session_ttl_ms(session)

    def _session_ttl_ms(self, session: Session) -> int:
        return session._ttl * 1000 if session._ttl else self.ttl_ms

    def _check_size(self, session: Session, encoded: dict[str, bytes]) -> None:
        size = 0
        undecoded = session._undecoded
        for key, value in dict.items(session):  # stored text where not decoded: no decoding
            blob = encoded.get(key)
            if blob is None:
                blob = blob_of(value) if key in undecoded else self.encode(value)
            try:
                size += len(key.encode()) + 1 + len(blob)
            except UnicodeEncodeError as exc:
                raise SerializationError(f"session key is not valid UTF-8: {key!r}") from exc
        if size > self.config.max_size:
            raise SessionTooLarge(size, self.config.max_size)

    def changes(self, session: Session, now: int) -> tuple[list[Any], list[str]]:
        """Field/value pairs to write and fields to delete; raises before anything is sent.

        ``session.modified = True`` means "look for values changed in place" (as Flask and Django
        mean it): the keys read since load whose value no longer serializes to what was stored.
        """
        if session._rewrite:
            session._set.update(session._changed_in_place(self.encode))
        to_set, to_delete = session._changes()
        encoded = {key: self.encode(value) for key, value in to_set.items()}
        self._check_size(session, encoded)
        pairs: list[Any] = []
        for key, blob in encoded.items():
            pairs += (F.DATA + key, blob)
        deleted = [F.DATA + key for key in to_delete]
        if session.user_id != session._stored_user_id:
            if session.user_id is None:
                deleted += (_SET_USER, _SET_INDEXED)
            else:
                pairs += (_SET_USER, session.user_id, _SET_INDEXED, now)
        if session._expiry_changed:
            for name, value in ((_SET_TTL, session._ttl), (_SET_DEADLINE, session._deadline_ms)):
                if value is None:
                    deleted.append(name)
                else:
                    pairs += (name, value * 1000 if name == _SET_TTL else value)
        return pairs, deleted

    def index_score(self, session: Session, now: int) -> int:
        """Until when an index entry pushed now stays valid without another push (see load.lua)."""
        score = now + 2 * self._session_ttl_ms(session)
        if session._deadline_ms is not None:
            score = min(score, session._deadline_ms)
        return score

    # -- calls ------------------------------------------------------------------------------------
    def publish(self, event_type: str, now: int, **fields: Any) -> Command:
        """Publish a session event (`redis_sessions.events`); only with `events_channel` set."""
        return Command(("PUBLISH", self.events_channel, events.encode(event_type, now, **fields)))

    def durable(self, batch: Batch) -> Batch:
        """`batch`, followed by a `Wait` for `replica_acks` replicas when durable writes are on."""
        if self.config.replica_acks:
            batch.append(Wait(self.config.replica_acks, round(self.config.replica_ack_timeout * 1000)))
        return batch

    def load_call(self, session_id: str, now: int) -> Call:
        """Read a session's record and slide its expiry, in one command."""
        key = self.keys.session_key(session_id)
        if self.absolute_ttl_ms or has_own_expiry(session_id):
            return Script("load", (key,), (now, self.ttl_ms, self.absolute_ttl_ms))
        return Command(("GETEX", key, "PX", self.ttl_ms))

    def save_args(
        self, now: int, pairs: list[Any], deleted: list[str], drop_if_empty: bool
    ) -> tuple[Any, ...]:
        """ARGV of save.lua (its header comment documents the layout)."""
        limits = (now, self.ttl_ms, self.absolute_ttl_ms, self.config.max_size, int(drop_if_empty))
        return (*limits, len(pairs) // 2, *pairs, *deleted)

    def index_add(self, session: Session, now: int) -> Script:
        assert session.user_id is not None
        key = self.keys.user_key(session.user_id)
        return Script("index_add", (key,), (now, self.index_score(session, now), session.id))

    def index_remove(self, user_id: str, *session_ids: str) -> Command:
        return Command(("ZREM", self.keys.user_key(user_id), *session_ids))


# -- plans -----------------------------------------------------------------------------------------
def load(core: Core, session_id: str) -> Plan[Session | None]:
    """Load a session and slide its expiry (one round trip; an unreadable record is removed in a
    second one and reads as no session)."""
    if not is_valid_id(session_id):
        return None
    now = core.now_ms()
    call = core.load_call(session_id, now)
    batch: Batch = [call]
    if core.active is not None and (note := core.active.read(session_id, now)) is not None:
        batch.append(note)  # in the same round trip
    record = (yield batch)[0]
    key = core.keys.session_key(session_id)
    if record == 0 and isinstance(call, Script):  # load.lua found it unreadable and removed it
        _unreadable("not a session record")
        return None
    if not record:
        return None
    try:
        session, meta = core.from_record(session_id, record, now)
    except SerializationError as exc:
        _unreadable(str(exc))
        yield [Command(("DEL", key))]
        return None
    followup: Batch = []
    if isinstance(call, Command) and (session._ttl or session._deadline_ms is not None):
        # Not expected (such ids are marked), but GETEX used the default ttl: let save.lua fix it.
        if session._expires_ms <= now:
            yield [Command(("DEL", key))]
            return None
        followup.append(Script("save", (key,), core.save_args(now, [], [], False)))
    if core.index_due(meta, session, now):
        # At most once per ttl per session, to keep the user index alive under read-only traffic:
        # the entry first, then the record notes the push (a failed push is tried again next load).
        pushed = Script("save", (key,), core.save_args(now, [_SET_INDEXED, now], [], False))
        followup = [core.index_add(session, now), BARRIER, pushed]
    if followup:
        yield followup
    return session


def _unreadable(reason: str) -> None:
    # No id in the line: the key is a bearer token's twin.
    logger.warning("removed a stored session that cannot be read (%s); serving a fresh session", reason)


def touch(core: Core, session_id: str) -> Plan[bool]:
    """Slide a session's expiry as `load` does; False when it does not exist."""
    return (yield from load(core, session_id)) is not None


class Saved(enum.Enum):
    STORED = "stored"
    GONE = "gone"  # deleted, expired or regenerated meanwhile: nothing stored
    EMPTIED = "emptied"  # drop_if_empty: no data and no user left, so the session was deleted


def save(core: Core, session: Session) -> Plan[bool]:
    """Persist `session`'s changes (create it when new; move it when regeneration is asked).

    Returns False, storing nothing, when the stored session is gone.
    """
    return (yield from save_outcome(core, session)) is Saved.STORED


def save_outcome(core: Core, session: Session, drop_if_empty: bool = False) -> Plan[Saved]:
    """`save`, telling why nothing was stored; with `drop_if_empty`, delete the session instead
    when no data field and no user binding is left after the changes (checked atomically, so a
    key another request added meanwhile keeps it alive)."""
    now = core.now_ms()
    if session._is_new:
        if session._regenerate_requested:
            session._id = new_session_id(slot_tag(session._id), own_expiry=core.needs_own_expiry_id(session))
            session._regenerate_requested = False
        return Saved.STORED if (yield from _create(core, session, now)) else Saved.GONE
    pairs, deleted = core.changes(session, now)
    old_id = session.id
    keys = [core.keys.session_key(old_id)]
    new_id = old_id
    if session._regenerate_requested:
        new_id = new_session_id(slot_tag(old_id), own_expiry=core.needs_own_expiry_id(session))
        keys.append(core.keys.session_key(new_id))
    stored_user, user = session._stored_user_id, session.user_id
    batch: Batch = []
    if user is not None and (user != stored_user or new_id != old_id):
        session._id = new_id  # index_add reads it
        batch.append(core.index_add(session, now))
        session._id = old_id
        if new_id == old_id:  # a session its holder can reach is bound only once it is indexed
            batch.append(BARRIER)
    at = len(batch)
    batch.append(Script("save", tuple(keys), core.save_args(now, pairs, deleted, drop_if_empty)))
    active = core.active
    if active is not None:  # noted for the likely outcome; corrected below when it is another
        batch += active.drop([old_id]) if drop_if_empty else [active.write(session, new_id, now)]
        if new_id != old_id and not drop_if_empty:
            batch += active.drop([old_id])
    if core.events_channel is not None and (drop_if_empty or new_id != old_id):
        old_handle = session_handle(old_id)
        batch.append(
            core.publish("destroyed", now, session=old_handle, user_id=stored_user, reason="emptied")
            if drop_if_empty
            else core.publish(
                "regenerated", now, session=session_handle(new_id), previous=old_handle, user_id=user
            )
        )
    replies = yield core.durable(batch)
    try:
        expires = save_result(replies[at], core.config.max_size)
    except SessionError:
        if active is not None and new_id != old_id and not drop_if_empty:
            yield _active_fix(core, session, old_id, new_id, now)
        raise
    if active is not None and not drop_if_empty:
        _pruned(core, replies[at + 1])
    if active is not None and expires == 0 and not drop_if_empty:
        yield active.drop([new_id])  # it was gone: not counted again
    elif active is not None and expires > 0 and drop_if_empty:
        yield [active.write(session, new_id, now)]  # not emptied after all: a key came meanwhile
    if stored_user is not None and (stored_user != user or new_id != old_id):
        # The old entry goes once the save's outcome is known: a refused save keeps its session
        # live under the old id, and still indexed.
        yield core.durable([core.index_remove(stored_user, old_id)])
    if expires == 0:
        return Saved.GONE
    if expires == -2:
        if core.observer is not None:
            core.observer.session_destroyed("emptied")
        return Saved.EMPTIED
    if new_id != old_id and core.observer is not None:
        core.observer.session_regenerated()
    session._id = new_id
    session._regenerate_requested = False
    session._mark_saved(expires, now)
    return Saved.STORED


def _active_fix(core: Core, session: Session, old_id: str, new_id: str, now: int) -> Batch:
    """The active-session gauge's correction after a refused regenerate: the session is still
    under its old id (with its old expiry, noted as slid now)."""
    assert core.active is not None
    return [*core.active.drop([new_id]), core.active.write(session, old_id, now)]


def save_result(reply: Any, max_size: int) -> int:
    """save.lua's reply: expires_ms when stored, 0 gone, -2 dropped for being empty. Raises
    `SessionError` for an id collision (-1) and `SessionTooLarge` when the merged record would be
    over `max_size` bytes ({-3, size}); nothing was stored then."""
    if isinstance(reply, list):
        raise SessionTooLarge(int(reply[1]), max_size)
    expires = int(reply)
    if expires == -1:
        raise SessionError("session id collision on regenerate; nothing was stored")
    return expires


def _create(core: Core, session: Session, now: int) -> Plan[bool]:
    expires = now + core._session_ttl_ms(session)
    if session._deadline_ms is not None:
        expires = min(expires, session._deadline_ms)
    if not (yield from store_new(core, session, now, expires)):
        raise SessionError("session id collision on create; nothing was stored")
    return True


def store_new(core: Core, session: Session, now: int, expires: int) -> Plan[bool]:
    """Store `session` under its id until `expires` (epoch ms), only if the id is free: one round
    trip with its index entry, gauge note and event. False, storing nothing, when the id is taken
    or `expires` has passed. Raises `SessionTooLarge` / `SerializationError` before any I/O."""
    encoded = {key: core.encode(session[key]) for key in session}
    core._check_size(session, encoded)
    if expires <= now:
        return False
    meta = {F.CREATED: str(session._created_ms)}
    if session._ttl:
        meta[F.TTL] = str(session._ttl * 1000)
    if session._deadline_ms is not None:
        meta[F.DEADLINE] = str(session._deadline_ms)
    batch: Batch = []
    if session.user_id is not None:
        meta[F.USER], meta[F.INDEXED] = session.user_id, str(now)
        batch.append(core.index_add(session, now))
    at = len(batch)
    key = core.keys.session_key(session.id)
    batch.append(Command(("SET", key, pack(meta, encoded), "PX", expires - now, "NX")))
    if core.active is not None:
        batch.append(core.active.write(session, session.id, now))
    if core.events_channel is not None:
        batch.append(core.publish("created", now, session=session.handle, user_id=session.user_id))
    replies = yield core.durable(batch)
    if not replies[at]:
        if core.active is not None:  # the id is someone else's: the note stands for theirs
            core.active._noted.pop(session.id, None)
        return False
    session._mark_saved(expires, now)
    if core.active is not None:
        _pruned(core, replies[at + 1])
    if core.observer is not None:
        core.observer.session_created()
    return True


def _pruned(core: Core, reply: Any) -> None:
    """Tell the observer of the expired sessions a gauge note pruned (active_note.lua's reply)."""
    if reply and core.observer is not None:
        core.observer.session_destroyed("expired", int(reply))


def regenerate(core: Core, session: Session) -> Plan[Session]:
    """Move `session` (with its pending changes) to a fresh id; the old id stops working."""
    session._regenerate_requested = True
    if not (yield from save(core, session)):
        session._regenerate_requested = False
        raise SessionError("cannot regenerate: the session no longer exists")
    return session


def delete(core: Core, session_id: str, user_id: str | None = None, reason: str = "revoked") -> Plan[bool]:
    """Delete one session (and its user index entry when `user_id` is known); `reason` is what
    the observer is told (`redis_sessions.observer.DESTROY_REASONS`)."""
    if not is_valid_id(session_id):
        return False
    batch: Batch = [Command(("DEL", core.keys.session_key(session_id)))]
    if core.active is not None:
        batch += core.active.drop([session_id])
    if core.events_channel is not None:
        now = core.now_ms()
        batch.append(
            core.publish("destroyed", now, session=session_handle(session_id), user_id=user_id, reason=reason)
        )
    if user_id is not None:
        batch += [BARRIER, core.index_remove(user_id, session_id)]  # unindexed once it is gone
    replies = yield core.durable(batch)
    if replies[0] and core.observer is not None:
        core.observer.session_destroyed(reason)
    return bool(replies[0])


def delete_any(core: Core, session: str | Session, reason: str = "revoked") -> Plan[bool]:
    if isinstance(session, Session):
        return (yield from delete(core, session.id, session._stored_user_id, reason))
    return (yield from delete(core, session, None, reason))


def delete_many(core: Core, session_ids: Iterable[str]) -> Plan[int]:
    """Delete several sessions in one round trip; how many existed."""
    return sum((yield from gather(delete(core, i) for i in session_ids)))


def save_many(core: Core, sessions: Iterable[Session]) -> Plan[None]:
    """Save several sessions in one round trip."""
    yield from gather(save(core, s) for s in sessions)


def create(core: Core, session: Session) -> Plan[bool]:
    """Store a new session (`save`, named for the observer)."""
    return (yield from save(core, session))


def exists(core: Core, session_id: str) -> Plan[bool]:
    if not is_valid_id(session_id):
        return False
    (reply,) = yield [Command(("EXISTS", core.keys.session_key(session_id)))]
    return bool(reply)


def ttl(core: Core, session_id: str) -> Plan[float | None]:
    if not is_valid_id(session_id):
        return None
    (reply,) = yield [Command(("PTTL", core.keys.session_key(session_id)))]
    return None if reply < 0 else reply / 1000


def _peek_all(core: Core, session_ids: list[str], now: int) -> Plan[list[Session | None]]:
    """Load sessions without touching their expiry: GET and PTTL each, one round trip."""
    keys = [core.keys.session_key(i) for i in session_ids]
    replies = yield [Command((name, key)) for key in keys for name in ("GET", "PTTL")]
    sessions: list[Session | None] = []
    for n, session_id in enumerate(session_ids):
        record, pttl = replies[2 * n], replies[2 * n + 1]
        session = None
        if record and pttl >= 0:
            with contextlib.suppress(SerializationError):  # unreadable: no session (a load removes it)
                session = core.from_record(session_id, record, now, pttl)[0]
        if session is not None and session._expires_ms <= now:
            session = None  # past its deadline (absolute_ttl set since): the next load removes it
        sessions.append(session)
    return sessions


def sessions_for_user(core: Core, user_id: str) -> Plan[list[Session]]:
    """The live sessions bound to `user_id`, oldest first; prunes index entries of dead ones."""
    now = core.now_ms()
    key = core.keys.user_key(user_id)
    (members,) = yield [Command(("ZRANGEBYSCORE", key, now, "+inf"))]
    ids = [m.decode() for m in members]
    if not ids:
        return []
    loaded = yield from _peek_all(core, ids, now)
    live = [s for s in loaded if s is not None and s.user_id == user_id]
    stale = [i for i, s in zip(ids, loaded, strict=True) if s is None or s.user_id != user_id]
    if stale:
        yield [core.index_remove(user_id, *stale)]
    return sorted(live, key=lambda s: s._created_ms)


def delete_user_sessions(core: Core, user_id: str, except_id: str | None) -> Plan[int]:
    """Delete every session still bound to `user_id` but `except_id`; returns how many."""
    key = core.keys.user_key(user_id)
    (members,) = yield [Command(("ZRANGE", key, 0, -1))]
    targets = [i for i in (m.decode() for m in members) if i != except_id and is_valid_id(i)]
    if not targets:
        return 0
    deleted = yield core.durable(
        [Script("delete_owned", (core.keys.session_key(i),), (user_id,)) for i in targets]
    )
    # Each target is deleted now, or bound to someone else: its entry is stale either way. Removed
    # once the deletes answered, so an entry never goes while its session may still be live.
    cleanup: Batch = [core.index_remove(user_id, *targets)]
    if core.active is not None:
        cleanup += core.active.drop(i for i, gone in zip(targets, deleted, strict=False) if gone)
    count = sum(int(r) for r in deleted[: len(targets)])
    if core.events_channel is not None:
        kept = session_handle(except_id) if except_id else None
        cleanup.append(core.publish("user_revoked", core.now_ms(), user_id=user_id, count=count, kept=kept))
    yield core.durable(cleanup)
    if count and core.observer is not None:
        core.observer.session_destroyed("revoked", count)
    return count


class _Cursor(NamedTuple):
    """Where a `list_sessions` walk stands: a SCAN cursor on one primary (`node`, "" on a single
    Redis), the ids of the last SCAN step not listed yet, and the primaries already walked."""

    scan: str
    pending: tuple[str, ...]
    node: str | None
    done: tuple[str, ...]

    def text(self) -> str:
        # "<scan>:<id>.<id>", then "@<primary>" and "!<walked>,<walked>" on a Cluster.
        node = f"@{self.node}" if self.node else ""
        done = "!" + ",".join(self.done) if self.done else ""  # "!" alone: a single Redis walked
        return f"{self.scan}:{'.'.join(self.pending)}{node}{done}"


def _parse_cursor(cursor: str | None) -> _Cursor:
    if cursor is None:
        return _Cursor("0", (), None, ())
    rest, bang, done = cursor.partition("!")
    rest, at, node = rest.partition("@")
    scan, sep, after = rest.partition(":")
    pending = tuple(after.split(".")) if after else ()
    if not sep or not scan.isdigit() or not all(map(is_valid_id, pending)) or (at and not node):
        raise ValueError(f"not a cursor from list_sessions: {cursor!r}")
    return _Cursor(scan, pending, node if at else "", tuple(done.split(",")) if bang else ())


def list_sessions(core: Core, limit: int, cursor: str | None, whole_steps: bool = False) -> Plan[SessionPage]:
    """One page of at most `limit` sessions by SCAN (never KEYS), primary after primary on a Cluster.

    A SCAN step is never sent twice: it asks for the room left in the page (``COUNT``), and the ids
    of a step that do not fit (SCAN may return more than asked) travel in the cursor to the next
    page, so the cursor is as confidential as the ids it lists. Every session alive for the whole
    walk is listed, and none twice, unless Redis' own SCAN returns a key twice while its table
    shrinks, a reshard moves a slot from a primary not yet walked to one already walked (or back),
    or a failover replaces the primary being walked (its walk starts over on the new one).

    With `whole_steps`, a page holds every id of its last SCAN step instead (it may pass `limit` by
    what one step returned), and its cursor carries no id: one to show an operator.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    at = _parse_cursor(cursor)
    (primaries,) = yield [Primaries()]
    done = list(at.done)
    todo = [node for node in primaries if node not in done]
    scan = at.scan
    if at.node is None or at.node not in todo:  # a fresh walk, or its primary is gone (or walked)
        scan = "0"
    else:
        todo.remove(at.node)
        todo.insert(0, at.node)
    ids = list(at.pending[:limit])
    pending = at.pending[limit:]
    next_cursor: str | None = None
    if pending:
        next_cursor = _Cursor(scan, pending, at.node, tuple(done)).text()
    elif todo and len(ids) == limit:  # the carried ids filled the page: the walk goes on from here
        next_cursor = _Cursor(scan, (), todo[0], tuple(done)).text()
    while todo and len(ids) < limit:
        node = todo[0]
        room = limit - len(ids)
        ((following, keys),) = yield [
            Command(("SCAN", scan, "MATCH", core.keys.scan_pattern, "COUNT", max(room, 10)), node)
        ]
        following = following.decode() if isinstance(following, bytes) else str(following)
        step = sorted({i for i in map(core.keys.session_id, keys) if i is not None})
        if whole_steps:
            room = len(step)
        ids += step[:room]
        scan = following
        if following == "0":
            done.append(node)
            todo.pop(0)
            scan = "0"
        rest = tuple(step[room:])
        if rest or (todo and len(ids) >= limit):
            next_cursor = _Cursor(scan, rest, todo[0] if todo else node, tuple(done)).text()
            break
    sessions = (yield from _peek_all(core, ids, core.now_ms())) if ids else []
    return SessionPage([s for s in sessions if s is not None], next_cursor)


def count(core: Core) -> Plan[int]:
    """Number of live sessions, by SCAN in steps of 1000 keys (never blocks Redis), on every
    primary at once."""
    (primaries,) = yield [Primaries()]
    scans: dict[str, Any] = dict.fromkeys(primaries, "0")
    total = 0
    while scans:
        nodes = list(scans)
        pattern = core.keys.scan_pattern
        replies = yield [Command(("SCAN", scans[n], "MATCH", pattern, "COUNT", 1000), n) for n in nodes]
        for node, (scan, keys) in zip(nodes, replies, strict=True):
            total += sum(1 for key in keys if core.keys.session_id(key) is not None)
            if scan in (0, b"0", "0"):
                del scans[node]
            else:
                scans[node] = scan
    return total


def active_count(core: Core) -> Plan[int]:
    """The active-session gauge (`_active`): one round trip (more only while over
    `_active.PRUNE_LIMIT` ids per shard expired since the last count). Raises `SessionError` when
    `track_active_sessions` is off."""
    if core.active is None:
        raise SessionError("the active-session gauge needs track_active_sessions=True; count() walks instead")
    now = core.now_ms()
    shards = core.active.shards
    live: dict[tuple[str, ...], int] = {}
    pruned = 0
    while shards:
        replies = yield core.active.count(now, shards)
        again = []
        for keys, (left, removed) in zip(shards, replies, strict=True):
            live[keys] = int(left)
            pruned += int(removed)
            if int(removed) >= PRUNE_LIMIT:
                again.append(keys)
        shards = again
    if pruned and core.observer is not None:
        core.observer.session_destroyed("expired", pruned)
    return sum(live.values())


def gather(plans: Iterable[Plan[T]]) -> Plan[list[T]]:
    """Run several plans in lockstep: one round trip per step for all of them together."""
    running = list(plans)
    results: dict[int, T] = {}
    pending: dict[int, Batch] = {}
    for n, plan in enumerate(running):
        try:
            pending[n] = next(plan)
        except StopIteration as done:
            results[n] = done.value
    while pending:
        order = list(pending)
        replies = yield [call for n in order for call in pending[n]]
        offset = 0
        for n in order:
            size = len(pending[n])
            try:
                pending[n] = running[n].send(replies[offset : offset + size])
            except StopIteration as done:
                results[n] = done.value
                del pending[n]
            offset += size
    return [results[n] for n in range(len(running))]

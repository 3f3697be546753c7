"""``on_backend_error="fallback"``: keep serving sessions from this process while Redis is down, and
write back what changed when it returns.

Healthy, the driver notes every batch that succeeded on Redis (`Fallback.observe`: an append; no
I/O, no round trip) and takes the notes in, a few hundred at a time, into a bounded cache, least
recently used first out, of the sessions this process has served: per session key, the record
Redis last gave or took (a load, a create) and the saves applied since, by their arguments. An
outage (`OUTAGE_KINDS`) turns the fallback on: batches then run on an in-process `MemoryServer`,
which runs the same commands and scripts as Redis, each session key seeded from the cache on first
use (`_materialize`), unless Redis last confirmed it more than `fallback_max_staleness` seconds ago.
Every write made there is logged. At most every `circuit_breaker_cooldown` seconds, one batch first
tries to write the log back to Redis (`next_chunk`, `replayed`); once all of it is back and Redis
answered, the fallback turns off and Redis serves again. Writes go back as they ran: a save merges
only its changed keys and never brings back a session gone from Redis meanwhile (another process
may have revoked it), a new session is stored only if its id is still free, a logout deletes. A
write whose first try timed out may reach Redis twice; each of them sets what it sets, so twice is
once.

A batch that needs all of Redis (``SCAN``, the user index read by "log out everywhere", ``INFO``,
the active-session count) is not served: it raises the outage. So is a new session once
`fallback_max_sessions` sessions are held, and any write once the log would pass
`fallback_max_bytes` (a 503 rather than an unbounded process). On a Cluster, one unreachable
primary turns the fallback on for every session of the process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from redis_sessions._memory import MemoryServer
from redis_sessions._plan import BARRIER, Barrier, Batch, Command, Script, Wait
from redis_sessions.config import SessionConfig
from redis_sessions.errors import BackendUnavailable

logger = logging.getLogger("redis_sessions")

# Failures the fallback stands in for: Redis unreachable, or not serving now. Not a refused
# permission, a full Redis (OOM), missing replica acks or a saturated pool: those stay errors.
OUTAGE_KINDS = frozenset(
    {
        "connection",
        "timeout",
        "circuit open",
        "LOADING",
        "MASTERDOWN",
        "CLUSTERDOWN",
        "READONLY",
        "TRYAGAIN",
        "BUSY",
    }
)
# What a batch may hold to be served here: one session's commands and scripts.
# PUBLISH (session events) is logged as a write: the events of an outage are published when it ends.
_COMMANDS = frozenset({"GETEX", "GET", "SET", "DEL", "EXISTS", "PTTL", "ZREM", "PUBLISH"})
_READS = frozenset({"GETEX", "GET", "EXISTS", "PTTL"})
_MAX_SAVES = 16  # saves kept per cached session since its last load; more drops it from the cache
REPLAY_CHUNK = 100  # logged calls written back per round trip
ABSORB_EVERY = 256  # observed batches taken into the cache at once


# A cached session key as Redis last confirmed it (a list, the cheapest to make on every request):
# the record then, its time to live then (ms), the save arguments since, when (monotonic seconds).
_RECORD, _TTL, _SAVES, _CONFIRMED = range(4)


class Fallback:
    """The fallback's state, shared by every thread and event loop of a store; no I/O."""

    def __init__(
        self,
        config: SessionConfig,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.max_sessions = config.fallback_max_sessions
        self.max_bytes = config.fallback_max_bytes
        self.max_staleness = config.fallback_max_staleness
        self._clock = clock
        self.lock = threading.Lock()
        # Sent when nothing is left to write back, to learn that Redis serves again.
        self.probe = Command(("EXISTS", f"{config.key_prefix}fallback-probe"))
        # key -> [_RECORD, _TTL, _SAVES, _CONFIRMED], least recently used first
        self._cache: OrderedDict[str, list[Any]] = OrderedDict()
        self._recent: deque[tuple[Batch, list[Any], float]] = deque()  # observed, not yet absorbed
        self._cache_bytes = 0
        self.active = False  # serving from `_memory` (guarded by `lock`)
        self._memory = MemoryServer()
        self._confirmed: dict[str, float] = {}  # keys seeded from the cache: when Redis confirmed them
        self._log: list[Batch] = []  # writes made here, to replay in order
        self._log_bytes = 0
        self._replaying = False
        # Tries to write back start at most every `retry_interval` seconds (the breaker's cool-down):
        # a request served here waits out no timeout of Redis' but the first.
        self.retry_interval = config.circuit_breaker_cooldown
        self._next_try = 0.0
        self._chunk_batches = 0
        self._since = 0.0
        self._cause: BackendUnavailable | None = None
        self._replayed = self._not_stored = self._refused = 0
        self.observer = config.observer

    # -- healthy: watch what Redis answered -------------------------------------------------------
    def observe(self, batch: Batch, replies: list[Any]) -> None:
        """Note a batch that succeeded on Redis (on every batch: an append; the cache takes in what it
        says about its sessions every `ABSORB_EVERY` batches, and when an outage starts)."""
        recent = self._recent
        recent.append((batch, replies, self._clock()))
        if len(recent) >= ABSORB_EVERY:
            with self.lock:
                self._absorb()

    def _absorb(self) -> None:
        """Take the batches noted since the last time into the cache (holding `lock`)."""
        recent = self._recent
        while recent:
            batch, replies, now = recent.popleft()
            for call, reply in zip(batch, replies, strict=False):
                if type(call) is Command:
                    args = call.args
                    name = args[0]
                    if name == "GETEX":  # GETEX key PX ms: a load
                        if reply:
                            self._put(args[1], reply, args[3], now)
                        else:
                            self._drop(args[1])
                    elif name == "SET":  # SET key record PX ms NX: a create
                        if reply:
                            self._put(args[1], args[2], args[4], now)
                    elif name == "DEL":
                        for key in args[1:]:
                            self._drop(key)
                elif type(call) is Script:
                    self._observe_script(call, reply, now)

    def _observe_script(self, call: Script, reply: Any, now: float) -> None:
        key = call.keys[0]
        if call.name == "load":
            if isinstance(reply, bytes):
                self._put(key, reply, call.args[1], now)
            else:
                self._drop(key)
        elif call.name == "save":
            entry = self._cache.get(key)
            if entry is None or isinstance(reply, list):
                return
            if reply > 0:
                saves = entry[_SAVES]
                if len(saves) >= _MAX_SAVES:
                    self._drop(key)
                    return
                saves.append(call.args)
                entry[_CONFIRMED] = now
                if len(call.keys) == 2:  # regenerated: the record moved
                    self._drop(call.keys[1])
                    self._cache[call.keys[1]] = self._cache.pop(key)
            elif reply != -1:  # gone, or emptied and deleted
                self._drop(key)
        elif call.name == "delete_owned" and reply:
            self._drop(key)

    def _put(self, key: str, record: bytes, ttl_ms: Any, now: float) -> None:
        cache = self._cache
        entry = cache.get(key)
        if entry is None:
            cache[key] = [record, ttl_ms, [], now]
            self._cache_bytes += len(record)
            if len(cache) > self.max_sessions or self._cache_bytes > self.max_bytes:
                while len(cache) > self.max_sessions or self._cache_bytes > self.max_bytes:
                    self._cache_bytes -= len(cache.popitem(last=False)[1][_RECORD])
        else:  # refreshed in place: no allocation on the usual path
            self._cache_bytes += len(record) - len(entry[_RECORD])
            entry[_RECORD], entry[_TTL], entry[_CONFIRMED] = record, ttl_ms, now
            if entry[_SAVES]:
                entry[_SAVES] = []
            cache.move_to_end(key)

    def _drop(self, key: str) -> None:
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_bytes -= len(old[_RECORD])

    # -- an outage: serve here --------------------------------------------------------------------
    def covers(self, exc: BackendUnavailable) -> bool:
        """Whether `exc` is an outage the fallback stands in for."""
        return exc.kind in OUTAGE_KINDS

    def begin(self, exc: BackendUnavailable) -> None:
        """Turn the fallback on (once per outage; logged)."""
        with self.lock:
            if self.active:
                return
            self._absorb()
            self.active = True
            self._since = self._clock()
            self._next_try = self._since + self.retry_interval
            self._cause = exc
            self._replayed = self._not_stored = self._refused = 0
            logger.warning(
                "session store unavailable, serving sessions from this process (%d cached) until it is "
                "back: %s",
                len(self._cache),
                exc,
            )
        if self.observer is not None:
            self.observer.backend_error(exc.kind)
            self.observer.fallback_changed(True)

    def local(self, batch: Batch, cause: BackendUnavailable | None = None) -> list[Any] | None:
        """Run `batch` on the in-process store and log its writes; None once the fallback is off
        (Redis serves again). Raises `BackendUnavailable` for a batch the fallback cannot serve."""
        with self.lock:
            if not self.active:
                return None
            writes: Batch = []
            for call in batch:
                if type(call) is Command:
                    name = call.args[0]
                    if name not in _COMMANDS:
                        raise self._unserved(cause, f"{name} needs Redis itself")
                    if name not in _READS:
                        writes.append(call)
                    for key in call.args[1:2] if name != "DEL" else call.args[1:]:
                        self._materialize(key)
                elif type(call) is Script:
                    if call.name == "active_count":
                        raise self._unserved(cause, "the active-session count needs Redis itself")
                    for key in call.keys:
                        self._materialize(key)
                    if call.name != "load":
                        writes.append(call)
                elif isinstance(call, (Barrier, Wait)):
                    writes.append(call)
                else:
                    raise self._unserved(cause, f"{type(call).__name__} needs Redis itself")
            creates = any(type(c) is Command and c.args[0] == "SET" for c in writes)
            self._check_room(creates, _size(writes))
            replies = self._memory.execute(batch)
            for call, reply in zip(batch, replies, strict=True):
                if _moved(call, reply) and call.keys[0] in self._confirmed:  # type: ignore[union-attr]
                    # a regenerated session keeps the staleness bound of its old id
                    self._confirmed[call.keys[1]] = self._confirmed.pop(call.keys[0])  # type: ignore[union-attr]
            if any(not isinstance(c, (Barrier, Wait)) for c in writes):
                self._log.append(writes)
                self._log_bytes += _size(writes)
            return replies

    def _unserved(self, cause: BackendUnavailable | None, why: str) -> BackendUnavailable:
        cause = cause or self._cause
        text = f"session store unavailable and the fallback cannot serve this ({why})"
        error = BackendUnavailable(
            f"{text}: {cause}" if cause else text, cause.kind if cause else "connection"
        )
        if cause is not None:
            error.retry_after = cause.retry_after
        return error

    def _check_room(self, creates: bool, size: int) -> None:
        """Refuse a write that would take the fallback over its bounds: a new session once
        `max_sessions` are held, any write once the log to write back would exceed `max_bytes`."""
        held = len(self._memory.strings)
        if (not creates or held < self.max_sessions) and (
            not size or self._log_bytes + size <= self.max_bytes
        ):
            return
        if not self._refused:
            logger.warning(
                "session fallback full (%d sessions, %d bytes of writes to write back; limits %d, %d): "
                "writes that need more answer 503 until Redis is back",
                held,
                self._log_bytes,
                self.max_sessions,
                self.max_bytes,
            )
        self._refused += 1
        raise BackendUnavailable("session fallback full: nothing was stored", "fallback full")

    def _materialize(self, key: str) -> None:
        """Seed `key` from the cache on its first use here; drop it once too stale to serve."""
        entry = self._cache.pop(key, None)
        now = self._clock()
        if entry is not None:
            record, ttl_ms, saves, confirmed = entry
            self._cache_bytes -= len(record)
            if now - confirmed > self.max_staleness or key in self._memory.strings:
                return
            memory = self._memory
            left_ms = int(ttl_ms) - int((now - confirmed) * 1000)  # the expiry Redis set, give or take
            if left_ms <= 0:
                return
            memory.strings[key] = record
            memory.expires[key] = memory.clock() + left_ms
            for args in saves:
                memory.script_save(key, args=[_bytes(a) for a in args])
            self._confirmed[key] = confirmed
        else:
            confirmed = self._confirmed.get(key)
            if confirmed is not None and now - confirmed > self.max_staleness:
                self._memory.cmd_del(key)
                del self._confirmed[key]

    # -- recovery: write back ---------------------------------------------------------------------
    def claim_replay(self) -> bool:
        """Whether the caller should try to write the log back now: one caller at a time, at most
        every `retry_interval` seconds."""
        with self.lock:
            if not self.active or self._replaying or self._clock() < self._next_try:
                return False
            self._replaying = True
            return True

    def next_chunk(self) -> Batch | None:
        """The next logged writes to send, in order (their `Barrier`s kept, one more between logged
        batches; `Wait`s left out), or None when the log is empty."""
        with self.lock:
            if not self._log:
                return None
            chunk: Batch = []
            taken = 0
            for writes in self._log:
                if chunk and len(chunk) + len(writes) > REPLAY_CHUNK:
                    break
                if chunk:
                    chunk.append(BARRIER)
                chunk += [c for c in writes if not isinstance(c, Wait)]
                taken += 1
            self._chunk_batches = taken
            return chunk

    def replayed(self, chunk: Batch, replies: list[Any]) -> None:
        """`chunk`, the last `next_chunk`, is back in Redis with these replies (errors in place)."""
        with self.lock:
            for writes in self._log[: self._chunk_batches]:
                self._log_bytes -= _size(writes)
            del self._log[: self._chunk_batches]
            for call, reply in zip(chunk, replies, strict=False):
                if isinstance(call, Barrier):
                    continue
                self._replayed += 1
                creates = type(call) is Command and call.args[0] == "SET"
                saves = type(call) is Script and call.name == "save"
                refused = (
                    reply is None if creates else saves and (isinstance(reply, list) or reply in (0, -1))
                )
                if isinstance(reply, Exception) or refused:
                    self._not_stored += 1

    def finish(self) -> bool:
        """After Redis answered: turn the fallback off (and log the outage's end) unless writes
        were logged meanwhile; whether it is off."""
        with self.lock:
            if self._log:
                return False
            self._end()
            return True

    def replay_failed(self) -> None:
        with self.lock:
            self._replaying = False
            self._next_try = self._clock() + self.retry_interval

    def _end(self) -> None:
        self.active = False
        self._replaying = False
        lasted = self._clock() - self._since
        logger.warning(
            "session store reachable again after %.1f s; %d writes made meanwhile written back (%d not "
            "stored: their sessions were deleted or their ids taken in Redis meanwhile)%s",
            lasted,
            self._replayed,
            self._not_stored,
            f"; {self._refused} writes refused (fallback full)" if self._refused else "",
        )
        self._memory = MemoryServer()
        self._confirmed.clear()
        self._cache.clear()
        self._recent.clear()
        self._cache_bytes = 0
        if self.observer is not None:
            self.observer.fallback_changed(False)

    # -- reporting --------------------------------------------------------------------------------
    def sessions_held(self) -> int:
        """Sessions this process holds for the fallback: cached, or in the fallback store."""
        with self.lock:
            if self.active:
                return len(self._memory.strings)
            self._absorb()
            return len(self._cache)


def _moved(call: Any, reply: Any) -> bool:
    """Whether `call` was a regenerate (save.lua with a new key) that moved its session."""
    return (
        type(call) is Script
        and call.name == "save"
        and len(call.keys) == 2
        and isinstance(reply, int)
        and reply > 0
    )


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _size(writes: Batch) -> int:
    size = 0
    for call in writes:
        args = call.args if isinstance(call, (Command, Script)) else ()
        size += sum(len(a) if isinstance(a, (bytes, str)) else 8 for a in args)
    return size

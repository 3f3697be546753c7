"""The ``memory://`` backend: an in-process stand-in for Redis that runs the same plans.

It implements the few commands the plans send and the Lua scripts of `_scripts` in Python, with the
same replies, so both backends pass one contract suite. Stores built with the same ``memory://`` URL
in one process share one `MemoryServer`; `key_prefix` separates them as it does in Redis.
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from ._plan import Barrier, Batch, Call, Primaries, Script, Wait
from ._record import Data, Meta, pack, unpack

Reply = Any
_servers: dict[str, MemoryServer] = {}
_servers_lock = threading.Lock()


def server_for(url: str) -> MemoryServer:
    """The process-wide server for `url` (``memory://`` and ``memory://name`` are separate)."""
    with _servers_lock:
        return _servers.setdefault(url.rstrip("/"), MemoryServer())


def _b(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return str(value).encode()


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _change(meta: Meta, data: Data, name: bytes, value: bytes | None) -> None:
    """Apply one save.lua change: ``#<metadata name>`` or ``.<data key>``; None deletes."""
    part = meta if name[:1] == b"#" else data
    field = name[1:].decode("utf-8", "surrogateescape")
    if value is None:
        part.pop(field, None)
    else:
        part[field] = value.decode("utf-8", "surrogateescape")


_BUCKETS = 1024


def _bucket(key: str) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogateescape")) % _BUCKETS


def _glob(pattern: str) -> re.Pattern[str]:
    out = []
    chars = iter(pattern)
    for c in chars:
        if c == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


class MemoryServer:
    """Hashes and sorted sets with millisecond expiry, guarded by one lock."""

    def __init__(self, clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.strings: dict[str, bytes] = {}
        self.zsets: dict[str, dict[bytes, float]] = {}
        self.expires: dict[str, int] = {}

    # -- keyspace ---------------------------------------------------------------------------------
    def _alive(self, key: str) -> bool:
        deadline = self.expires.get(key)
        if deadline is not None and deadline <= self.clock():
            self._del(key)
            return False
        return key in self.strings or key in self.zsets

    def _del(self, key: str) -> int:
        self.expires.pop(key, None)
        found = self.strings.pop(key, None) is not None
        found = self.zsets.pop(key, None) is not None or found
        return int(found)

    def _get(self, key: str) -> bytes | None:
        return self.strings.get(key) if self._alive(key) else None

    def _pexpire(self, key: str, ms: int) -> None:
        self.expires[key] = self.clock() + int(ms)

    def execute(self, batch: Batch) -> list[Reply]:
        with self.lock:
            return [self._call(call) for call in batch]

    def _call(self, call: Call) -> Reply:
        if isinstance(call, Barrier):  # one server runs a batch in order
            return None
        if isinstance(call, Wait):  # no replicas: a write here is as durable as it gets
            return call.replicas
        if isinstance(call, Primaries):
            return [""]
        if isinstance(call, Script):
            method = getattr(self, "script_" + call.name)
            return method(*call.keys, args=[_b(a) for a in call.args])
        name, *args = call.args
        return getattr(self, "cmd_" + name.lower())(*args)

    # -- commands ---------------------------------------------------------------------------------
    def cmd_ping(self) -> bytes:
        return b"PONG"

    def cmd_del(self, *keys: str) -> int:
        return sum(self._del(k) for k in keys if self._alive(k))

    def cmd_get(self, key: str) -> bytes | None:
        return self._get(key)

    def cmd_getex(self, key: str, _px: str, ms: int) -> bytes | None:
        blob = self._get(key)
        if blob is not None:
            self._pexpire(key, ms)
        return blob

    def cmd_set(self, key: str, value: bytes | str, _px: str, ms: int, _nx: str) -> bool | None:
        """SET key value PX ms NX: the only form the plans send."""
        if self._alive(key):
            return None
        self.strings[key] = _b(value)
        self._pexpire(key, ms)
        return True

    def cmd_publish(self, channel: str, message: bytes) -> int:
        """Session events have no subscribers in-process: `memory://` publishes to no one."""
        return 0

    def cmd_exists(self, *keys: str) -> int:
        return sum(1 for k in keys if self._alive(k))

    def cmd_pttl(self, key: str) -> int:
        if not self._alive(key):
            return -2
        deadline = self.expires.get(key)
        return -1 if deadline is None else deadline - self.clock()

    def _zset(self, key: str) -> dict[bytes, float]:
        return self.zsets.get(key, {}) if self._alive(key) else {}

    def cmd_zrangebyscore(self, key: str, low: Any, high: Any) -> list[bytes]:
        lo = float(low)
        hi = float("inf") if high == "+inf" else float(high)
        items = sorted(self._zset(key).items(), key=lambda kv: (kv[1], kv[0]))
        return [m for m, score in items if lo <= score <= hi]

    def cmd_zrange(self, key: str, start: int, stop: int) -> list[bytes]:
        items = sorted(self._zset(key).items(), key=lambda kv: (kv[1], kv[0]))
        stop = len(items) if stop == -1 else stop + 1
        return [m for m, _ in items[start:stop]]

    def cmd_zrem(self, key: str, *members: str) -> int:
        zset = self._zset(key)
        removed = sum(1 for m in members if zset.pop(_b(m), None) is not None)
        if key in self.zsets and not zset:
            self._del(key)
        return removed

    def cmd_scan(self, cursor: str, _m: str, pattern: str, _c: str, count: int) -> list[Any]:
        """SCAN as Redis walks its table: each step returns the keys of `count` buckets (of
        `_BUCKETS`, by a stable hash), however many that is, so a key present for the whole walk is
        returned and re-running a step never brings in keys of another. The cursor is the next
        bucket (0: done)."""
        regex = _glob(pattern)
        start = int(cursor)
        end = min(start + max(1, int(count)), _BUCKETS)
        keys = [k for k in [*self.strings, *self.zsets] if start <= _bucket(k) < end and regex.fullmatch(k)]
        keys = [k for k in keys if self._alive(k)]
        return [_b(end if end < _BUCKETS else 0), [_b(k) for k in keys]]

    # -- scripts (see the .lua files of the same names) --------------------------------------------
    def _expiry(self, meta: Meta, now: int, default_ttl: int, absolute_ttl: int) -> int:
        expires = now + int(meta.get("t", default_ttl))
        if "x" in meta:
            expires = min(expires, int(meta["x"]))
        if absolute_ttl and "c" in meta:
            expires = min(expires, int(meta["c"]) + absolute_ttl)
        return expires

    def _read(self, key: str) -> tuple[Meta, Data] | None:
        """The record at `key`; an unreadable one is deleted (None), as record.lua's `read`."""
        blob = self._get(key)
        if blob is None:
            return None
        try:
            return unpack(blob)
        except ValueError:
            self._del(key)
            return None

    def script_load(self, key: str, *, args: list[bytes]) -> Reply:
        now, default_ttl, absolute_ttl = int(args[0]), int(args[1]), int(args[2])
        blob = self._get(key)
        if blob is None:
            return None
        record = self._read(key)
        if record is None:
            return 0
        expires = self._expiry(record[0], now, default_ttl, absolute_ttl)
        if expires <= now:
            self._del(key)
            return None
        self._pexpire(key, expires - now)
        return blob

    def script_save(self, key: str, new_key: str | None = None, *, args: list[bytes]) -> Reply:
        now, default_ttl, absolute_ttl, max_size = (int(a) for a in args[:4])
        record = self._read(key)
        if record is None:
            return 0
        if new_key is not None and self._alive(new_key):
            return -1
        meta, data = record
        last_set = 6 + 2 * int(args[5])
        for name, value in zip(args[6:last_set:2], args[7:last_set:2], strict=True):
            _change(meta, data, name, value)
        for name in args[last_set:]:
            _change(meta, data, name, None)
        size = sum(len(_raw(k)) + 1 + len(_raw(v)) for k, v in data.items())
        if size > max_size:
            return [-3, size]
        if new_key is not None:
            self._del(key)
            key = new_key
        if args[4] == b"1" and not data and "u" not in meta:
            self._del(key)
            return -2
        expires = self._expiry(meta, now, default_ttl, absolute_ttl)
        if expires <= now:
            self._del(key)
            return 0
        self.strings[key] = pack(meta, data)
        self._pexpire(key, expires - now)
        return expires

    def script_delete_owned(self, key: str, *, args: list[bytes]) -> Reply:
        record = self._read(key)
        owner = args[0].decode("utf-8", "surrogateescape")
        return self._del(key) if record is not None and record[0].get("u") == owner else 0

    def script_index_add(self, key: str, *, args: list[bytes]) -> Reply:
        now, score = int(args[0]), float(args[1])
        self._alive(key)  # drops an expired index first
        zset = self.zsets.setdefault(key, {})
        for member in [m for m, s in zset.items() if s < now]:
            del zset[member]
        for member in args[2:]:
            zset[member] = score
        if not zset:
            self._del(key)
            return 0
        self._pexpire(key, int(max(zset.values())) - now)
        return 1

    # The active-session gauge's shards: three sorted sets (see active_note.lua).
    def script_active_note(self, *keys: str, args: list[bytes]) -> Reply:
        now, default_ttl = int(args[0]), int(args[1])
        expiries, ttls, deadlines = (self.zsets.setdefault(k, {}) for k in keys)
        wrote = False
        for at in range(2, len(args), 3):
            member, mode, rule = args[at], args[at + 1], args[at + 2]
            ttl: float | None = None
            deadline: float | None = None
            if rule == b"?":
                ttl, deadline = ttls.get(member), deadlines.get(member)
            elif rule:
                own_ttl, _, own_deadline = rule.partition(b":")
                ttl = int(own_ttl) if own_ttl else None
                deadline = int(own_deadline) if own_deadline else None
                for zset, value in ((ttls, ttl), (deadlines, deadline)):
                    if value is None:
                        zset.pop(member, None)
                    else:
                        zset[member] = value
            score = now + (ttl if ttl is not None else default_ttl)
            if deadline is not None and deadline < score:
                score = deadline
            if mode == b"w":
                expiries[member] = score
                wrote = True
            elif member in expiries and score > expiries[member]:
                expiries[member] = score
        return self._prune(keys, now, 8) if wrote else 0

    def _prune(self, keys: tuple[str, ...], now: int, limit: int) -> int:
        expiries = self.zsets.get(keys[0], {})
        expired = sorted((score, m) for m, score in expiries.items() if score <= now)[:limit]
        for key in keys:
            zset = self.zsets.get(key, {})
            for _, member in expired:
                zset.pop(member, None)
        return len(expired)

    def script_active_drop(self, *keys: str, args: list[bytes]) -> Reply:
        counted = sum(1 for m in args if m in self.zsets.get(keys[0], {}))
        for key in keys:
            zset = self.zsets.get(key, {})
            for member in args:
                zset.pop(member, None)
        return counted

    def script_active_count(self, *keys: str, args: list[bytes]) -> Reply:
        pruned = self._prune(keys, int(args[0]), int(args[1]))
        return [len(self.zsets.get(keys[0], {})), pruned]


class MemoryDriver:
    """Runs batches on a `MemoryServer`; no I/O, so one class serves sync and async stores."""

    backend = "memory"

    def __init__(self, server: MemoryServer) -> None:
        self.server = server
        self.round_trips = 0

    def execute(self, batch: Batch) -> list[Reply]:
        if not (len(batch) == 1 and isinstance(batch[0], Primaries)):  # answered without a trip
            self.round_trips += 1
        return self.server.execute(batch)

    def close(self) -> None:
        pass


class AsyncMemoryDriver(MemoryDriver):
    """`MemoryDriver` with the async driver's signatures."""

    async def execute(self, batch: Batch) -> list[Reply]:  # type: ignore[override]
        return super().execute(batch)

    async def close(self) -> None:  # type: ignore[override]
        pass

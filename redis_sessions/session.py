"""`Session`: a dict-like view of one session that remembers which keys changed since it was loaded."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from datetime import datetime, timezone
from typing import Any

from ._record import blob_of


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


class Session(MutableMapping[str, Any]):
    """The data of one session (string keys, serializable values) plus its metadata.

    Saves send only what changed: keys set and keys deleted since load. Mutating a nested value
    in place (``session["cart"].append(x)``) is not seen: reassign the key, or set
    ``session.modified = True`` to rewrite every key.
    """

    __slots__ = (
        "_accessed_ms",
        "_clear_requested",
        "_created_ms",
        "_data",
        "_deadline_ms",
        "_decode",
        "_deleted",
        "_expires_ms",
        "_expiry_changed",
        "_id",
        "_is_new",
        "_read",
        "_regenerate_requested",
        "_rewrite",
        "_set",
        "_stored_keys",
        "_stored_user_id",
        "_ttl",
        "_undecoded",
        "_user_id",
    )

    def __init__(
        self,
        session_id: str,
        data: dict[str, Any],
        *,
        user_id: str | None,
        created_ms: int,
        accessed_ms: int,
        expires_ms: int,
        ttl: int | None,
        deadline_ms: int | None,
        is_new: bool,
        decode: Callable[[str], Any] | None = None,
    ) -> None:
        """`data` holds values, or with `decode`, stored values (text) that are decoded when first read
        (a request decodes only the keys it reads)."""
        self._id = session_id
        self._data = data
        self._decode = decode
        self._undecoded: set[str] = set(data) if decode is not None else set()
        self._read: dict[str, str] = {}  # stored text of the values decoded since load
        self._user_id = user_id
        self._stored_user_id = None if is_new else user_id
        self._created_ms = created_ms
        self._accessed_ms = accessed_ms
        self._expires_ms = expires_ms
        self._ttl = ttl
        self._deadline_ms = deadline_ms
        self._is_new = is_new
        self._stored_keys: frozenset[str] = frozenset() if is_new else frozenset(data)
        self._set: set[str] = set(data) if is_new else set()
        self._deleted: set[str] = set()
        self._rewrite = False
        self._expiry_changed = False
        self._regenerate_requested = False
        self._clear_requested = False

    # -- mapping -------------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        if key in self._undecoded:
            assert self._decode is not None
            self._read[key] = value
            value = self._data[key] = self._decode(value)
            self._undecoded.discard(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"session keys are strings, got {type(key).__name__}")
        self._data[key] = value
        self._undecoded.discard(key)
        self._set.add(key)
        self._deleted.discard(key)

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._undecoded.discard(key)
        self._set.discard(key)
        if key in self._stored_keys:
            self._deleted.add(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def clear(self) -> None:
        self._deleted.update(k for k in self._data if k in self._stored_keys)
        self._data.clear()
        self._undecoded.clear()
        self._set.clear()

    def __repr__(self) -> str:
        # Never the full id in logs or tracebacks.
        return f"<Session {self._id[:8]}… keys={sorted(self._data)!r} user_id={self._user_id!r}>"

    # -- metadata ------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The raw session id (never the signed cookie value)."""
        return self._id

    @property
    def user_id(self) -> str | None:
        """The user this session belongs to, kept in the per-user index; set it, then save."""
        return self._user_id

    @user_id.setter
    def user_id(self, value: str | None) -> None:
        if value is not None and (not isinstance(value, str) or not value):
            raise TypeError("user_id must be a non-empty string or None")
        self._user_id = value

    @property
    def created_at(self) -> datetime:
        """When the session was created (aware UTC)."""
        return _utc(self._created_ms)

    @property
    def last_accessed(self) -> datetime:
        """The last time the session was loaded, touched or saved (aware UTC)."""
        return _utc(self._accessed_ms)

    @property
    def expires_at(self) -> datetime:
        """When the session expires unless accessed again (aware UTC)."""
        return _utc(self._expires_ms)

    @property
    def is_new(self) -> bool:
        """True until the session has been stored once."""
        return self._is_new

    @property
    def modified(self) -> bool:
        """True when a save has something to write. Set True after mutating a nested value."""
        return bool(
            self._set
            or self._deleted
            or self._rewrite
            or self._expiry_changed
            or self._user_id != self._stored_user_id
        )

    @modified.setter
    def modified(self, value: bool) -> None:
        self._rewrite = bool(value)
        if not value:
            self._set.clear()
            self._deleted.clear()
            self._user_id = self._stored_user_id

    # -- used by the store ---------------------------------------------------------------------
    def _changes(self) -> tuple[dict[str, Any], set[str]]:
        """Keys to write (with values) and stored keys to remove."""
        if self._rewrite:
            return {k: self[k] for k in self._data}, set(self._stored_keys - self._data.keys())
        return {k: self[k] for k in self._set}, set(self._deleted)

    def _changed_in_place(self, encode: Callable[[Any], bytes]) -> list[str]:
        """Keys read since load, not set since, whose value no longer serializes to what was stored:
        a nested value changed in place (``session["cart"].append(x)``)."""
        return [
            key
            for key, text in self._read.items()
            if key not in self._set and key in self._data and encode(self._data[key]) != blob_of(text)
        ]

    def _mark_saved(self, expires_ms: int, accessed_ms: int) -> None:
        self._is_new = False
        self._stored_keys = frozenset(self._data)
        self._stored_user_id = self._user_id
        self._set.clear()
        self._deleted.clear()
        self._rewrite = False
        self._expiry_changed = False
        self._read.clear()
        self._expires_ms = expires_ms
        self._accessed_ms = accessed_ms

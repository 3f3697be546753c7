"""`Session`: the dict of one session's data, remembering which keys changed since it was loaded."""

from __future__ import annotations

import copy
from collections.abc import Callable, ItemsView, Iterator, ValuesView
from datetime import datetime, timezone
from typing import Any

from ._ids import session_handle
from ._record import blob_of


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


_MISSING: Any = object()


class Session(dict[str, Any]):
    """The data of one session (string keys, serializable values) plus its metadata.

    A `dict`, so it goes wherever a dict does (``json.dumps(session)``, Starlette's
    ``JSONResponse(request.session)``, ``session |= {...}``), as Starlette's own session is. Values
    are decoded from the stored form when first read. Saves send only what changed: keys set and
    keys deleted since load. Mutating a nested value in place (``session["cart"].append(x)``) is not
    seen by itself: reassign the key, or set ``session.modified = True`` and the save writes the
    values that changed in place (as Flask and Django mean it).
    """

    __slots__ = (
        "_accessed",
        "_accessed_ms",
        "_clear_requested",
        "_cookie_signed_s",
        "_created_ms",
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
        dict.__init__(self, data)
        self._id = session_id
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
        self._accessed = False
        self._cookie_signed_s: int | None = None  # when the browser's cookie was signed (epoch s)

    # -- mapping: every dict method that reads a value decodes it, every one that writes records it
    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        if key in self._undecoded:
            assert self._decode is not None
            self._read[key] = value
            value = self._decode(value)
            dict.__setitem__(self, key, value)
            self._undecoded.discard(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if dict.__contains__(self, key) else default

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"session keys are strings, got {type(key).__name__}")
        dict.__setitem__(self, key, value)
        self._undecoded.discard(key)
        self._set.add(key)
        self._deleted.discard(key)

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        self._undecoded.discard(key)
        self._set.discard(key)
        if key in self._stored_keys:
            self._deleted.add(key)

    def __iter__(self) -> Iterator[str]:
        # Defined here so that dict(session) and {**session} read values through __getitem__
        # (CPython copies a dict subclass' storage directly only when it keeps dict's __iter__).
        return dict.__iter__(self)

    def _decode_all(self) -> None:
        for key in list(self._undecoded):
            self[key]

    def items(self) -> ItemsView[str, Any]:  # type: ignore[override]
        self._decode_all()
        return dict.items(self)

    def values(self) -> ValuesView[Any]:  # type: ignore[override]
        self._decode_all()
        return dict.values(self)

    def copy(self) -> dict[str, Any]:
        """A plain dict of the decoded data (so are `copy.copy` and `copy.deepcopy` of a session)."""
        return dict(self.items())

    def __copy__(self) -> dict[str, Any]:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(self.copy(), memo)

    def __eq__(self, other: object) -> bool:
        self._decode_all()
        if isinstance(other, Session):
            other._decode_all()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if not dict.__contains__(self, key):
            if default is _MISSING:
                raise KeyError(key)
            return default
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple[str, Any]:
        if not self:
            raise KeyError("popitem(): session is empty")
        key = next(reversed(dict.keys(self)))
        return key, self.pop(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return self[key]
        self[key] = default
        return default

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> Session:  # type: ignore[override]
        self.update(other)
        return self

    def __or__(self, other: Any) -> dict[str, Any]:  # type: ignore[override]
        if not isinstance(other, dict):
            return NotImplemented
        return {**self.copy(), **other}

    def __ror__(self, other: Any) -> dict[str, Any]:  # type: ignore[override]
        if not isinstance(other, dict):
            return NotImplemented
        return {**other, **self.copy()}

    def clear(self) -> None:
        self._deleted.update(k for k in self if k in self._stored_keys)
        dict.clear(self)
        self._undecoded.clear()
        self._set.clear()

    def __repr__(self) -> str:
        # Never the full id in logs or tracebacks.
        return f"<Session {self._id[:8]}… keys={sorted(self)!r} user_id={self._user_id!r}>"

    def mark_accessed(self) -> None:
        """Note that the request used the session (Starlette's ``request.session`` calls it): the
        response then carries ``Vary: Cookie``."""
        self._accessed = True

    @property
    def accessed(self) -> bool:
        """True once the request used the session (``Vary: Cookie``)."""
        return self._accessed

    # -- metadata ------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The raw session id (never the signed cookie value)."""
        return self._id

    @property
    def handle(self) -> str:
        """A name for this session that is not a bearer token (`redis_sessions.session_handle`),
        for logs, the admin CLI and session events."""
        return session_handle(self._id)

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
        """True when a save may have something to write. Set True after mutating a nested value in
        place: the save then finds the values read since load that changed and writes only them."""
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
        return {k: self[k] for k in self._set}, set(self._deleted)

    def _changed_in_place(self, encode: Callable[[Any], bytes]) -> list[str]:
        """Keys read since load, not set since, whose value no longer serializes to what was stored:
        a nested value changed in place (``session["cart"].append(x)``)."""
        return [
            key
            for key, text in self._read.items()
            if key not in self._set and key in self and encode(dict.__getitem__(self, key)) != blob_of(text)
        ]

    def _mark_saved(self, expires_ms: int, accessed_ms: int) -> None:
        self._is_new = False
        self._stored_keys = frozenset(self)
        self._stored_user_id = self._user_id
        self._set.clear()
        self._deleted.clear()
        self._rewrite = False
        self._expiry_changed = False
        self._read.clear()
        self._expires_ms = expires_ms
        self._accessed_ms = accessed_ms

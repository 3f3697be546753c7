"""The export format of sessions (one JSON object per line) and its validation, for the admin CLI's
``export`` and ``import``.

A line: ``{"id": ..., "user_id": str | null, "created_ms": int, "expires_ms": int, "ttl": int | null,
"deadline_ms": int | null, "data": {...}}`` (times epoch milliseconds; ``ttl`` the session's own idle
timeout in seconds). It carries the live session id: an export file is as secret as the sessions.
"""

from __future__ import annotations

from typing import Any

from ._ids import is_valid_id
from ._plan import Core
from .session import Session

FIELDS = ("id", "user_id", "created_ms", "expires_ms", "ttl", "deadline_ms", "data")


def to_record(session: Session) -> dict[str, Any]:
    """`session` as one export line's object."""
    return {
        "id": session.id,
        "user_id": session.user_id,
        "created_ms": session._created_ms,
        "expires_ms": session._expires_ms,
        "ttl": session._ttl,
        "deadline_ms": session._deadline_ms,
        "data": {key: session[key] for key in session},
    }


def _whole(record: dict[str, Any], name: str, optional: bool = False) -> int | None:
    value = record.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number of milliseconds" if name != "ttl" else "bad ttl")
    return value


def from_record(core: Core, record: Any) -> Session:
    """The session an export line describes, checked field by field. Raises `ValueError` naming
    the first bad field; never stores anything."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}")
    session_id = record.get("id")
    if not isinstance(session_id, str) or not is_valid_id(session_id):
        raise ValueError("id is not a session id of this store's shape")
    user_id = record.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or not user_id):
        raise ValueError("user_id must be a non-empty string or null")
    data = record.get("data")
    if not isinstance(data, dict):
        raise ValueError("data must be a JSON object")
    created, expires = _whole(record, "created_ms"), _whole(record, "expires_ms")
    ttl, deadline = _whole(record, "ttl", optional=True), _whole(record, "deadline_ms", optional=True)
    if ttl == 0:
        raise ValueError("bad ttl")
    assert created is not None and expires is not None
    return core.session_class(
        session_id,
        dict(data),
        user_id=user_id,
        created_ms=created,
        accessed_ms=created,
        expires_ms=expires,
        ttl=ttl,
        deadline_ms=deadline,
        is_new=True,
    )

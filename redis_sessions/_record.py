"""The stored form of one session: a single Redis string of framed fields.

Each field is ``<length>:<name><length>:<value>`` (lengths in bytes, decimal); metadata fields
(names starting with ``#``) come first, data fields (``.<key>``) after. One string keeps a typical
session within one small allocation and comes back from Redis as one bulk reply; the Lua scripts
in `redis_sessions._scripts` read and rewrite the same form (record.lua).
"""

from __future__ import annotations

from collections.abc import Iterable


def frame(fields: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Frame (name, value) pairs; the caller puts metadata fields first."""
    parts: list[bytes] = []
    for name, value in fields:
        parts += (b"%d:" % len(name), name, b"%d:" % len(value), value)
    return b"".join(parts)


def unframe(blob: bytes) -> list[bytes]:
    """The fields of a framed record as a flat list ``[name, value, name, value, ...]``.

    Raises `ValueError` on a blob that is not a well-formed record.
    """
    out: list[bytes] = []
    pos, size = 0, len(blob)
    find = blob.find
    while pos < size:
        colon = find(b":", pos)
        if colon < 0:
            raise ValueError("truncated session record")
        end = colon + 1 + int(blob[pos:colon])
        if end > size:
            raise ValueError("truncated session record")
        out.append(blob[colon + 1 : end])
        pos = end
    if len(out) % 2:
        raise ValueError("session record has a name without a value")
    return out

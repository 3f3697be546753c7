"""The stored form of one session: a single Redis string of framed fields.

Each field is ``<length>:<name><length>:<value>`` (lengths in bytes, decimal); metadata fields
(names starting with ``#``) come first, data fields (``.<key>``) after. One string keeps a typical
session within one small allocation and comes back from Redis as one bulk reply; the Lua scripts
in `redis_sessions._scripts` read and rewrite the same form (record.lua).
"""

from __future__ import annotations

from collections.abc import Iterable

_DATA = ord(".")


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
        if not colon < end <= size:
            raise ValueError("truncated session record")
        out.append(blob[colon + 1 : end])
        pos = end
    if len(out) % 2:
        raise ValueError("session record has a name without a value")
    return out


def read(blob: bytes) -> tuple[dict[bytes, bytes], dict[str, bytes]]:
    """The record split in one pass: ``(metadata, data)``, metadata by field name (``b"#c"``, ...),
    data by key (the name without its ``.``, decoded as UTF-8).

    Raises `ValueError` on a blob that is not a well-formed record.
    """
    meta: dict[bytes, bytes] = {}
    data: dict[str, bytes] = {}
    pos, size = 0, len(blob)
    find = blob.find
    try:
        while pos < size:
            colon = find(b":", pos)
            start = colon + 1
            end = start + int(blob[pos:colon])
            name = blob[start:end]
            colon = find(b":", end)
            start = colon + 1
            pos = start + int(blob[end:colon])
            if colon < 0 or not start <= pos <= size:
                raise ValueError("truncated session record")
            if name[0] == _DATA:
                data[name[1:].decode()] = blob[start:pos]
            else:
                meta[name] = blob[start:pos]
    except IndexError:
        raise ValueError("session record has an empty field name") from None
    return meta, data

"""The stored form of one session: a single Redis string holding the msgpack array
``[metadata, data]``.

Both are maps of strings: metadata by short name (`redis_sessions._layout`), data by session key
with each value serialized by the configured codec. Every string is the msgpack ``str`` type, as
Redis' Lua ``cmsgpack`` writes it, so the scripts in `redis_sessions._scripts` read and rewrite the
same form; bytes that are not UTF-8 come back as text with surrogate escapes (`blob_of` restores
them). Redis' ``cmsgpack`` writes an empty map as an empty array: both read as ``{}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack

Meta = dict[str, str]
Data = dict[str, str]


def pack(meta: Mapping[str, str], data: Mapping[str, bytes | str]) -> bytes:
    """The record of `meta` and `data` (values serialized already)."""
    return msgpack.packb([meta, data], use_bin_type=False)  # type: ignore[no-any-return]


def unpack(record: bytes) -> tuple[Meta, Data]:
    """``(metadata, data)`` of a record; values stay serialized, as text.

    Raises `ValueError` on bytes that are not a record.
    """
    try:
        meta, data = msgpack.unpackb(record, raw=False, unicode_errors="surrogateescape")
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise ValueError(f"not a session record: {exc}") from None
    return _mapping(meta), _mapping(data)


def _mapping(part: Any) -> dict[str, str]:
    if type(part) is dict:
        return part
    if part == []:
        return {}
    raise ValueError("not a session record: expected a map")


def blob_of(text: str) -> bytes:
    """The exact bytes of a value read from a record."""
    return text.encode("utf-8", "surrogateescape")

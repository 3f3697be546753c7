"""The stored record form (`redis_sessions._record`), which the Lua scripts read and write too."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from redis_sessions._record import blob_of, pack, unpack

TEXT = st.text(max_size=20)
VALUES = st.binary(max_size=200)


@given(st.dictionaries(TEXT, TEXT, max_size=6), st.dictionaries(TEXT, VALUES, max_size=12))
def test_unpack_gives_back_what_pack_got_values_as_exact_bytes(
    meta: dict[str, str], data: dict[str, bytes]
) -> None:
    got_meta, got_data = unpack(pack(meta, data))
    assert got_meta == meta
    assert {key: blob_of(value) for key, value in got_data.items()} == data


def test_every_string_is_msgpack_str_as_redis_lua_cmsgpack_writes_it() -> None:
    assert pack({"c": "17"}, {"k": b"1"}) == b"\x92\x81\xa1c\xa217\x81\xa1k\xa11"


def test_empty_maps_written_as_empty_arrays_read_as_empty() -> None:
    assert unpack(msgpack.packb([[], []])) == ({}, {})


@pytest.mark.parametrize(
    "blob", [b"", b"\xc1", b"\x92\x80", b"\x92\x80\x80\x80", b"\x93\x80\x80\x80", b"\x92\x01\x80", b"\xa3abc"]
)
def test_anything_else_raises_value_error(blob: bytes) -> None:
    with pytest.raises(ValueError):
        unpack(blob)

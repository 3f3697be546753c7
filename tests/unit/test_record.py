"""The stored record form (`redis_sessions._record`), which load.lua and save.lua read too."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redis_sessions._record import frame, read, unframe

FIELDS = st.lists(st.tuples(st.binary(max_size=40), st.binary(max_size=200)), max_size=12)


@given(FIELDS)
def test_unframe_gives_back_what_frame_got(fields: list[tuple[bytes, bytes]]) -> None:
    assert unframe(frame(fields)) == [part for pair in fields for part in pair]


def test_the_form_is_length_prefixed_and_binary_safe() -> None:
    assert frame([(b"#c", b"17"), (b".k", b"a:b\x00")]) == b"2:#c2:172:.k4:a:b\x00"


@pytest.mark.parametrize("blob", [b"5:ab", b"x:ab", b"2:#c", b"2:#c9:1", b"3"])
def test_a_malformed_record_raises_value_error(blob: bytes) -> None:
    with pytest.raises(ValueError):
        unframe(blob)


NAMES = st.one_of(
    st.binary(min_size=1, max_size=20).map(lambda b: b"#" + b),
    st.text(max_size=20).map(lambda t: b"." + t.encode()),
)


@given(st.lists(st.tuples(NAMES, st.binary(max_size=200)), max_size=12))
def test_read_splits_metadata_from_data_as_unframe_does(fields: list[tuple[bytes, bytes]]) -> None:
    meta, data = read(frame(fields))
    assert meta == {name: value for name, value in fields if name[:1] == b"#"}
    assert data == {name[1:].decode(): value for name, value in fields if name[:1] == b"."}


@pytest.mark.parametrize(
    "blob", [b"5:ab", b"x:ab", b"2:#c", b"2:#c9:1", b"3", b"0:2:ab", b"2:#c-1:", b"2:.\xff1:x"]
)
def test_read_raises_value_error_on_a_malformed_record(blob: bytes) -> None:
    with pytest.raises(ValueError):
        read(blob)

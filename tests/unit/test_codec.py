"""Value codecs (`redis_sessions._codec`): what goes in comes back; bad stored bytes raise our error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redis_sessions._codec import codec
from redis_sessions.errors import SerializationError

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(JSON_VALUES)
def test_json_round_trips(value: Any) -> None:
    encode, decode = codec("json")
    assert decode(encode(value).decode()) == value  # stored values are read back as text


@pytest.mark.parametrize(("text", "value"), [(' {"a": [1, 2]} ', {"a": [1, 2]}), ("\n7", 7)])
def test_json_written_by_other_tools_with_whitespace_still_decodes(text: str, value: Any) -> None:
    assert codec("json")[1](text) == value


@pytest.mark.parametrize("text", ["", "1 2", '"a"x', "{", "\udcff", "[1,]"])
def test_bad_stored_json_raises_serialization_error(text: str) -> None:
    with pytest.raises(SerializationError):
        codec("json")[1](text)


@given(st.binary(max_size=50) | st.integers(-(2**63), 2**64 - 1) | st.lists(st.text(), max_size=3))
def test_msgpack_round_trips_through_the_record_text_form(value: Any) -> None:
    encode, decode = codec("msgpack")
    assert decode(encode(value).decode("utf-8", "surrogateescape")) == value

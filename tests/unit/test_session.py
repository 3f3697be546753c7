"""`Session` is a dict (as Starlette's session is): every dict operation sees decoded values and
every write is tracked for the save."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from redis_sessions import Session
from redis_sessions._codec import codec

encode, decode = codec("json")


def loaded(data: dict[str, Any]) -> Session:
    """A session as a load makes it: values still in their stored (serialized) form."""
    stored = {k: encode(v).decode() for k, v in data.items()}
    return Session(
        "abcdABCD0123456789-_abcdefg",
        stored,
        user_id=None,
        created_ms=0,
        accessed_ms=0,
        expires_ms=1,
        ttl=None,
        deadline_ms=None,
        is_new=False,
        decode=decode,
    )


DATA = {"cart": [1, 2], "name": "Ada", "n": 3}


@pytest.mark.parametrize(
    "read",
    [
        dict,
        lambda s: {**s},
        lambda s: json.loads(json.dumps(s)),
        lambda s: dict(s.items()),
        lambda s: dict(zip(s.keys(), s.values(), strict=True)),
        lambda s: s.copy(),
        copy.copy,
        copy.deepcopy,
        lambda s: {k: s[k] for k in s},
        lambda s: {k: s.get(k) for k in s},
        lambda s: s | {},
        lambda s: {} | s,
    ],
)
def test_every_way_of_reading_sees_decoded_values(read: Any) -> None:
    session = loaded(DATA)
    assert read(session) == DATA
    assert not session.modified


def test_equality_compares_decoded_values() -> None:
    assert loaded(DATA) == DATA
    assert loaded(DATA) == loaded(DATA)
    assert loaded(DATA) != {**DATA, "n": 4}
    assert isinstance(loaded(DATA), dict)


@pytest.mark.parametrize(
    ("change", "written", "deleted"),
    [
        (lambda s: s.__setitem__("n", 4), {"n"}, set()),
        (lambda s: s.update({"n": 4}, extra=1), {"n", "extra"}, set()),
        (lambda s: s.__ior__({"extra": 1}), {"extra"}, set()),
        (lambda s: s.setdefault("extra", 1), {"extra"}, set()),
        (lambda s: s.setdefault("n", 99), set(), set()),
        (lambda s: s.pop("n"), set(), {"n"}),
        (lambda s: s.pop("missing", None), set(), set()),
        (lambda s: s.popitem(), set(), {"n"}),
        (lambda s: s.__delitem__("name"), set(), {"name"}),
        (lambda s: s.clear(), set(), set(DATA)),
    ],
)
def test_every_way_of_writing_is_tracked(change: Any, written: set[str], deleted: set[str]) -> None:
    session = loaded(DATA)
    change(session)
    to_set, to_delete = session._changes()
    assert set(to_set) == written
    assert to_delete == deleted
    assert session.modified == bool(written or deleted)


def test_pop_and_popitem_return_decoded_values() -> None:
    session = loaded(DATA)
    assert session.popitem() == ("n", 3)
    assert session.pop("cart") == [1, 2]
    with pytest.raises(KeyError):
        session.pop("cart")
    with pytest.raises(KeyError):
        loaded({}).popitem()


def test_keys_must_be_strings() -> None:
    session = loaded({})
    with pytest.raises(TypeError):
        session[1] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        session.update({1: "x"})


def test_repr_shows_no_full_id_and_no_values() -> None:
    text = repr(loaded({"secret": "s3cr3t"}))
    assert "abcdABCD0123456789-_abcdefg" not in text and "s3cr3t" not in text

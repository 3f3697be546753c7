"""A stored value that cannot be decoded is no session: removed with one WARNING (never the id),
and a fresh session is served; never a 500 on every request while each load slides its TTL."""

from __future__ import annotations

import logging

import msgpack
import pytest

from redis_sessions._ids import new_session_id
from tests.contract._stores import AnyStore, Backend

pytestmark = pytest.mark.anyio

UNREADABLE = {
    "garbage": b"\xc1\xc1 not msgpack",
    "another program's json": b'{"user": 1}',
    "msgpack, not a record": msgpack.packb({"a": 1}),
    "a record of the wrong shape": msgpack.packb([1, 2]),
    "empty": b"",
}


@pytest.mark.parametrize("kind", list(UNREADABLE))
@pytest.mark.parametrize("own_expiry", [False, True], ids=["getex", "load-script"])
async def test_an_unreadable_record_is_no_session_and_is_removed(
    store: AnyStore, backend: Backend, caplog: pytest.LogCaptureFixture, kind: str, own_expiry: bool
) -> None:
    session_id = new_session_id(own_expiry=own_expiry)
    backend.put_raw(session_id, UNREADABLE[kind])

    with caplog.at_level(logging.WARNING, logger="redis_sessions"):
        assert await store.get(session_id) is None
    if kind != "empty":  # an empty value reads as missing: nothing to report
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert session_id not in caplog.text and session_id[4:] not in caplog.text
    assert not backend.has_key(session_id) or kind == "empty"
    assert await store.get(session_id) is None
    assert (await store.list_sessions()).sessions == []


async def test_saving_over_an_unreadable_record_stores_nothing(store: AnyStore, backend: Backend) -> None:
    session = await store.create({"a": 1})
    backend.put_raw(session.id, b"\xc1 corrupt")
    session["a"] = 2
    assert await store.save(session) is False  # gone: nothing stored, no error reply
    assert not backend.has_key(session.id)

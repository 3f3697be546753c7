"""create, get, delete, exists, touch, ttl and the session's metadata, on every store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.contract._stores import AnyStore, StoreFactory, loaded, ttl_of

pytestmark = pytest.mark.anyio

UNKNOWN_ID = "abcd" + "A" * 22  # the shape of an id, never issued
NOT_IDS = ["", "nope", "x" * 200, "abcd.efgh", "../../etc/passwd", "{abcd}" + "A" * 22, "é" * 26]


async def test_create_persists_data_at_once(store: AnyStore, make_store: StoreFactory) -> None:
    data: dict[str, Any] = {
        "int": 1,
        "big": 2**53,
        "float": 0.5,
        "text": "héllo ☃ \x00 end",
        "list": [1, "two", None, True],
        "nested": {"a": {"b": [False]}},
        "empty": "",
    }
    session = await store.create(data)
    assert dict(session) == data

    other = make_store()  # a second store on the same backend and prefix reads it back
    copy = await loaded(other, session.id)
    assert dict(copy) == data
    assert copy.id == session.id
    assert await other.exists(session.id)


async def test_unusual_keys_round_trip(store: AnyStore) -> None:
    data = {"": 0, "#c": 1, "#u": 2, ".dot": 3, "ключ": 4, "a b\n": 5, "{tag}": 6, "x" * 300: 7}
    session = await store.create(data)
    assert dict(await loaded(store, session.id)) == data
    copy = await loaded(store, session.id)
    for key in list(copy):
        copy[key] = copy[key] + 100
    del copy["#c"]
    assert await store.save(copy)
    expected = {key: value + 100 for key, value in data.items() if key != "#c"}
    stored = await loaded(store, session.id)
    assert dict(stored) == expected
    assert stored.user_id is None  # a data key named like a metadata field stays data
    assert stored.created_at == session.created_at


async def test_create_without_data_stores_an_empty_session(store: AnyStore) -> None:
    session = await store.create()
    assert dict(session) == {}
    assert await store.exists(session.id)
    assert dict(await loaded(store, session.id)) == {}


async def test_create_copies_the_data_it_is_given(store: AnyStore) -> None:
    data = {"a": 1}
    session = await store.create(data)
    data["b"] = 2
    assert "b" not in session
    assert dict(await loaded(store, session.id)) == {"a": 1}


async def test_create_gives_fresh_raw_ids(store: AnyStore) -> None:
    sessions = [await store.create() for _ in range(20)]
    ids = {s.id for s in sessions}
    assert len(ids) == 20
    for session_id in ids:
        assert "." not in session_id  # the raw id, never the signed cookie value
        assert session_id.isascii()
        assert store.config.key_prefix not in session_id


async def test_create_with_user_id_binds_the_session(store: AnyStore) -> None:
    session = await store.create({"a": 1}, user_id="u1")
    assert session.user_id == "u1"
    assert (await loaded(store, session.id)).user_id == "u1"
    assert [s.id for s in await store.sessions_for_user("u1")] == [session.id]


async def test_create_without_user_id_binds_nothing(store: AnyStore) -> None:
    session = await store.create({"a": 1})
    assert session.user_id is None
    assert (await loaded(store, session.id)).user_id is None


async def test_create_with_own_ttl_keeps_that_idle_timeout(make_store: StoreFactory) -> None:
    store = make_store(ttl=1000)
    own = await store.create({"a": 1}, ttl=20)
    default = await store.create({"a": 1})

    assert 15 < await ttl_of(store, own.id) <= 20
    assert 990 < await ttl_of(store, default.id) <= 1000
    now = datetime.now(timezone.utc)
    assert own.expires_at <= now + timedelta(seconds=21)

    # From then on every slide goes to the session's own timeout, not the store's.
    copy = await loaded(store, own.id)
    assert 15 < await ttl_of(store, own.id) <= 20
    assert copy.expires_at <= datetime.now(timezone.utc) + timedelta(seconds=21)
    copy["b"] = 2
    assert await store.save(copy)
    assert 15 < await ttl_of(store, own.id) <= 20
    assert await store.touch(own.id)
    assert 15 < await ttl_of(store, own.id) <= 20


async def test_own_ttl_survives_other_stores_settings(make_store: StoreFactory) -> None:
    store = make_store(ttl=1000)
    other = make_store(ttl=50)
    own = await store.create(ttl=20)
    assert await other.get(own.id) is not None
    assert 15 < await ttl_of(store, own.id) <= 20


async def test_get_slides_the_ttl_to_the_full_idle_timeout(make_store: StoreFactory) -> None:
    store = make_store(ttl=1000)
    short = make_store(ttl=10)  # same backend and prefix: its `get` slides to 10 s, lowering the TTL
    session = await store.create({"a": 1})
    assert 990 < await ttl_of(store, session.id) <= 1000

    assert await short.get(session.id) is not None
    assert await ttl_of(store, session.id) <= 10

    copy = await loaded(store, session.id)
    assert 990 < await ttl_of(store, session.id) <= 1000
    assert copy.expires_at > datetime.now(timezone.utc) + timedelta(seconds=990)
    assert dict(copy) == {"a": 1}


async def test_save_slides_the_ttl(make_store: StoreFactory) -> None:
    store = make_store(ttl=1000)
    short = make_store(ttl=10)
    session = await store.create({"a": 1})
    copy = await loaded(store, session.id)
    assert await short.get(session.id) is not None
    assert await ttl_of(store, session.id) <= 10

    copy["a"] = 2
    assert await store.save(copy)
    assert 990 < await ttl_of(store, session.id) <= 1000


async def test_touch_slides_the_ttl_without_loading(make_store: StoreFactory) -> None:
    store = make_store(ttl=1000)
    short = make_store(ttl=10)
    session = await store.create({"a": 1})
    assert await short.touch(session.id)
    assert await ttl_of(store, session.id) <= 10

    assert await store.touch(session.id)
    assert 990 < await ttl_of(store, session.id) <= 1000
    assert dict(await loaded(store, session.id)) == {"a": 1}


async def test_exists_and_ttl_do_not_change_the_ttl(make_store: StoreFactory) -> None:
    store = make_store(ttl=1000)
    short = make_store(ttl=10)
    session = await store.create({"a": 1})
    assert await short.get(session.id) is not None

    assert await store.exists(session.id)
    assert await ttl_of(store, session.id) <= 10
    assert await ttl_of(store, session.id) <= 10


async def test_missing_sessions(store: AnyStore) -> None:
    for session_id in [UNKNOWN_ID, *NOT_IDS]:
        assert await store.get(session_id) is None, session_id
        assert await store.exists(session_id) is False, session_id
        assert await store.touch(session_id) is False, session_id
        assert await store.ttl(session_id) is None, session_id
        assert await store.delete(session_id) is False, session_id
    assert await store.count() == 0  # touching a missing id created nothing


async def test_delete(store: AnyStore) -> None:
    session = await store.create({"a": 1})
    keep = await store.create({"b": 1})

    assert await store.delete(session.id) is True
    assert await store.get(session.id) is None
    assert await store.exists(session.id) is False
    assert await store.ttl(session.id) is None
    assert await store.touch(session.id) is False
    assert await store.delete(session.id) is False
    assert await store.exists(keep.id)


async def test_metadata_of_a_created_session(make_store: StoreFactory) -> None:
    store = make_store(ttl=600)
    before = datetime.now(timezone.utc)
    session = await store.create({"a": 1})
    after = datetime.now(timezone.utc)

    for stamp in (session.created_at, session.last_accessed, session.expires_at):
        assert isinstance(stamp, datetime)
        assert stamp.tzinfo is not None
        assert stamp.utcoffset() == timedelta(0)
    slack = timedelta(seconds=1)
    assert before - slack <= session.created_at <= after + slack
    assert session.created_at <= session.last_accessed <= after + slack
    lifetime = (session.expires_at - session.created_at).total_seconds()
    assert lifetime == pytest.approx(600, abs=1)
    assert session.is_new is False  # stored at once: is_new is True only until the first store
    assert session.modified is False


async def test_metadata_of_a_loaded_session(make_store: StoreFactory) -> None:
    store = make_store(ttl=600)
    session = await store.create({"a": 1})
    copy = await loaded(store, session.id)

    assert copy.created_at == session.created_at
    for stamp in (copy.created_at, copy.last_accessed, copy.expires_at):
        assert stamp.utcoffset() == timedelta(0)
    assert copy.last_accessed >= session.created_at
    now = datetime.now(timezone.utc)
    assert now + timedelta(seconds=590) < copy.expires_at <= now + timedelta(seconds=601)
    assert copy.is_new is False
    assert copy.modified is False


async def test_last_accessed_moves_with_each_access(store: AnyStore) -> None:
    session = await store.create({"a": 1})
    first = await loaded(store, session.id)
    second = await loaded(store, session.id)
    assert second.last_accessed >= first.last_accessed >= session.created_at
    assert second.created_at == first.created_at

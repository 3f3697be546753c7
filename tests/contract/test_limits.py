"""max_size, serializability, the absolute deadline and real expiry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import pytest

from redis_sessions import SerializationError, SessionError, SessionTooLarge
from tests.contract._stores import AnyStore, Backend, StoreFactory, loaded, ttl_of

pytestmark = pytest.mark.anyio

UNSERIALIZABLE: list[Any] = [
    "lone surrogate \ud800",
    object(),
    {1, 2},
    b"bytes",
    datetime(2024, 1, 1, tzinfo=timezone.utc),
    float("nan"),
    float("inf"),
    {"nested": [object()]},
]


async def test_create_too_large_raises_and_stores_nothing(make_store: StoreFactory) -> None:
    store = make_store(max_size=300)
    with pytest.raises(SessionTooLarge) as caught:
        await store.create({"blob": "x" * 400}, user_id="u1")
    assert isinstance(caught.value, SessionError)
    assert caught.value.max_size == 300
    assert caught.value.size > 300
    assert await store.count() == 0
    assert await store.sessions_for_user("u1") == []


async def test_save_too_large_raises_and_keeps_the_stored_session(make_store: StoreFactory) -> None:
    store = make_store(max_size=300)
    session = await store.create({"a": 1})
    copy = await loaded(store, session.id)
    copy["a"] = 2
    copy["blob"] = "x" * 400
    with pytest.raises(SessionTooLarge):
        await store.save(copy)
    assert dict(await loaded(store, session.id)) == {"a": 1}


async def test_max_size_counts_the_whole_session_not_just_the_change(
    make_store: StoreFactory,
) -> None:
    store = make_store(max_size=300)
    session = await store.create({"a": "x" * 200})  # fits
    copy = await loaded(store, session.id)
    copy["b"] = "y" * 200  # fits alone, not together with "a"
    with pytest.raises(SessionTooLarge):
        await store.save(copy)
    assert dict(await loaded(store, session.id)) == {"a": "x" * 200}


async def test_session_just_under_max_size_is_stored(make_store: StoreFactory) -> None:
    store = make_store(max_size=300)
    session = await store.create({"blob": "x" * 250})
    assert dict(await loaded(store, session.id)) == {"blob": "x" * 250}


@pytest.mark.parametrize("value", UNSERIALIZABLE, ids=repr)
async def test_create_unserializable_raises_and_stores_nothing(store: AnyStore, value: Any) -> None:
    with pytest.raises(SerializationError) as caught:
        await store.create({"ok": 1, "bad": value}, user_id="u1")
    assert isinstance(caught.value, SessionError)
    assert await store.count() == 0
    assert await store.sessions_for_user("u1") == []


@pytest.mark.parametrize("value", UNSERIALIZABLE[:4], ids=repr)
async def test_save_unserializable_raises_and_stores_nothing(store: AnyStore, value: Any) -> None:
    session = await store.create({"a": 1})
    copy = await loaded(store, session.id)
    copy["a"] = 2
    copy["ok"] = "fine"
    copy["bad"] = value
    with pytest.raises(SerializationError):
        await store.save(copy)
    assert dict(await loaded(store, session.id)) == {"a": 1}


@pytest.mark.parametrize("key", [1, None], ids=repr)
async def test_create_with_a_non_string_key_raises_type_error_and_stores_nothing(
    store: AnyStore, key: Any
) -> None:
    with pytest.raises(TypeError):
        await store.create({"ok": 1, key: "value"})
    assert await store.count() == 0


async def test_unencodable_key_raises_serialization_error_and_stores_nothing(
    store: AnyStore,
) -> None:
    with pytest.raises(SerializationError):
        await store.create({"ok": 1, "lone surrogate \ud800": 1})
    assert await store.count() == 0


async def test_setting_a_non_string_key_raises_type_error(store: AnyStore) -> None:
    session = await store.create()
    with pytest.raises(TypeError):
        session[1] = "value"  # type: ignore[index]
    assert dict(session) == {}


async def test_absolute_ttl_caps_expiry(make_store: StoreFactory) -> None:
    store = make_store(ttl=1000, absolute_ttl=30)
    session = await store.create({"a": 1})
    deadline = session.created_at + timedelta(seconds=30)

    assert session.expires_at <= deadline
    assert 25 < await ttl_of(store, session.id) <= 30

    copy = await loaded(store, session.id)  # get slides, but never past the deadline
    assert copy.expires_at <= deadline
    assert await ttl_of(store, session.id) <= 30
    assert await store.touch(session.id)
    assert await ttl_of(store, session.id) <= 30
    copy["a"] = 2
    assert await store.save(copy)
    assert await ttl_of(store, session.id) <= 30
    assert copy.expires_at <= deadline


async def test_idle_ttl_applies_when_shorter_than_the_absolute_ttl(
    make_store: StoreFactory,
) -> None:
    store = make_store(ttl=10, absolute_ttl=1000)
    session = await store.create()
    assert await ttl_of(store, session.id) <= 10
    assert session.expires_at <= datetime.now(timezone.utc) + timedelta(seconds=10)
    await store.get(session.id)
    assert await ttl_of(store, session.id) <= 10


async def test_own_ttl_is_capped_by_the_absolute_ttl(make_store: StoreFactory) -> None:
    store = make_store(ttl=10, absolute_ttl=30)
    session = await store.create(ttl=500)
    assert 25 < await ttl_of(store, session.id) <= 30
    assert await store.get(session.id) is not None
    assert await ttl_of(store, session.id) <= 30


async def test_sessions_really_expire(make_store: StoreFactory, backend: Backend) -> None:
    """Real expiry, one short wait for both timeouts: idle (own ttl) and absolute."""
    store = make_store(ttl=1000)
    capped = make_store(ttl=1000, absolute_ttl=1)
    idle = await store.create({"a": 1}, ttl=1, user_id="u1")
    keeper = await store.create({"b": 1}, user_id="u1")
    absolute = await capped.create({"c": 1})
    inflight = await loaded(store, idle.id)

    await anyio.sleep(0.5)
    assert await capped.get(absolute.id) is not None  # activity does not extend the deadline
    await anyio.sleep(0.8)

    assert await store.get(idle.id) is None
    assert await store.exists(idle.id) is False
    assert await store.ttl(idle.id) is None
    assert await store.touch(idle.id) is False
    assert await capped.get(absolute.id) is None
    assert await capped.exists(absolute.id) is False

    inflight["a"] = 2
    assert await store.save(inflight) is False  # an expired session is not brought back either
    assert await store.exists(idle.id) is False

    assert [s.id for s in await store.sessions_for_user("u1")] == [keeper.id]
    assert backend.index_members("u1") == {keeper.id}
    assert {s.id for s in (await store.list_sessions()).sessions} == {keeper.id}
    assert await store.count() == 1


async def test_max_size_holds_for_the_merged_record_not_only_the_requests_copy(
    make_store: StoreFactory,
) -> None:
    store = make_store(max_size=1000)
    session = await store.create({"a": 1})
    first, second = await loaded(store, session.id), await loaded(store, session.id)
    first["big1"] = "x" * 600  # each request's own copy stays under the limit...
    second["big2"] = "y" * 600
    assert await store.save(first)
    with pytest.raises(SessionTooLarge) as caught:  # ...but the stored record would not
        await store.save(second)
    assert caught.value.size > 1000 and caught.value.max_size == 1000
    stored = await loaded(store, session.id)
    assert sorted(stored) == ["a", "big1"]  # nothing of the refused save was stored


async def test_a_regenerate_refused_for_size_keeps_the_session_under_its_id(make_store: StoreFactory) -> None:
    store = make_store(max_size=1000)
    session = await store.create({"a": 1})
    other = await loaded(store, session.id)
    other["big1"] = "x" * 600
    assert await store.save(other)
    session["big2"] = "y" * 600
    with pytest.raises(SessionTooLarge):
        await store.regenerate(session)
    assert sorted(await loaded(store, session.id)) == ["a", "big1"]

"""save and regenerate: only changes travel, concurrent copies merge, nothing comes back from the dead."""

from __future__ import annotations

import anyio
import pytest

from redis_sessions import SessionError
from tests.contract._stores import AnyStore, Backend, StoreFactory, loaded, ttl_of

pytestmark = pytest.mark.anyio


async def test_save_stores_set_and_deleted_keys(store: AnyStore) -> None:
    session = await store.create({"a": 1, "b": 2, "c": 3})
    copy = await loaded(store, session.id)
    copy["a"] = 10
    copy["d"] = {"new": True}
    del copy["b"]
    assert await store.save(copy) is True
    assert copy.modified is False
    assert dict(await loaded(store, session.id)) == {"a": 10, "c": 3, "d": {"new": True}}


async def test_save_of_the_created_object_stores_later_changes(store: AnyStore) -> None:
    session = await store.create({"a": 1})
    session["b"] = 2
    del session["a"]
    assert await store.save(session)
    assert dict(await loaded(store, session.id)) == {"b": 2}


async def test_many_keys_set_and_deleted_in_one_save(make_store: StoreFactory) -> None:
    store = make_store(max_size=1_000_000)
    session = await store.create({f"k{n}": n for n in range(700)})
    copy = await loaded(store, session.id)
    for n in range(0, 700, 2):
        copy[f"k{n}"] = -n
    for n in range(1, 700, 4):
        del copy[f"k{n}"]
    for n in range(700, 1000):
        copy[f"k{n}"] = n
    assert await store.save(copy)
    assert dict(await loaded(store, session.id)) == dict(copy)
    assert len(copy) == 1000 - 175


async def test_key_deleted_then_set_again_is_stored(store: AnyStore) -> None:
    session = await store.create({"a": 1, "b": 1})
    copy = await loaded(store, session.id)
    del copy["a"]
    copy["a"] = 3
    copy["b"] = 4
    del copy["b"]
    assert await store.save(copy)
    assert dict(await loaded(store, session.id)) == {"a": 3}


async def test_clear_then_save_removes_every_key(store: AnyStore) -> None:
    session = await store.create({"a": 1, "b": 2})
    copy = await loaded(store, session.id)
    copy.clear()
    assert copy.modified
    assert await store.save(copy)
    assert dict(await loaded(store, session.id)) == {}


async def test_modified_tracks_pending_changes(store: AnyStore) -> None:
    session = await store.create({"a": 1})
    copy = await loaded(store, session.id)
    assert copy.modified is False
    _ = copy["a"], list(copy), len(copy), "a" in copy  # reading changes nothing
    assert copy.modified is False
    copy["a"] = 2
    assert copy.modified is True
    assert await store.save(copy)
    assert copy.modified is False
    del copy["a"]
    assert copy.modified is True
    assert await store.save(copy)
    assert copy.modified is False
    copy.user_id = "u1"
    assert copy.modified is True
    assert await store.save(copy)
    assert copy.modified is False


async def test_nested_mutation_is_saved_after_setting_modified(store: AnyStore) -> None:
    session = await store.create({"cart": [1], "other": "x"})
    copy = await loaded(store, session.id)
    copy["cart"].append(2)
    assert copy.modified is False  # documented: in-place mutation of a value is not seen
    copy.modified = True
    assert copy.modified is True
    assert await store.save(copy)
    assert dict(await loaded(store, session.id)) == {"cart": [1, 2], "other": "x"}


async def test_concurrent_copies_changing_different_keys_both_keep_their_change(
    store: AnyStore,
) -> None:
    session = await store.create({"a": 1, "b": 1, "gone": 1, "keep": 1})
    one = await loaded(store, session.id)
    two = await loaded(store, session.id)

    one["a"] = 2
    two["b"] = 2
    del two["gone"]
    assert await store.save(one)
    assert await store.save(two)

    assert dict(await loaded(store, session.id)) == {"a": 2, "b": 2, "keep": 1}


async def test_many_concurrent_copies_each_keep_their_key(store: AnyStore) -> None:
    session = await store.create({"base": 0})
    copies = [await loaded(store, session.id) for _ in range(20)]
    results: list[bool] = []

    async def change(n: int) -> None:
        copies[n][f"k{n}"] = n
        results.append(await store.save(copies[n]))

    async with anyio.create_task_group() as group:
        for n in range(20):
            group.start_soon(change, n)

    assert results == [True] * 20
    assert dict(await loaded(store, session.id)) == {"base": 0} | {f"k{n}": n for n in range(20)}


async def test_unmodified_stale_copy_does_not_overwrite_newer_values(store: AnyStore) -> None:
    session = await store.create({"a": 1, "b": 1})
    stale = await loaded(store, session.id)
    fresh = await loaded(store, session.id)
    fresh["a"] = 5
    del fresh["b"]
    assert await store.save(fresh)

    assert await store.save(stale)  # nothing changed in this copy: nothing of it is written
    assert dict(await loaded(store, session.id)) == {"a": 5}


async def test_save_after_delete_stores_nothing(store: AnyStore) -> None:
    session = await store.create({"a": 1})
    inflight = await loaded(store, session.id)
    assert await store.delete(session.id)

    inflight["a"] = 2
    inflight["b"] = 3
    assert await store.save(inflight) is False
    assert await store.exists(session.id) is False
    assert await store.get(session.id) is None
    assert await store.count() == 0


async def test_unmodified_save_after_delete_stores_nothing(store: AnyStore) -> None:
    session = await store.create({"a": 1})
    assert await store.delete(session.id)
    assert await store.save(session) is False
    assert await store.exists(session.id) is False


async def test_save_after_logout_everywhere_stores_nothing(store: AnyStore) -> None:
    session = await store.create({"a": 1}, user_id="u1")
    inflight = await loaded(store, session.id)
    assert await store.delete_user_sessions("u1") == 1

    inflight["a"] = 2
    assert await store.save(inflight) is False
    assert await store.exists(session.id) is False
    assert await store.sessions_for_user("u1") == []


async def test_regenerate_moves_data_and_user_to_a_fresh_id(store: AnyStore, backend: Backend) -> None:
    session = await store.create({"a": 1, "b": [2]}, user_id="u1")
    old_id = session.id

    moved = await store.regenerate(session)
    assert moved.id != old_id
    assert dict(moved) == {"a": 1, "b": [2]}
    assert moved.user_id == "u1"
    assert moved.modified is False

    assert await store.get(old_id) is None
    assert await store.exists(old_id) is False
    copy = await loaded(store, moved.id)
    assert dict(copy) == {"a": 1, "b": [2]}
    assert copy.user_id == "u1"
    assert copy.created_at == session.created_at
    assert backend.index_members("u1") == {moved.id}  # moved by the save itself, not by pruning
    assert [s.id for s in await store.sessions_for_user("u1")] == [moved.id]
    assert await store.count() == 1


async def test_regenerate_stores_pending_changes(store: AnyStore) -> None:
    session = await store.create({"a": 1, "b": 1})
    old_id = session.id
    copy = await loaded(store, old_id)
    copy["a"] = 2
    del copy["b"]
    copy.user_id = "u9"

    moved = await store.regenerate(copy)
    assert dict(await loaded(store, moved.id)) == {"a": 2}
    assert [s.id for s in await store.sessions_for_user("u9")] == [moved.id]
    assert await store.exists(old_id) is False


async def test_regenerate_of_an_unbound_session(store: AnyStore) -> None:
    session = await store.create({"a": 1})
    old_id = session.id
    moved = await store.regenerate(session)
    assert moved.id != old_id
    assert moved.user_id is None
    assert dict(await loaded(store, moved.id)) == {"a": 1}
    assert await store.exists(old_id) is False


async def test_save_of_a_copy_of_the_old_id_after_regenerate_stores_nothing(
    store: AnyStore,
) -> None:
    session = await store.create({"a": 1}, user_id="u1")
    old_id = session.id
    inflight = await loaded(store, old_id)
    moved = await store.regenerate(session)

    inflight["a"] = 2
    inflight["stale"] = True
    assert await store.save(inflight) is False
    assert await store.exists(old_id) is False
    assert dict(await loaded(store, moved.id)) == {"a": 1}
    assert [s.id for s in await store.sessions_for_user("u1")] == [moved.id]


async def test_regenerate_of_a_deleted_session_raises_and_stores_nothing(store: AnyStore) -> None:
    session = await store.create({"a": 1})
    assert await store.delete(session.id)
    with pytest.raises(SessionError):
        await store.regenerate(session)
    assert await store.count() == 0


async def test_regenerate_keeps_the_absolute_deadline(make_store: StoreFactory) -> None:
    store = make_store(ttl=1000, absolute_ttl=30)
    session = await store.create({"a": 1})
    moved = await store.regenerate(session)
    left = await store.ttl(moved.id)
    assert left is not None
    assert left <= 30
    assert (moved.expires_at - session.created_at).total_seconds() <= 30.001


async def test_regenerate_keeps_the_sessions_own_ttl(make_store: StoreFactory) -> None:
    store = make_store(ttl=1000)
    session = await store.create({"a": 1}, ttl=20)
    moved = await store.regenerate(session)
    assert 15 < await ttl_of(store, moved.id) <= 20
    assert await store.get(moved.id) is not None
    assert 15 < await ttl_of(store, moved.id) <= 20


async def test_user_binding_by_setting_user_id_and_saving(store: AnyStore) -> None:
    session = await store.create({"a": 1})
    copy = await loaded(store, session.id)
    copy.user_id = "u1"
    assert await store.sessions_for_user("u1") == []  # not before the save
    assert await store.save(copy)
    assert [s.id for s in await store.sessions_for_user("u1")] == [session.id]
    assert (await loaded(store, session.id)).user_id == "u1"


async def test_user_rebinding_and_unbinding(store: AnyStore, backend: Backend) -> None:
    session = await store.create({"a": 1}, user_id="u1")
    copy = await loaded(store, session.id)
    copy.user_id = "u2"
    assert await store.save(copy)
    assert backend.index_members("u1") == set()  # removed by the save itself, not by pruning
    assert backend.index_members("u2") == {session.id}
    assert await store.sessions_for_user("u1") == []
    assert [s.id for s in await store.sessions_for_user("u2")] == [session.id]

    copy.user_id = None
    assert await store.save(copy)
    assert await store.sessions_for_user("u2") == []
    assert (await loaded(store, session.id)).user_id is None
    assert await store.exists(session.id)


async def test_user_id_must_be_a_non_empty_string(store: AnyStore) -> None:
    session = await store.create()
    with pytest.raises(TypeError):
        session.user_id = ""
    with pytest.raises(TypeError):
        session.user_id = 5  # type: ignore[assignment]
    assert session.user_id is None

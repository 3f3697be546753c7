"""Round trips: each common operation is one batch, and new_session does no I/O at all."""

from __future__ import annotations

import pytest

from tests.contract._stores import AnyStore, Backend, StoreFactory, loaded

pytestmark = pytest.mark.anyio


async def test_common_operations_are_one_round_trip_each(store: AnyStore) -> None:
    warm = await store.create({"a": 1})  # the first call may load the scripts
    assert await store.get(warm.id) is not None

    before = store.round_trips
    session = await store.create({"a": 1})
    assert store.round_trips == before + 1

    before = store.round_trips
    copy = await loaded(store, session.id)
    assert store.round_trips == before + 1

    copy["a"] = 2
    before = store.round_trips
    assert await store.save(copy)
    assert store.round_trips == before + 1

    before = store.round_trips
    assert await store.touch(session.id)
    assert await store.exists(session.id)
    assert await store.delete(session.id)
    assert store.round_trips == before + 3


async def test_save_many_and_delete_many_are_one_round_trip(store: AnyStore) -> None:
    sessions = [await store.create({"n": n}) for n in range(5)]
    for session in sessions:
        session["n"] = -1
    before = store.round_trips
    await store.save_many(sessions)
    assert store.round_trips == before + 1

    before = store.round_trips
    assert await store.delete_many([s.id for s in sessions]) == 5
    assert store.round_trips == before + 1


async def test_new_session_is_stored_only_by_save(store: AnyStore) -> None:
    before = store.round_trips
    session = store.new_session({"a": 1}, user_id="u1")
    assert store.round_trips == before
    assert session.is_new is True
    assert session.modified is True
    assert await store.exists(session.id) is False
    assert await store.sessions_for_user("u1") == []

    assert await store.save(session) is True
    assert session.is_new is False
    assert session.modified is False
    copy = await loaded(store, session.id)
    assert dict(copy) == {"a": 1}
    assert copy.user_id == "u1"
    assert [s.id for s in await store.sessions_for_user("u1")] == [session.id]


@pytest.mark.parametrize("backend_url", ["redis", "cluster", "sentinel"], indirect=True)
async def test_scripts_flushed_on_the_server_are_loaded_again(
    make_store: StoreFactory, backend: Backend
) -> None:
    store = make_store()
    session = await store.create({"a": 1}, user_id="u1")
    backend.client.script_flush()  # every primary of a Cluster
    copy = await loaded(store, session.id)
    backend.client.script_flush()
    copy["a"] = 2
    copy.user_id = "u2"  # a batch of scripts and plain commands
    assert await store.save(copy)
    backend.client.script_flush()
    assert dict(await loaded(store, session.id)) == {"a": 2}
    assert await store.sessions_for_user("u1") == []
    assert [s.id for s in await store.sessions_for_user("u2")] == [session.id]

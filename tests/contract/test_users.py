"""The per-user index: sessions_for_user, delete_user_sessions and pruning of dead entries."""

from __future__ import annotations

import pytest

from tests.contract._stores import AnyStore, Backend, loaded

pytestmark = pytest.mark.anyio


async def test_sessions_for_user_lists_that_users_live_sessions(store: AnyStore) -> None:
    first = await store.create({"n": 1}, user_id="u1")
    second = await store.create({"n": 2}, user_id="u1")
    third = await store.create({"n": 3}, user_id="u1")
    await store.create({"n": 4}, user_id="u2")
    await store.create({"n": 5})

    sessions = await store.sessions_for_user("u1")
    assert sorted(s.id for s in sessions) == sorted([first.id, second.id, third.id])
    assert all(s.user_id == "u1" for s in sessions)
    assert {s.id: s["n"] for s in sessions} == {first.id: 1, second.id: 2, third.id: 3}
    assert await store.sessions_for_user("nobody") == []


async def test_sessions_for_user_does_not_slide_the_ttl(store: AnyStore) -> None:
    session = await store.create(user_id="u1", ttl=20)
    assert [s.id for s in await store.sessions_for_user("u1")] == [session.id]
    left = await store.ttl(session.id)
    assert left is not None
    assert left <= 20


async def test_delete_user_sessions_except_one(store: AnyStore) -> None:
    keep = await store.create({"n": 1}, user_id="u1")
    others = [await store.create({"n": i}, user_id="u1") for i in (2, 3)]
    stranger = await store.create({"n": 4}, user_id="u2")
    anonymous = await store.create({"n": 5})

    assert await store.delete_user_sessions("u1", except_id=keep.id) == 2

    assert await store.exists(keep.id)
    for session in others:
        assert await store.exists(session.id) is False
        assert await store.get(session.id) is None
    assert await store.exists(stranger.id)
    assert await store.exists(anonymous.id)
    assert [s.id for s in await store.sessions_for_user("u1")] == [keep.id]
    assert [s.id for s in await store.sessions_for_user("u2")] == [stranger.id]


async def test_delete_user_sessions_all(store: AnyStore, backend: Backend) -> None:
    sessions = [await store.create(user_id="u1") for _ in range(3)]
    assert await store.delete_user_sessions("u1") == 3
    for session in sessions:
        assert await store.exists(session.id) is False
    assert await store.sessions_for_user("u1") == []
    assert backend.index_members("u1") == set()
    assert await store.delete_user_sessions("u1") == 0
    assert await store.delete_user_sessions("nobody") == 0


async def test_delete_user_sessions_counts_only_sessions_that_existed(store: AnyStore) -> None:
    sessions = [await store.create(user_id="u1") for _ in range(3)]
    assert await store.delete(sessions[0].id)  # deleted by id: its index entry lingers
    assert await store.delete_user_sessions("u1") == 2


async def test_index_prunes_sessions_deleted_by_id(store: AnyStore, backend: Backend) -> None:
    gone = await store.create({"n": 1}, user_id="u1")
    live = await store.create({"n": 2}, user_id="u1")
    assert await store.delete(gone.id)

    assert [s.id for s in await store.sessions_for_user("u1")] == [live.id]
    assert backend.index_members("u1") == {live.id}


async def rebound_behind_u1s_back(store: AnyStore) -> str:
    """A session bound to u1, then to u2 by a copy loaded before the first binding.

    That copy never knew of u1, so u1's index still lists the session, which is now u2's.
    """
    session = await store.create({"n": 1})
    first = await loaded(store, session.id)
    second = await loaded(store, session.id)
    first.user_id = "u1"
    assert await store.save(first)
    second.user_id = "u2"
    assert await store.save(second)
    assert (await loaded(store, session.id)).user_id == "u2"
    return session.id


async def test_index_prunes_sessions_bound_to_someone_else(store: AnyStore, backend: Backend) -> None:
    session_id = await rebound_behind_u1s_back(store)
    assert await store.sessions_for_user("u1") == []
    assert session_id not in backend.index_members("u1")
    assert [s.id for s in await store.sessions_for_user("u2")] == [session_id]


async def test_delete_user_sessions_spares_sessions_bound_to_someone_else(
    store: AnyStore,
) -> None:
    session_id = await rebound_behind_u1s_back(store)
    assert await store.delete_user_sessions("u1") == 0
    assert await store.exists(session_id)
    assert [s.id for s in await store.sessions_for_user("u2")] == [session_id]

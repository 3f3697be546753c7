"""list_sessions (cursor pagination), count, save_many and delete_many."""

from __future__ import annotations

import pytest

from redis_sessions import SessionPage
from tests.contract._stores import AnyStore, StoreFactory, loaded

pytestmark = pytest.mark.anyio


async def walk(store: AnyStore, limit: int) -> list[SessionPage]:
    """Every page of `list_sessions`, following the cursors to the end."""
    pages = [await store.list_sessions(limit=limit)]
    while pages[-1].next_cursor is not None:
        assert len(pages) < 1000, "list_sessions never reached the end"
        pages.append(await store.list_sessions(limit=limit, cursor=pages[-1].next_cursor))
    return pages


async def test_whole_steps_pages_carry_no_id_in_their_cursor(store: AnyStore) -> None:
    created = {(await store.create({"n": n})).id for n in range(60)}
    seen: list[str] = []
    page = await store.list_sessions(limit=7, whole_steps=True)
    for _ in range(1000):
        seen += [s.id for s in page.sessions]
        if page.next_cursor is None:
            break
        assert not any(i in page.next_cursor for i in created)
        page = await store.list_sessions(limit=7, cursor=page.next_cursor, whole_steps=True)
    assert sorted(seen) == sorted(created)


async def test_list_sessions_pages_through_every_session_once(store: AnyStore) -> None:
    created = {(await store.create({"n": n}, user_id=f"u{n % 7}")).id: n for n in range(250)}

    pages = await walk(store, limit=40)

    seen = [session.id for page in pages for session in page.sessions]
    assert len(seen) == len(set(seen)), "a session was listed twice"
    assert set(seen) == set(created)
    assert all(len(page.sessions) <= 40 for page in pages)
    assert len(pages) >= 7  # 250 sessions at most 40 a page
    assert pages[-1].next_cursor is None
    for page in pages:
        for session in page.sessions:
            assert dict(session) == {"n": created[session.id]}
            assert session.user_id == f"u{created[session.id] % 7}"


async def test_list_sessions_page_limit_one(store: AnyStore) -> None:
    created = {(await store.create({"n": n})).id for n in range(5)}
    pages = await walk(store, limit=1)
    assert all(len(page.sessions) <= 1 for page in pages)
    seen = [session.id for page in pages for session in page.sessions]
    assert sorted(seen) == sorted(created)


async def test_list_sessions_one_page_when_the_limit_is_large(store: AnyStore) -> None:
    created = {(await store.create({"n": n})).id for n in range(30)}
    page = await store.list_sessions(limit=1000)
    assert {s.id for s in page.sessions} == created
    assert len(page.sessions) == 30
    assert page.next_cursor is None


async def test_list_sessions_default_limit_is_100(store: AnyStore) -> None:
    created = {(await store.create()).id for _ in range(120)}
    page = await store.list_sessions()
    assert len(page.sessions) <= 100
    assert page.next_cursor is not None
    rest = await walk_from(store, page)
    assert {s.id for s in page.sessions} | rest == created


async def walk_from(store: AnyStore, page: SessionPage) -> set[str]:
    ids: set[str] = set()
    while page.next_cursor is not None:
        page = await store.list_sessions(cursor=page.next_cursor)
        ids |= {s.id for s in page.sessions}
    return ids


async def test_list_sessions_on_an_empty_store(store: AnyStore) -> None:
    page = await store.list_sessions(limit=10)
    assert page.sessions == []
    assert page.next_cursor is None


async def test_list_sessions_does_not_slide_the_ttl(store: AnyStore) -> None:
    session = await store.create(ttl=20)
    page = await store.list_sessions()
    assert [s.id for s in page.sessions] == [session.id]
    left = await store.ttl(session.id)
    assert left is not None
    assert left <= 20


async def test_count(store: AnyStore) -> None:
    assert await store.count() == 0
    sessions = [await store.create({"n": n}) for n in range(5)]
    await store.create(user_id="u1")  # the user index is not a session
    await store.create(user_id="u1")
    assert await store.count() == 7
    assert await store.delete(sessions[0].id)
    assert await store.count() == 6


async def test_count_over_many_sessions(store: AnyStore) -> None:
    for n in range(1200):  # more than one SCAN step
        await store.create({"n": n})
    assert await store.count() == 1200


async def test_save_many_stores_each_sessions_changes(store: AnyStore) -> None:
    sessions = [await store.create({"n": n, "drop": True}) for n in range(3)]
    copies = [await loaded(store, s.id) for s in sessions]
    for n, copy in enumerate(copies):
        copy["n"] = n * 10
        del copy["drop"]
    copies[1].user_id = "u1"

    await store.save_many(copies)

    for n, session in enumerate(sessions):
        assert dict(await loaded(store, session.id)) == {"n": n * 10}
    assert [s.id for s in await store.sessions_for_user("u1")] == [sessions[1].id]
    assert all(copy.modified is False for copy in copies)


async def test_save_many_does_not_resurrect_deleted_sessions(store: AnyStore) -> None:
    live = await store.create({"n": 1})
    gone = await store.create({"n": 2})
    live_copy = await loaded(store, live.id)
    gone_copy = await loaded(store, gone.id)
    assert await store.delete(gone.id)
    live_copy["n"] = 10
    gone_copy["n"] = 20

    await store.save_many([live_copy, gone_copy])

    assert dict(await loaded(store, live.id)) == {"n": 10}
    assert await store.exists(gone.id) is False
    assert await store.count() == 1


async def test_save_many_of_nothing(store: AnyStore) -> None:
    await store.save_many([])
    assert await store.count() == 0


async def test_delete_many(store: AnyStore) -> None:
    a, b, c = [await store.create({"n": n}) for n in range(3)]
    unknown = "abcd" + "Z" * 22
    assert await store.delete_many([a.id, b.id, unknown, "not an id"]) == 2
    assert await store.exists(a.id) is False
    assert await store.exists(b.id) is False
    assert await store.exists(c.id)
    assert await store.delete_many([a.id]) == 0
    assert await store.delete_many([c.id, c.id]) == 1
    c = await store.create({"n": 2})
    assert await store.delete_many([]) == 0
    assert await store.delete_many(iter([c.id])) == 1
    assert await store.count() == 0


async def test_listing_is_per_prefix(make_store: StoreFactory, key_prefix: str) -> None:
    mine = make_store()
    theirs = make_store(key_prefix=key_prefix + "other:")
    ours = {(await mine.create()).id for _ in range(3)}
    await theirs.create()
    assert await mine.count() == 3
    assert await theirs.count() == 1
    assert {s.id for s in (await mine.list_sessions()).sessions} == ours


async def test_a_session_that_expires_mid_walk_hides_no_live_one(store: AnyStore) -> None:
    """Pages that end inside one SCAN step resume after the last id listed, not by counting: a
    listed session that disappears before the next page shifts nothing."""
    created = {(await store.create({"n": n})).id for n in range(60)}
    listed: list[str] = []
    gone: set[str] = set()
    page = await store.list_sessions(limit=3)
    for _ in range(200):
        listed += [s.id for s in page.sessions]
        for session in page.sessions[:1]:  # the first of each page expires before the next one
            assert await store.delete(session.id)
            gone.add(session.id)
        if page.next_cursor is None:
            break
        page = await store.list_sessions(limit=3, cursor=page.next_cursor)
    assert page.next_cursor is None
    assert len(listed) == len(set(listed)), "a session was listed twice"
    assert created - gone <= set(listed), "a session alive for the whole walk was skipped"


async def test_a_cursor_from_elsewhere_is_refused(store: AnyStore) -> None:
    for bad in ["", "x", "12", "12:not-an-id", "a:"]:
        with pytest.raises(ValueError):
            await store.list_sessions(cursor=bad)

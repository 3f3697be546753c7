"""Stores as a whole: health, context managers, key_prefix isolation, sharing one backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from redis_sessions import AsyncSessionStore, SessionConfig, SessionStore
from tests.contract._stores import AnyStore, StoreFactory, loaded

pytestmark = pytest.mark.anyio


async def test_health(store: AnyStore, backend_url: str) -> None:
    report = await store.health()
    assert report.ok is True
    assert report.backend == backend_url.partition("://")[0]  # memory, redis, redis+cluster, redis+sentinel
    assert report.latency_ms is not None
    assert report.latency_ms >= 0
    assert report.degraded is False
    assert isinstance(report.detail, str)


async def test_store_is_a_context_manager(
    store_kind: str, make_config: Callable[..., SessionConfig], make_store: StoreFactory
) -> None:
    config = make_config()
    if store_kind == "sync":
        sync_store = SessionStore(config)
        with sync_store as entered:
            assert entered is sync_store
            session_id = entered.create({"a": 1}).id
            assert entered.exists(session_id)
    else:
        async_store = AsyncSessionStore(config)
        async with async_store as entered_async:
            assert entered_async is async_store
            session_id = (await entered_async.create({"a": 1})).id
            assert await entered_async.exists(session_id)

    # What was stored inside the block outlives the store.
    assert dict(await loaded(make_store(), session_id)) == {"a": 1}


async def test_context_manager_closes_on_error(
    store_kind: str, make_config: Callable[..., SessionConfig], make_store: StoreFactory
) -> None:
    config = make_config()
    with pytest.raises(RuntimeError, match="boom"):
        if store_kind == "sync":
            with SessionStore(config) as sync_store:
                session_id = sync_store.create({"a": 1}).id
                raise RuntimeError("boom")
        else:
            async with AsyncSessionStore(config) as async_store:
                session_id = (await async_store.create({"a": 1})).id
                raise RuntimeError("boom")
    assert await make_store().exists(session_id)


async def test_key_prefix_isolates_stores(make_store: StoreFactory, key_prefix: str) -> None:
    store_a = make_store(key_prefix=key_prefix + "a:")
    store_b = make_store(key_prefix=key_prefix + "b:")
    session = await store_a.create({"a": 1}, user_id="u1")

    assert await store_b.get(session.id) is None
    assert await store_b.exists(session.id) is False
    assert await store_b.ttl(session.id) is None
    assert await store_b.touch(session.id) is False
    assert await store_b.delete(session.id) is False
    assert await store_b.delete_many([session.id]) == 0
    assert await store_b.count() == 0
    assert (await store_b.list_sessions()).sessions == []
    assert await store_b.sessions_for_user("u1") == []
    assert await store_b.delete_user_sessions("u1") == 0

    assert dict(await loaded(store_a, session.id)) == {"a": 1}
    assert await store_a.count() == 1
    assert [s.id for s in await store_a.sessions_for_user("u1")] == [session.id]


async def test_glob_characters_in_key_prefix_match_only_themselves(
    make_store: StoreFactory, key_prefix: str
) -> None:
    literal = make_store(key_prefix=key_prefix + "*?[ab]\\:")
    lookalikes = [make_store(key_prefix=key_prefix + other) for other in ("x?a\\:", "*?b\\:", "*:")]
    for store in lookalikes:
        await store.create(user_id="u1")
    mine = await literal.create({"a": 1}, user_id="u1")

    assert await literal.count() == 1
    assert [s.id for s in (await literal.list_sessions()).sessions] == [mine.id]
    assert [s.id for s in await literal.sessions_for_user("u1")] == [mine.id]
    for store in lookalikes:
        assert await store.count() == 1
        assert await store.exists(mine.id) is False


async def test_save_through_another_prefix_stores_nothing(make_store: StoreFactory, key_prefix: str) -> None:
    store_a = make_store(key_prefix=key_prefix + "a:")
    store_b = make_store(key_prefix=key_prefix + "b:")
    session = await store_a.create({"a": 1})
    session["a"] = 2
    assert await store_b.save(session) is False
    assert await store_b.count() == 0
    assert dict(await loaded(store_a, session.id)) == {"a": 1}


async def test_stores_with_the_same_settings_share_sessions(make_store: StoreFactory) -> None:
    writer = make_store()
    reader = make_store()
    session = await writer.create({"a": 1}, user_id="u1")
    copy = await loaded(reader, session.id)
    assert dict(copy) == {"a": 1}
    copy["a"] = 2
    assert await reader.save(copy)
    assert dict(await loaded(writer, session.id)) == {"a": 2}
    assert [s.id for s in await writer.sessions_for_user("u1")] == [session.id]
    assert await reader.delete(session.id)
    assert await writer.exists(session.id) is False


async def test_sync_and_async_stores_share_sessions(
    make_config: Callable[..., SessionConfig],
) -> None:
    config = make_config()
    with SessionStore(config) as sync_store:
        async with AsyncSessionStore(config) as async_store:
            made_sync = sync_store.create({"by": "sync"})
            made_async = await async_store.create({"by": "async"})
            from_async = await async_store.get(made_sync.id)
            from_sync = sync_store.get(made_async.id)
            assert from_async is not None
            assert from_sync is not None
            assert dict(from_async) == {"by": "sync"}
            assert dict(from_sync) == {"by": "async"}
            assert await async_store.count() == sync_store.count() == 2

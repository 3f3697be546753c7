"""Every load is one round trip that applies the session's own ttl and absolute deadline, also for
a session that got its rules after it was stored and for `absolute_ttl` set after it was created."""

from __future__ import annotations

import pytest

from redis_sessions._ids import has_own_expiry
from redis_sessions._plan import wall_clock_ms
from tests.contract._stores import Backend, StoreFactory, loaded, ttl_of

pytestmark = pytest.mark.anyio


async def test_a_stored_session_given_its_own_ttl_loads_in_one_round_trip_with_it(
    make_store: StoreFactory, backend: Backend
) -> None:
    store = make_store(ttl=600)
    session = await store.create({"a": 1})
    old_id = session.id
    assert not has_own_expiry(old_id)  # a plain id: loaded by GETEX

    store._core.set_expiry_rules(session, 5, None)  # type: ignore[attr-defined]  # as Django's set_expiry
    assert await store.save(session)

    # It moved to an id that loads through the script applying its rules; the old id is gone.
    assert session.id != old_id and session.id[:4] == old_id[:4]  # same hash slot
    assert has_own_expiry(session.id)
    assert not await store.exists(old_id)
    before = store.round_trips
    again = await loaded(store, session.id)
    assert store.round_trips - before == 1
    assert dict(again) == {"a": 1}
    assert 0 < await ttl_of(store, session.id) <= 5
    before = store.round_trips
    await loaded(store, session.id)  # every later load too: one round trip, never the default ttl
    assert store.round_trips - before == 1
    assert await ttl_of(store, session.id) <= 5


async def test_a_deadline_given_later_is_never_overshot(make_store: StoreFactory) -> None:
    store = make_store(ttl=600)
    session = await store.create({"a": 1})
    store._core.set_expiry_rules(session, None, wall_clock_ms() + 2000)  # type: ignore[attr-defined]
    assert await store.save(session)
    assert 0 < await ttl_of(store, session.id) <= 2
    await loaded(store, session.id)
    assert await ttl_of(store, session.id) <= 2  # the load slid it no further than the deadline


async def test_absolute_ttl_applies_to_sessions_created_before_it_was_set(
    make_store: StoreFactory, backend: Backend
) -> None:
    earlier = make_store(ttl=3600)
    ten_minutes_ago = wall_clock_ms() - 600_000
    earlier._core.now_ms = lambda: ten_minutes_ago  # type: ignore[attr-defined]
    old = await earlier.create({"a": 1})  # created ten minutes ago, when there was no absolute_ttl
    young = await make_store(ttl=3600).create({"b": 2})  # created now
    assert not has_own_expiry(old.id) and not has_own_expiry(young.id)

    capped = make_store(ttl=3600, absolute_ttl=300)  # five minutes: `old` is past it
    before = capped.round_trips
    assert await capped.get(old.id) is None
    assert capped.round_trips - before == 1
    assert not backend.has_key(old.id)  # removed, not left to live out its idle ttl
    assert [s.id for s in (await capped.list_sessions()).sessions] == [young.id]

    again = await loaded(capped, young.id)
    assert dict(again) == {"b": 2}
    assert 0 < await ttl_of(capped, young.id) <= 300
    assert again.expires_at.timestamp() * 1000 <= young._created_ms + 300_000

"""The active-session gauge (``track_active_sessions``): `active_count` agrees with `count` after
every kind of write, leaves out what expired (by the store's clock, whatever Redis still holds),
follows reads that slide a session, and costs one round trip; on every backend, sync and async."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from redis_sessions import SessionError
from redis_sessions._http import EXPIRE
from tests._observer import Recorder
from tests.contract._stores import AnyStore, StoreFactory

pytestmark = pytest.mark.anyio


class Clock:
    """The stores' clock (epoch ms): real time plus an offset a test moves forward."""

    def __init__(self) -> None:
        import time

        self._now = time.time_ns
        self.offset_ms = 0

    def __call__(self) -> int:
        return self._now() // 1_000_000 + self.offset_ms

    def advance(self, seconds: float) -> None:
        self.offset_ms += int(seconds * 1000)


def clocked(store: AnyStore, clock: Callable[[], int]) -> AnyStore:
    inner: Any = getattr(store, "inner", store)
    inner._core.now_ms = clock
    return store


@pytest.fixture
def tracked(make_store: StoreFactory) -> AnyStore:
    return make_store(track_active_sessions=True)


async def test_off_by_default(store: AnyStore) -> None:
    with pytest.raises(SessionError, match="track_active_sessions"):
        await store.active_count()


async def test_agrees_with_count_after_every_kind_of_write(
    tracked: AnyStore, make_store: StoreFactory
) -> None:
    assert await tracked.active_count() == 0
    plain = await tracked.create({"a": 1})
    own = await tracked.create({"b": 1}, ttl=600)
    bound = [await tracked.create({"c": n}, user_id="u1") for n in range(3)]
    assert await tracked.active_count() == 5 == await tracked.count()

    await tracked.regenerate(plain)  # moved, not added
    plain["a"] = 2
    await tracked.save(plain)
    await tracked.save_many([own, *bound])
    assert await tracked.active_count() == 5

    assert await tracked.delete(plain.id)
    assert await tracked.delete_user_sessions("u1", except_id=bound[0].id) == 2
    assert await tracked.active_count() == 2 == await tracked.count()

    other = make_store(track_active_sessions=True)
    gone = await other.get(own.id)
    assert gone is not None
    gone.clear()  # a request that empties a stored session
    assert await other.finish_request(gone) == EXPIRE
    assert await tracked.active_count() == 1 == await tracked.count()

    stale = await tracked.get(bound[0].id)
    assert stale is not None and await tracked.delete_many([bound[0].id]) == 1
    stale["late"] = True
    assert not await tracked.save(stale)  # gone meanwhile: nothing stored, nothing counted
    assert await tracked.active_count() == 0 == await tracked.count()


async def test_expired_sessions_leave_the_count(make_store: StoreFactory) -> None:
    clock = Clock()
    recorder = Recorder()
    store = clocked(make_store(track_active_sessions=True, ttl=100, observer=recorder), clock)
    reader = clocked(make_store(track_active_sessions=True, ttl=100), clock)
    idle = await store.create({"a": 1})
    await store.create({"b": 1}, ttl=10)  # its own, shorter ttl
    read = await store.create({"c": 1})
    assert await store.active_count() == 3

    clock.advance(11)
    assert await store.active_count() == 2  # `short` is past its own ttl
    clock.advance(80)  # 91 s: `read` is read by another process, which slides it (and notes it)
    assert await reader.get(read.id) is not None
    clock.advance(20)  # 111 s: `idle` is past the ttl; `read` has 80 s left
    recorder.take()
    assert await store.active_count() == 1
    assert recorder.take() == [("destroyed", "expired", 1)]  # `short` was pruned by the first count
    assert idle.id != read.id


async def test_deadlines_cap_the_count(make_store: StoreFactory) -> None:
    clock = Clock()
    store = clocked(make_store(track_active_sessions=True, ttl=100, absolute_ttl=150), clock)
    reader = clocked(make_store(track_active_sessions=True, ttl=100, absolute_ttl=150), clock)
    session = await store.create({"a": 1})
    clock.advance(90)
    assert await reader.get(session.id) is not None  # slid to 190 s, capped at the deadline, 150 s
    clock.advance(61)
    assert await store.active_count() == 0


async def test_one_round_trip_and_a_read_adds_none(tracked: AnyStore, make_store: StoreFactory) -> None:
    session = await tracked.create({"a": 1})
    before = tracked.round_trips
    await tracked.active_count()
    assert tracked.round_trips - before == 1
    reader = make_store(track_active_sessions=True)
    before = reader.round_trips
    assert await reader.get(session.id) is not None  # the read and its gauge note
    assert reader.round_trips - before == 1


async def test_a_read_never_counts_a_deleted_session(tracked: AnyStore, make_store: StoreFactory) -> None:
    session = await tracked.create({"a": 1})
    reader = make_store(track_active_sessions=True)
    assert await tracked.delete(session.id)
    assert await reader.get(session.id) is None
    assert await tracked.active_count() == 0

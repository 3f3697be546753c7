"""What every store tells its `SessionObserver`: operations with outcomes, and session events, on
every backend, sync and async; never an id."""

from __future__ import annotations

import pytest

from redis_sessions import SessionTooLarge
from tests._observer import Recorder
from tests.contract._stores import AnyStore, StoreFactory

pytestmark = pytest.mark.anyio


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def observed(make_store: StoreFactory, recorder: Recorder) -> AnyStore:
    return make_store(observer=recorder)


async def test_operations_are_named_with_outcomes(observed: AnyStore, recorder: Recorder) -> None:
    session = await observed.create({"a": 1}, user_id="u1")
    await observed.get(session.id)
    session["b"] = 2
    await observed.save(session)
    await observed.exists(session.id)
    await observed.touch(session.id)
    await observed.ttl(session.id)
    await observed.regenerate(session)
    await observed.sessions_for_user("u1")
    await observed.delete(session.id)
    with pytest.raises(SessionTooLarge):
        await observed.create({"big": "x" * (observed.config.max_size + 1)})
    assert recorder.operations() == [
        ("create", "ok"),
        ("get", "ok"),
        ("save", "ok"),
        ("exists", "ok"),
        ("touch", "ok"),
        ("ttl", "ok"),
        ("regenerate", "ok"),
        ("sessions_for_user", "ok"),
        ("delete", "ok"),
        ("create", "error"),
    ]


async def test_session_events(observed: AnyStore, recorder: Recorder) -> None:
    session = await observed.create({"a": 1}, user_id="u1")
    assert recorder.take() == [("created",)]
    await observed.regenerate(session)
    assert recorder.take() == [("regenerated",)]
    assert await observed.delete(session.id)
    assert not await observed.delete(session.id)  # gone already: nothing destroyed
    assert recorder.take() == [("destroyed", "revoked", 1)]

    for _ in range(3):
        await observed.create(user_id="u2")
    keep = await observed.create(user_id="u2")
    recorder.take()
    assert await observed.delete_user_sessions("u2", except_id=keep.id) == 3
    assert recorder.take() == [("destroyed", "revoked", 3)]

    ids = [(await observed.create({"n": n})).id for n in range(2)]
    recorder.take()
    assert await observed.delete_many([*ids, "abcd" + "A" * 22]) == 2
    assert recorder.take() == [("destroyed", "revoked", 1)] * 2


async def test_no_call_carries_an_id(observed: AnyStore, recorder: Recorder) -> None:
    session = await observed.create({"a": 1}, user_id="user-secret")
    await observed.regenerate(session)
    await observed.delete_user_sessions("user-secret")
    shown = repr(recorder.calls)
    assert session.id not in shown
    assert "user-secret" not in shown


async def test_no_observer_no_timing(store: AnyStore) -> None:
    # Without an observer `_run` is the plain method (nothing timed): the cost of "off" is none.
    inner = getattr(store, "inner", store)
    assert "_run" not in vars(inner)

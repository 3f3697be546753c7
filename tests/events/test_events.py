"""Session events over Redis pub/sub: what each write publishes, received sync and async, on one Redis
and a Cluster, across two processes; reads publish nothing and cost no round trip more."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from redis_sessions import AsyncSessionStore, ConfigError, SessionConfig, SessionStore
from redis_sessions._http import request_clear
from redis_sessions.events import SessionEvent
from tests._backends import backend_url_of
from tests.conftest import SECRET

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["redis", "cluster", "sentinel"])
def events_url(request: pytest.FixtureRequest) -> str:
    return backend_url_of(request, request.param)


@pytest.fixture
def config(events_url: str, key_prefix: str) -> SessionConfig:
    return SessionConfig(url=events_url, secret_keys=[SECRET], key_prefix=key_prefix, publish_events=True)


@pytest.fixture
def store(config: SessionConfig) -> Iterator[SessionStore]:
    with SessionStore(config) as opened:
        yield opened


def expect(get: Callable[[float], SessionEvent | None], *kinds: str) -> list[SessionEvent]:
    events = [get(3.0) for _ in kinds]
    assert [e.type if e else None for e in events] == list(kinds), events
    return [e for e in events if e is not None]


def test_each_write_publishes_its_event(store: SessionStore) -> None:
    with store.events() as events:
        session = store.create({"a": 1}, user_id="u1")
        (created,) = expect(events.get, "created")
        assert (created.session, created.user_id) == (session.handle, "u1")
        assert created.at is not None

        before = session.handle
        store.regenerate(session)
        (moved,) = expect(events.get, "regenerated")
        assert (moved.session, moved.previous, moved.user_id) == (session.handle, before, "u1")

        store.delete(session)
        (gone,) = expect(events.get, "destroyed")
        assert (gone.session, gone.reason, gone.user_id) == (session.handle, "revoked", "u1")

        keep, *_ = (store.create(user_id="u2") for _ in range(3))
        expect(events.get, "created", "created", "created")
        assert store.delete_user_sessions("u2", except_id=keep.id) == 2
        (revoked,) = expect(events.get, "user_revoked")
        assert (revoked.user_id, revoked.count, revoked.kept) == ("u2", 2, keep.handle)

        logged_in = store.create({"x": 1}, user_id="u3")
        expect(events.get, "created")
        request = store.get(logged_in.id)
        assert request is not None
        request_clear(request)  # what clear_session (logout) does
        store.finish_request(request)
        (logout,) = expect(events.get, "destroyed")
        assert (logout.reason, logout.user_id) == ("logout", "u3")

        emptied = store.create({"y": 1})
        expect(events.get, "created")
        request = store.get(emptied.id)
        assert request is not None
        request.clear()  # the handler removes every key
        store.finish_request(request)
        (empty,) = expect(events.get, "destroyed")
        assert (empty.reason, empty.session) == ("emptied", emptied.handle)
        assert events.get(0.2) is None


def test_reads_publish_nothing_and_cost_nothing(store: SessionStore, config: SessionConfig) -> None:
    session = store.create({"a": 1})
    quiet = SessionStore(config.replace(publish_events=False))
    with store.events() as events:
        for reader in (store, quiet):
            before = reader.round_trips
            assert reader.get(session.id) is not None
            assert reader.round_trips - before == 1
        assert events.get(0.3) is None
    quiet.close()


def test_no_session_id_is_published(store: SessionStore) -> None:
    with store.events() as events:
        session = store.create({"a": 1}, user_id="u1")
        store.regenerate(session)
        store.delete(session)
        received = [events.get(3.0) for _ in range(3)]
    assert session.id not in repr(received)


async def test_async_subscription(config: SessionConfig) -> None:
    async with AsyncSessionStore(config) as store, store.events() as events:
        session = await store.create(user_id="u1")
        event = await events.get(3.0)
        assert event is not None and (event.type, event.session) == ("created", session.handle)
        await store.delete_user_sessions("u1")
        async for event in events:
            assert (event.type, event.user_id, event.count) == ("user_revoked", "u1", 1)
            break


PUBLISHER = """
import sys
from redis_sessions import SessionConfig, SessionStore
config = SessionConfig(url=sys.argv[1], secret_keys=["k"], key_prefix=sys.argv[2], publish_events=True)
with SessionStore(config) as store:
    for _ in range(2):
        store.create(user_id="remote")
    print(store.delete_user_sessions("remote"))
"""


def test_events_reach_another_process(store: SessionStore, config: SessionConfig) -> None:
    with store.events() as events:
        done = subprocess.run(
            [sys.executable, "-c", PUBLISHER, config.url, config.key_prefix],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        received = expect(events.get, "created", "created", "user_revoked")
    assert (received[-1].user_id, received[-1].count) == ("remote", 2)


def test_memory_url_has_no_events(key_prefix: str) -> None:
    config = SessionConfig(url="memory://", secret_keys=[SECRET], key_prefix=key_prefix, publish_events=True)
    with SessionStore(config) as store:
        store.create()  # publishing to no one
        with pytest.raises(ConfigError, match="need Redis"):
            store.events()


def test_the_message_format() -> None:
    from redis_sessions.events import decode, encode

    message = encode("destroyed", 1_700_000_000_000, session="abcde.12345678", reason="logout", user_id=None)
    assert json.loads(message) == {
        "type": "destroyed",
        "at": 1_700_000_000_000,
        "session": "abcde.12345678",
        "reason": "logout",
    }
    event = decode(message)
    assert event is not None and event.reason == "logout" and event.user_id is None
    for junk in (b"", b"{}", b"[]", b'{"type": "nope", "at": 1}', b"\xff"):
        assert decode(junk) is None
    decoded: Any = decode(encode("user_revoked", 1, user_id="u", count=3, kept=None))
    assert (decoded.count, decoded.kept) == (3, None)

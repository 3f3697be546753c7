"""The drivers keep connections between calls: one the server dropped is replaced without an error,
one cut off mid-reply is never read again, and a forked child opens its own."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
import warnings
from collections.abc import Callable

import pytest
import redis

from redis_sessions import AsyncSessionStore, BackendUnavailable, SessionConfig, SessionStore
from tests.contract._stores import StoreFactory, loaded

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("backend_url", ["redis"], indirect=True)]


def _named_url(redis_url: str) -> tuple[str, str]:
    """A URL whose connections carry a client name of their own (for CLIENT LIST), and the name."""
    name = f"kept-{uuid.uuid4().hex[:12]}"
    return f"{redis_url}?client_name={name}", name


def _connections(client: redis.Redis, name: str) -> list[dict[str, str]]:
    return [c for c in client.client_list() if c.get("name") == name]


async def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error(
    make_store: StoreFactory, redis_url: str, redis_client: redis.Redis
) -> None:
    url, name = _named_url(redis_url)
    store = make_store(url=url)
    session = await store.create({"a": 1})
    (kept,) = _connections(redis_client, name)
    redis_client.client_kill_filter(_id=kept["id"])  # as a restart or the server's `timeout` does

    before = store.round_trips
    copy = await loaded(store, session.id)
    assert dict(copy) == {"a": 1}
    assert store.round_trips == before + 1
    assert [c["id"] for c in _connections(redis_client, name)] != [kept["id"]]


async def test_a_reply_that_timed_out_is_never_read_as_the_next_calls_reply(
    make_store: StoreFactory, redis_client: redis.Redis
) -> None:
    store = make_store(command_timeout=0.1)
    first = await store.create({"who": "first"})
    second = await store.create({"who": "second"})

    redis_client.client_pause(400)  # the GETEX below waits
    with pytest.raises(BackendUnavailable):
        await store.get(first.id)
    time.sleep(0.5)  # the server answers the abandoned GETEX now

    assert dict(await loaded(store, second.id)) == {"who": "second"}


async def test_a_call_cancelled_mid_reply_leaves_no_reply_behind(
    make_config: Callable[..., SessionConfig], redis_client: redis.Redis
) -> None:
    async with AsyncSessionStore(make_config()) as store:
        first = await store.create({"who": "first"})
        second = await store.create({"who": "second"})

        redis_client.client_pause(300)
        waiting = asyncio.ensure_future(store.get(first.id))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.4)  # the server answers the cancelled GETEX now

        again = await store.get(second.id)
        assert again is not None and dict(again) == {"who": "second"}


def test_a_forked_child_opens_its_own_connection(
    make_config: Callable[..., SessionConfig], redis_url: str, redis_client: redis.Redis
) -> None:
    url, name = _named_url(redis_url)
    with SessionStore(make_config(url=url)) as store:
        session = store.create({"a": 1})
        (parents,) = _connections(redis_client, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads, Python 3.12+
            pid = os.fork()
        if pid == 0:  # the child: a wrong reply or the parent's socket would show in its exit code
            ok = False
            try:
                ok = store.get(session.id) is not None and len(_connections(redis_client, name)) == 2
            finally:
                os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert store.get(session.id) is not None
        assert parents["id"] in [c["id"] for c in _connections(redis_client, name)]

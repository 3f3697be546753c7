"""The drivers keep connections between calls: one the server dropped while idle is replaced without
an error, one cut off mid-reply is never read again, a command whose reply was lost is never sent
again, a forked child opens its own, and a ``max_connections`` limit holds without false outages."""

from __future__ import annotations

import asyncio
import os
import selectors
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import redis

from redis_sessions import AsyncSessionStore, BackendUnavailable, SessionConfig, SessionStore
from tests.contract._stores import AnyStore, StoreFactory, SyncAsAsync, loaded

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


class ReplyDroppingProxy:
    """A loopback TCP proxy in front of Redis. Once `arm`ed, it forwards the next command it gets to
    Redis, waits until Redis has answered (so the command ran), and then closes the client's
    connection instead of relaying the reply: a connection lost after the send, as a failover, a
    load balancer's idle cut or a network fault does it."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        self.dropped = 0
        self._armed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="reply-dropping-proxy", daemon=True)

    def arm(self) -> None:
        self._armed.set()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ, "listener")
        peers: dict[socket.socket, socket.socket] = {}

        def close(sock: socket.socket) -> None:
            for one in (sock, peers.pop(sock)):
                peers.pop(one, None)
                selector.unregister(one)
                one.close()

        while not self._stop.is_set():  # bounded by stop(); each select waits at most 50 ms
            for key, _ in selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if key.data == "listener":
                    client, _ = self.listener.accept()
                    server = socket.create_connection(self.upstream, timeout=5)
                    peers[client], peers[server] = server, client
                    selector.register(client, selectors.EVENT_READ, "client")
                    selector.register(server, selectors.EVENT_READ, "server")
                    continue
                if sock not in peers:
                    continue
                data = sock.recv(65536)
                if not data:
                    close(sock)
                elif key.data == "client" and self._armed.is_set():
                    self._armed.clear()
                    peers[sock].sendall(data)
                    assert peers[sock].recv(65536)  # Redis has run the command and answered
                    self.dropped += 1
                    close(sock)
                else:
                    peers[sock].sendall(data)
        for sock in list(peers):
            sock.close()
        selector.close()
        self.listener.close()

    def __enter__(self) -> ReplyDroppingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive()


@contextmanager
def reply_dropping_proxy(redis_url: str) -> Iterator[ReplyDroppingProxy]:
    parts = urlsplit(redis_url)
    assert parts.hostname is not None and parts.port is not None
    with ReplyDroppingProxy((parts.hostname, parts.port)) as proxy:
        yield proxy


def _calls(client: redis.Redis, command: str) -> int:
    """How many times Redis has run `command` since it started (INFO commandstats)."""
    stats = client.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


async def test_a_create_whose_reply_was_lost_is_not_sent_again(
    make_store: StoreFactory, redis_url: str, redis_client: redis.Redis
) -> None:
    with reply_dropping_proxy(redis_url) as proxy:
        store = make_store(url=proxy.url)
        await store.create({"warm": 1})  # the connection is open and kept
        sets = _calls(redis_client, "set")

        proxy.arm()
        with pytest.raises(BackendUnavailable):  # not "id collision" from a replayed SET NX
            await store.create({"lost": "reply"})

        assert proxy.dropped == 1
        assert _calls(redis_client, "set") == sets + 1  # sent once, and Redis stored it
        assert await store.count() == 2
        assert dict(await loaded(store, (await store.create({"after": 1})).id)) == {"after": 1}


async def test_a_regenerate_whose_reply_was_lost_is_not_sent_again(
    make_store: StoreFactory, redis_url: str, redis_client: redis.Redis
) -> None:
    with reply_dropping_proxy(redis_url) as proxy:
        store = make_store(url=proxy.url)
        warm = await store.create({"warm": 1})
        await store.regenerate(warm)  # loads the scripts
        await store.delete(warm.id)
        session = await store.create({"cart": [1, 2]})  # no user: the move is the batch's one call
        old_id = session.id
        scripts = _calls(redis_client, "evalsha")

        proxy.arm()
        with pytest.raises(BackendUnavailable):  # not "the session no longer exists" from a replay
            await store.regenerate(session)

        assert proxy.dropped == 1
        assert _calls(redis_client, "evalsha") == scripts + 1
        assert not await store.exists(old_id)
        (moved,) = (await store.list_sessions()).sessions  # Redis moved it once: the user is logged in
        assert moved.id != old_id and dict(moved) == {"cart": [1, 2]}


def _connections_seen_while(
    redis_url: str, name: str, work: Callable[[], None], *, interval: float = 0.002
) -> int:
    """Run `work` while another thread samples CLIENT LIST; the most connections named `name` seen."""
    most = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal most
        with redis.Redis.from_url(redis_url) as watcher:
            while not done.is_set():  # bounded by `work`
                most = max(most, len([c for c in watcher.client_list() if c.get("name") == name]))
                time.sleep(interval)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join(timeout=10)
    return most


def _shop(store: SessionStore, rounds: int, failures: list[BaseException]) -> None:
    try:
        for i in range(rounds):
            session = store.create({"i": i}, user_id=f"u{i % 3}")  # two calls: SET, index script
            copy = store.get(session.id)
            assert copy is not None
            copy["seen"] = True
            assert store.save(copy)
            assert store.delete(session.id)
    except BaseException as exc:
        failures.append(exc)


async def _ashop(store: AnyStore, rounds: int) -> None:
    for i in range(rounds):
        session = await store.create({"i": i}, user_id=f"u{i % 3}")
        copy = await loaded(store, session.id)
        copy["seen"] = True
        assert await store.save(copy)
        assert await store.delete(session.id)


async def test_more_callers_than_max_connections_all_succeed_and_the_limit_holds(
    make_store: StoreFactory, redis_url: str
) -> None:
    url, name = _named_url(redis_url)
    store = make_store(url=f"{url}&max_connections=2")
    callers, rounds = 12, 15

    if isinstance(store, SyncAsAsync):  # threads
        failures: list[BaseException] = []

        def work() -> None:
            threads = [
                threading.Thread(target=_shop, args=(store.inner, rounds, failures)) for _ in range(callers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)

        most = await asyncio.to_thread(_connections_seen_while, redis_url, name, work)
        assert failures == []
    else:  # tasks on one event loop
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def wait() -> None:
            asyncio.run_coroutine_threadsafe(done.wait(), loop).result(timeout=30)

        watching = asyncio.ensure_future(asyncio.to_thread(_connections_seen_while, redis_url, name, wait))
        try:
            await asyncio.gather(*(_ashop(store, rounds) for _ in range(callers)))
        finally:
            done.set()
        most = await watching

    assert 1 <= most <= 2
    assert await store.count() == 0


async def test_a_caller_waits_for_a_free_connection_at_most_connect_timeout(
    make_store: StoreFactory, redis_url: str, redis_client: redis.Redis
) -> None:
    store = make_store(url=f"{redis_url}?max_connections=1", connect_timeout=0.2, command_timeout=2)
    session = await store.create({"a": 1})
    redis_client.client_pause(700)  # the one connection waits on Redis meanwhile
    if isinstance(store, SyncAsAsync):
        holder = threading.Thread(target=store.inner.get, args=(session.id,))
        holder.start()
        time.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as waited:
            store.inner.get(session.id)
        waited_s = time.monotonic() - started
        holder.join(timeout=5)
    else:
        holding = asyncio.ensure_future(store.get(session.id))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as waited:
            await store.get(session.id)
        waited_s = time.monotonic() - started
        assert (await holding) is not None
    assert waited.value.kind == "pool timeout"
    assert 0.15 < waited_s < 0.6

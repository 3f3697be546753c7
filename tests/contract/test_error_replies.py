"""Redis error replies are never a bare 500: a reply that means "not now" (OOM, LOADING, READONLY,
MASTERDOWN, BUSY, max clients, ...) becomes `BackendUnavailable` with its kind named, which the
integrations answer with a 503 and one log line; `health()` says the same. Each case is the real
condition on a private redis-server (the ACL cases are in test_acl.py)."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from redis._parsers import BaseParser

from redis_sessions import BackendUnavailable
from redis_sessions._drivers import translate
from redis_sessions.errors import BackendMisconfigured
from redis_sessions.testing import RedisServer, _wait_for_pong, free_port, running_redis_server
from tests.contract._stores import StoreFactory, loaded

on_redis = pytest.mark.parametrize("backend_url", ["redis"], indirect=True)


@pytest.fixture
def server(redis_url: str) -> Iterator[RedisServer]:
    """A private redis-server for one test (`redis_url` first: a missing binary skips or fails)."""
    with running_redis_server() as private:
        yield private


@pytest.fixture
def admin(server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(server.url, socket_timeout=5)
    yield client
    client.close()


def _fill(admin: redis.Redis) -> int:
    """Write junk until Redis refuses with OOM; how many keys it took (bounded)."""
    for n in range(10_000):
        try:
            admin.set(f"junk:{n}", "x" * 4096)
        except redis.exceptions.OutOfMemoryError:
            return n
    raise AssertionError("Redis never filled up")


@pytest.mark.anyio
@on_redis
async def test_a_full_redis_under_noeviction_refuses_writes_as_unavailable_oom_and_still_serves_reads(
    make_store: StoreFactory, server: RedisServer, admin: redis.Redis
) -> None:
    store = make_store(url=server.url)
    session = await store.create({"cart": [1]})
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", used + 256 * 1024)
    _fill(admin)

    with pytest.raises(BackendUnavailable) as created:
        await store.create({"new": True})
    assert created.value.kind == "OOM" and "OOM" in str(created.value)
    session["cart"] = [1, 2]
    with pytest.raises(BackendUnavailable) as saved:  # the save script's SET
        await store.save(session)
    assert saved.value.kind == "OOM"

    assert dict(await loaded(store, session.id)) == {"cart": [1]}  # GETEX still answers
    report = await store.health()
    assert not report.ok and "OOM" in report.detail


@pytest.mark.anyio
@on_redis
async def test_a_replica_answers_readonly_and_one_cut_off_from_its_primary_masterdown(
    make_store: StoreFactory, server: RedisServer, admin: redis.Redis
) -> None:
    store = make_store(url=server.url)
    admin.replicaof("127.0.0.1", free_port())  # a primary that is not there
    try:
        with pytest.raises(BackendUnavailable) as created:
            await store.create({"a": 1})
        assert created.value.kind == "READONLY"

        admin.config_set("replica-serve-stale-data", "no")
        with pytest.raises(BackendUnavailable) as got:
            await store.exists(store.new_session().id)  # a read (GETEX writes: READONLY)
        assert got.value.kind == "MASTERDOWN"
        report = await store.health()
        assert not report.ok and "MASTERDOWN" in report.detail
    finally:
        admin.replicaof("NO", "ONE")


@pytest.mark.anyio
@on_redis
async def test_a_redis_busy_running_a_script_answers_busy(
    make_store: StoreFactory, server: RedisServer, admin: redis.Redis
) -> None:
    store = make_store(url=server.url)
    session = await store.create({"a": 1})  # connected before the script starts
    admin.config_set("lua-time-limit", 50)  # ms before others get BUSY (busy-reply-threshold)
    spin = "local s = redis.call('TIME')[1] while tonumber(redis.call('TIME')[1]) < s + 5 do end"
    outcome: list[BaseException] = []

    def run_script() -> None:
        with redis.Redis.from_url(server.url, socket_timeout=10) as spinner:
            try:
                spinner.eval(spin, 0)
            except redis.ResponseError as exc:  # "Script killed by user with SCRIPT KILL"
                outcome.append(exc)

    thread = threading.Thread(target=run_script)
    thread.start()
    try:
        for _ in range(200):  # until Redis answers BUSY (bounded: 2 s)
            try:
                admin.ping()
            except redis.ResponseError as exc:
                assert str(exc).startswith("BUSY")
                break
            time.sleep(0.01)
        with pytest.raises(BackendUnavailable) as got:
            await store.get(session.id)
        assert got.value.kind == "BUSY"
        assert "BUSY" in (await store.health()).detail
    finally:
        for _ in range(100):  # SCRIPT KILL until it takes (bounded: 1 s)
            try:
                admin.script_kill()
                break
            except redis.ResponseError:
                time.sleep(0.01)
        thread.join(timeout=10)
    assert not thread.is_alive() and len(outcome) == 1


@pytest.mark.anyio
@on_redis
async def test_a_redis_still_loading_its_data_answers_loading(
    make_store: StoreFactory, redis_url: str
) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        options = ["--bind", "127.0.0.1", "--port", str(port), "--dir", workdir, "--appendonly", "no"]
        first = subprocess.Popen(["redis-server", *options, "--save", ""], stdout=subprocess.DEVNULL)
        try:
            _wait_for_pong(first, port)
            with redis.Redis(port=port) as client:
                keys = client.pipeline(transaction=False)
                for n in range(400):
                    keys.set(f"k{n}", "v" * 2000)
                keys.execute()
                client.save()
        finally:
            first.terminate()
            first.wait(timeout=10)
        # 400 keys at 5 ms each: 2 s of LOADING after the restart, answering clients between keys
        loading = ["--key-load-delay", "5000", "--loading-process-events-interval-bytes", "1024"]
        second = subprocess.Popen(
            ["redis-server", *options, "--save", "", *loading], stdout=subprocess.DEVNULL
        )
        try:
            store = make_store(url=f"redis://127.0.0.1:{port}/0", connect_timeout=0.5)
            got: BackendUnavailable | None = None
            for _ in range(100):  # until it listens (bounded: 1 s)
                try:
                    await store.get(store.new_session().id)
                except BackendUnavailable as exc:
                    if exc.kind != "connection":
                        got = exc
                        break
                time.sleep(0.01)
            assert got is not None and got.kind == "LOADING" and "LOADING" in str(got)
            report = await store.health()
            assert not report.ok and "LOADING" in report.detail
        finally:
            second.kill()
            second.wait(timeout=10)


@pytest.mark.anyio
@on_redis
async def test_a_redis_at_maxclients_is_unavailable_kind_max_clients(
    make_store: StoreFactory, store_kind: str, server: RedisServer, admin: redis.Redis
) -> None:
    admin.ping()
    admin.config_set("maxclients", 1)  # the admin connection is the one
    store = make_store(url=server.url)
    with pytest.raises(BackendUnavailable) as got:
        await store.create({"a": 1})
    if store_kind == "async" and int(redis.__version__.split(".")[0]) < 8:
        # redis-py < 8's async handshake fails writing to the closed socket before it reads the reply
        assert got.value.kind in ("max clients", "connection")
    else:
        assert got.value.kind == "max clients"


@pytest.mark.anyio
@on_redis
async def test_an_address_where_no_redis_answers_is_a_configuration_error(make_store: StoreFactory) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(5)

        def answer_like_a_web_server() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        thread = threading.Thread(target=answer_like_a_web_server)
        thread.start()
        try:
            store = make_store(url=f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
            with pytest.raises(BackendMisconfigured) as refused:
                await store.create({"a": 1})
            assert refused.value.kind == "protocol"
        finally:
            thread.join(timeout=10)


@pytest.mark.parametrize(
    ("reply", "kind", "misconfigured"),
    [
        ("LOADING Redis is loading the dataset in memory", "LOADING", False),
        ("READONLY You can't write against a read only replica.", "READONLY", False),
        (
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            "MASTERDOWN",
            False,
        ),
        ("CLUSTERDOWN The cluster is down", "CLUSTERDOWN", False),
        ("TRYAGAIN Multiple keys request during rehashing of slot", "TRYAGAIN", False),
        (
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
            "BUSY",
            False,
        ),
        ("OOM command not allowed when used memory > 'maxmemory'.", "OOM", False),
        (
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist",
            "MISCONF",
            False,
        ),
        ("NOREPLICAS Not enough good replicas to write.", "NOREPLICAS", False),
        ("ERR max number of clients reached", "max clients", False),
        ("ERR Error running script (call to f_0): @user_script:3: -OOM command not allowed", "OOM", False),
        ("WRONGTYPE Operation against a key holding the wrong kind of value", "WRONGTYPE", False),
        ("NOPERM this user has no permissions to run the 'evalsha' command", "NOPERM", True),
        ("ERR The user executing the script can't run this command or subcommand script: 1", "NOPERM", True),
        ("WRONGPASS invalid username-password pair or user is disabled.", "auth", True),
        ("NOAUTH Authentication required.", "auth", True),
        ("ERR unknown command 'GETEX', with args beginning with: ", "unknown command", True),
    ],
)
def test_the_error_table_names_each_reply_kind(reply: str, kind: str, misconfigured: bool) -> None:
    exc = BaseParser.parse_error(reply)  # type: ignore[no-untyped-call]  # what redis-py makes of it
    ours = translate(exc)
    assert ours.kind == kind
    assert isinstance(ours, BackendMisconfigured) is misconfigured
    assert isinstance(ours, BackendUnavailable)


def test_a_refused_command_is_named() -> None:
    reply = "NOPERM this user has no permissions to run the 'evalsha' command"
    ours = translate(BaseParser.parse_error(reply))  # type: ignore[no-untyped-call]
    assert isinstance(ours, BackendMisconfigured) and ours.command == "evalsha"
    assert "+evalsha" in str(ours)

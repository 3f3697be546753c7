"""`health()` in one round trip: latency, and as warnings (`degraded`) what makes sessions vanish
without a word: a ``maxmemory-policy`` that evicts them, and evictions seen (``INFO``, not ``CONFIG``,
which managed Redis services block)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from redis_sessions.testing import RedisServer, running_redis_server
from tests.contract._stores import StoreFactory

pytestmark = pytest.mark.anyio
on_redis = pytest.mark.parametrize("backend_url", ["redis"], indirect=True)


@pytest.fixture
def server(redis_url: str) -> Iterator[RedisServer]:
    with running_redis_server() as private:
        yield private


@on_redis
async def test_a_healthy_redis_is_ok_in_one_round_trip(make_store: StoreFactory) -> None:
    store = make_store()
    await store.health()
    before = store.round_trips
    report = await store.health()
    assert store.round_trips == before + 1
    assert report.ok and not report.degraded and report.backend == "redis"
    assert report.latency_ms is not None and report.latency_ms > 0
    assert report.maxmemory_policy == "noeviction" and report.evicted_keys == 0
    assert report.missing_permissions == ()
    assert "noeviction" in report.detail


@pytest.mark.parametrize("backend_url", ["memory"], indirect=True)
async def test_the_memory_backend_is_ok(make_store: StoreFactory) -> None:
    report = await make_store().health()
    assert report.ok and report.backend == "memory" and report.maxmemory_policy is None


@on_redis
async def test_an_evicting_policy_is_a_warning_and_so_are_evictions(
    make_store: StoreFactory, server: RedisServer
) -> None:
    store = make_store(url=server.url)
    with redis.Redis.from_url(server.url) as admin:
        admin.config_set("maxmemory-policy", "allkeys-lru")
        used = int(admin.info("memory")["used_memory"])
        admin.config_set("maxmemory", used + 512 * 1024)

        report = await store.health()
        assert report.ok and report.degraded  # served, but at risk
        assert report.maxmemory_policy == "allkeys-lru" and report.evicted_keys == 0
        assert "allkeys-lru evicts sessions" in report.detail and "noeviction" in report.detail

        for n in range(1000):  # more sessions than fit: Redis drops some, and says nothing
            await store.create({"n": n, "pad": "x" * 2000})
        assert int(admin.info("stats")["evicted_keys"]) > 0

    report = await store.health()
    assert report.ok and report.degraded and (report.evicted_keys or 0) > 0
    assert f"evicted {report.evicted_keys} keys" in report.detail


@on_redis
async def test_memory_near_maxmemory_is_a_warning(make_store: StoreFactory, server: RedisServer) -> None:
    store = make_store(url=server.url)
    await store.health()  # its first SCRIPT LOAD grows Redis' memory
    with redis.Redis.from_url(server.url) as admin:
        admin.config_set("maxmemory", int(int(admin.info("memory")["used_memory"]) / 0.93))  # 93% used
    report = await store.health()
    assert report.ok and report.degraded and "of maxmemory" in report.detail
    assert "evicts" not in report.detail  # noeviction: nothing is evicted, writes are refused when full


@on_redis
async def test_an_unreachable_redis_is_not_ok(make_store: StoreFactory, server: RedisServer) -> None:
    store = make_store(url=server.url, connect_timeout=0.2)
    server.process.terminate()
    server.process.wait(timeout=10)
    report = await store.health()
    assert not report.ok and report.latency_ms is None and "unreachable" in report.detail

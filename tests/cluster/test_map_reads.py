"""Many requests need the Cluster's slot map at once (a store's first use, every primary's MOVED after
a failover): they share one read of it. redis-py's `NodesManager.initialize` is not safe to run
twice at once (redis-py 5.0's asyncio one fails with "dictionary changed size during iteration"),
and a read per request would be a storm of CLUSTER SLOTS on the servers."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest

from redis_sessions import AsyncSessionStore, SessionConfig, SessionStore
from redis_sessions._layout import KeyLayout
from redis_sessions.testing import LocalCluster
from tests.cluster._slots import private_cluster, query

SECRET = "map-reads-secret-0123456789abcdef"
REQUESTS = 64  # concurrent first requests


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    yield from private_cluster(replicas_per_primary=1)


def slot_map_reads(cluster: LocalCluster) -> int:
    """CLUSTER SLOTS / CLUSTER SHARDS calls the running nodes served since their counters were reset."""
    served = 0
    for node in cluster.nodes:
        if node.alive:
            stats = query(node, "INFO", "commandstats")
            assert isinstance(stats, dict)
            served += sum(
                int(value["calls"])
                for name, value in stats.items()
                if name in ("cmdstat_cluster|slots", "cmdstat_cluster|shards")
            )
    return served


def reset_counters(cluster: LocalCluster) -> None:
    for node in cluster.nodes:
        if node.alive:
            query(node, "CONFIG", "RESETSTAT")


def config_for(cluster: LocalCluster) -> SessionConfig:
    return SessionConfig(url=cluster.url, secret_keys=[SECRET], key_prefix=f"mr{os.urandom(2).hex()}:")


def test_concurrent_first_requests_share_one_slot_map_read_async(cluster: LocalCluster) -> None:
    config = config_for(cluster)
    with SessionStore(config) as setup:
        ids = [setup.create({"n": n}).id for n in range(REQUESTS)]

    async def first_requests() -> list[object]:
        async with AsyncSessionStore(config) as store:
            reset_counters(cluster)
            sessions = await asyncio.gather(*(store.get(session_id) for session_id in ids))
            return [None if s is None else s["n"] for s in sessions]

    assert asyncio.run(first_requests()) == list(range(REQUESTS))
    assert slot_map_reads(cluster) <= 2  # redis-py's first read may ask a second node


def test_concurrent_first_requests_share_one_slot_map_read_sync(cluster: LocalCluster) -> None:
    config = config_for(cluster)
    with SessionStore(config) as setup:
        ids = [setup.create({"n": n}).id for n in range(REQUESTS)]
    found: dict[int, object] = {}
    with SessionStore(config) as store:
        reset_counters(cluster)
        start = threading.Barrier(16)

        def worker(part: int) -> None:
            start.wait(timeout=10)
            for n in range(part, REQUESTS, 16):
                session = store.get(ids[n])
                found[n] = None if session is None else session["n"]

        threads = [threading.Thread(target=worker, args=(part,)) for part in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert [found.get(n) for n in range(REQUESTS)] == list(range(REQUESTS))
    assert slot_map_reads(cluster) <= 2


def test_after_a_failover_concurrent_requests_share_the_map_re_read(cluster: LocalCluster) -> None:
    """Every request on the old primary's slots answers MOVED at once: one re-read serves them all."""
    config = config_for(cluster)

    async def run() -> None:
        async with AsyncSessionStore(config) as store:
            sessions = [await store.create({"n": n}) for n in range(REQUESTS)]
            primary = cluster.primary_for(KeyLayout(config.key_prefix).session_key(sessions[0].id))
            cluster.failover(cluster.replicas_of(primary)[0])  # reads the map itself
            reset_counters(cluster)
            got = await asyncio.gather(*(store.get(s.id) for s in sessions))
            assert [None if s is None else s["n"] for s in got] == list(range(REQUESTS))
            assert 1 <= slot_map_reads(cluster) <= 3

    asyncio.run(run())
    cluster.wait_healthy()

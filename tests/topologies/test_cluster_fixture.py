"""`running_redis_cluster` (`redis_sessions.testing`): the cluster comes up, redis-py's `RedisCluster` works
against it, and CLUSTER FAILOVER and a SIGKILLed primary end with the roles the helper reports."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import ClusterNode as StartupNode
from redis.cluster import RedisCluster

from redis_sessions.testing import LocalCluster, running_redis_cluster

pytestmark = pytest.mark.slow


@pytest.fixture
def client(redis_cluster: LocalCluster) -> Iterator[RedisCluster]:
    nodes = [StartupNode(host, port) for host, port in redis_cluster.startup_nodes]  # type: ignore[no-untyped-call]
    cluster_client = RedisCluster(startup_nodes=nodes, socket_timeout=5)
    yield cluster_client
    cluster_client.close()


def test_three_primaries_each_with_one_replica(redis_cluster: LocalCluster) -> None:
    primaries, replicas = redis_cluster.primaries(), redis_cluster.replicas()
    assert len(primaries) == 3 and len(replicas) == 3
    assert [len(redis_cluster.replicas_of(primary)) for primary in primaries] == [1, 1, 1]
    assert {redis_cluster.primary_of(replica) for replica in replicas} == set(primaries)
    ports = [node.port for node in redis_cluster.nodes]
    assert redis_cluster.url == "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in ports)
    assert all(node.url == f"redis://127.0.0.1:{node.port}/0" and node.alive for node in redis_cluster.nodes)
    with redis.Redis(port=ports[0], decode_responses=True) as node:
        assert node.execute_command("CLUSTER", "INFO").startswith("cluster_state:ok")


def test_a_key_round_trips_through_redis_py_cluster(
    redis_cluster: LocalCluster, client: RedisCluster
) -> None:
    for key in ("topologies:a", "topologies:b", "topologies:c"):
        client.set(key, key)
        assert client.get(key) == key.encode()
        with redis.Redis(port=redis_cluster.primary_for(key).port) as owner:
            assert owner.get(key) == key.encode()  # the node the helper names serves the key


def test_cluster_failover_promotes_the_replica(redis_cluster: LocalCluster, client: RedisCluster) -> None:
    client.set("topologies:failover", "kept")
    primary = redis_cluster.primary_for("topologies:failover")
    (replica,) = redis_cluster.replicas_of(primary)
    redis_cluster.failover(replica)
    assert redis_cluster.role(replica) == "primary" and redis_cluster.role(primary) == "replica"
    assert redis_cluster.primary_of(primary) is replica
    assert redis_cluster.primary_for("topologies:failover") is replica
    assert client.get("topologies:failover") == b"kept"


def test_a_sigkilled_primary_is_replaced(redis_cluster: LocalCluster, client: RedisCluster) -> None:
    client.set("topologies:kill", "kept")
    redis_cluster.wait_healthy()  # replicas caught up: the write survives the kill
    primary = redis_cluster.primary_for("topologies:kill")
    (replica,) = redis_cluster.replicas_of(primary)
    redis_cluster.kill(primary)
    try:
        assert not primary.alive and redis_cluster.role(primary) is None
        redis_cluster.wait_healthy()
        assert redis_cluster.primary_for("topologies:kill") is replica
        assert client.get("topologies:kill") == b"kept"
    finally:
        redis_cluster.restart(primary)
        redis_cluster.wait_healthy()
    assert redis_cluster.role(primary) == "replica" and redis_cluster.primary_of(primary) is replica


@pytest.mark.parametrize("binary", ["missing", "true"])
def test_a_missing_or_broken_binary_raises(tmp_path: Path, binary: str) -> None:
    """A missing binary: FileNotFoundError (the fixture skips on it); one that exits at once (`true`):
    RuntimeError naming the port."""
    path = str(tmp_path / "missing") if binary == "missing" else shutil.which("true")
    assert path is not None
    expected: type[Exception] = FileNotFoundError if binary == "missing" else RuntimeError
    match = "did not answer PING" if binary == "true" else None
    with pytest.raises(expected, match=match), running_redis_cluster(binary=path):
        pass

"""`running_redis_sentinel` (`redis_sessions.testing`): the set comes up, redis-py's `Sentinel.master_for`
works against it, and SENTINEL FAILOVER and a SIGKILLed primary end with the roles the helper reports."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.sentinel import Sentinel

from redis_sessions.testing import LocalSentinel, running_redis_sentinel

pytestmark = pytest.mark.slow


@pytest.fixture
def client(redis_sentinel: LocalSentinel) -> Iterator[redis.Redis]:
    sentinels = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=5)  # type: ignore[no-untyped-call]
    primary = sentinels.master_for(redis_sentinel.service, socket_timeout=5)  # type: ignore[no-untyped-call]
    yield primary
    primary.close()
    for sentinel in sentinels.sentinels:
        sentinel.close()


def test_one_primary_one_replica_three_sentinels(redis_sentinel: LocalSentinel) -> None:
    primary = redis_sentinel.primary()
    assert redis_sentinel.role(primary) == "primary"
    assert redis_sentinel.replicas() == [node for node in redis_sentinel.nodes if node is not primary]
    assert len(redis_sentinel.nodes) == 2 and len(redis_sentinel.sentinels) == 3
    hosts = ",".join(f"127.0.0.1:{port}" for port in redis_sentinel.sentinel_ports)
    assert redis_sentinel.url == f"redis+sentinel://{hosts}/mymaster"
    for port in redis_sentinel.sentinel_ports:
        with redis.Redis(port=port, decode_responses=True) as sentinel:
            assert sentinel.execute_command("SENTINEL", "CKQUORUM", "mymaster").startswith("OK 3 usable")


def test_a_key_round_trips_through_master_for(redis_sentinel: LocalSentinel, client: redis.Redis) -> None:
    client.set("topologies:a", "a")
    assert client.get("topologies:a") == b"a"
    with redis.Redis(port=redis_sentinel.primary().port) as primary:
        assert primary.get("topologies:a") == b"a"  # the node the helper names got the write


def test_sentinel_failover_promotes_the_replica(redis_sentinel: LocalSentinel, client: redis.Redis) -> None:
    client.set("topologies:failover", "kept")
    old = redis_sentinel.primary()
    (replica,) = redis_sentinel.replicas()
    assert redis_sentinel.failover() is replica
    assert redis_sentinel.primary() is replica and redis_sentinel.role(replica) == "primary"
    assert redis_sentinel.role(old) == "replica"  # turned into a replica by the sentinels
    client.set("topologies:failover-after", "new")  # master_for follows the sentinels
    with redis.Redis(port=replica.port) as new_primary:
        assert new_primary.get("topologies:failover-after") == b"new"
        assert new_primary.get("topologies:failover") == b"kept"


def test_a_sigkilled_primary_is_replaced(redis_sentinel: LocalSentinel, client: redis.Redis) -> None:
    client.set("topologies:kill", "kept")
    redis_sentinel.wait_healthy()  # the replica caught up: the write survives the kill
    old = redis_sentinel.primary()
    (replica,) = redis_sentinel.replicas()
    redis_sentinel.kill(old)
    try:
        redis_sentinel.wait_healthy()
        assert redis_sentinel.primary() is replica
        assert client.get("topologies:kill") == b"kept"
    finally:
        redis_sentinel.restart(old)
        redis_sentinel.wait_healthy()
    assert redis_sentinel.role(old) == "replica" and redis_sentinel.replicas() == [old]


@pytest.mark.parametrize("binary", ["missing", "true"])
def test_a_missing_or_broken_binary_raises(tmp_path: Path, binary: str) -> None:
    """A missing binary: FileNotFoundError (the fixture skips on it); one that exits at once (`true`):
    RuntimeError naming the port."""
    path = str(tmp_path / "missing") if binary == "missing" else shutil.which("true")
    assert path is not None
    expected: type[Exception] = FileNotFoundError if binary == "missing" else RuntimeError
    match = "did not answer PING" if binary == "true" else None
    with pytest.raises(expected, match=match), running_redis_sentinel(binary=path):
        pass

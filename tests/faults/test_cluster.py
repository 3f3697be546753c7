"""Redis Cluster under load over real HTTP: ``CLUSTER FAILOVER`` on a replica and a SIGKILLed primary,
while 4 clients write their own sessions through the ASGI integration (uvicorn). The fault hits the
primary serving the most of the clients' sessions. No 500, no cross-talk, service back within
seconds; with ``replica_acks=1`` no acknowledged write is lost; without, the loss is measured (and
printed with ``-s``).

One cluster (3 primaries, 3 replicas, node timeout 2 s) for the module; each test leaves it healthy
(a killed primary is restarted, as a replica, once its replica has taken over).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from redis_sessions._layout import KeyLayout
from redis_sessions.testing import ClusterNode, LocalCluster, running_redis_cluster
from tests.faults.conftest import started
from tests.faults.load import Figures, assert_sound, scenario

pytestmark = pytest.mark.slow
REPLICA_ACKS = pytest.mark.parametrize("replica_acks", [0, 1], ids=["acks-off", "replica-acks-1"])


@pytest.fixture(scope="module")
def cluster_set() -> Iterator[LocalCluster]:
    yield from started(running_redis_cluster)


@pytest.fixture
def cluster(cluster_set: LocalCluster) -> LocalCluster:
    cluster_set.wait_healthy()
    return cluster_set


def busiest_primary(cluster: LocalCluster, prefix: str, session_ids: list[str]) -> ClusterNode:
    """The primary serving the most of these sessions."""
    layout = KeyLayout(prefix)
    owners = Counter(cluster.primary_for(layout.session_key(i)).port for i in session_ids)
    port = owners.most_common(1)[0][0]
    return next(node for node in cluster.nodes if node.port == port)


@REPLICA_ACKS
def test_cluster_failover_under_load(
    cluster: LocalCluster, replica_acks: int, key_prefix: str, tmp_path: Path, figures: list[Figures]
) -> None:
    switched: list[ClusterNode] = []

    def fault(session_ids: list[str]) -> None:
        primary = busiest_primary(cluster, key_prefix, session_ids)
        replica = next(node for node in cluster.replicas() if cluster.primary_of(node) is primary)
        cluster.failover(replica)  # CLUSTER FAILOVER: waits until it serves the slots
        switched.append(replica)

    log = tmp_path / "uvicorn.log"
    result = scenario(
        "Cluster CLUSTER FAILOVER",
        cluster.url,
        replicas=1,
        replica_acks=replica_acks,
        prefix=key_prefix,
        log=log,
        fault=fault,
    )
    figures.append(result)
    assert cluster.role(switched[0]) == "primary"
    assert_sound(result, log, lossless=replica_acks > 0)


@REPLICA_ACKS
def test_cluster_primary_killed_under_load(
    cluster: LocalCluster, replica_acks: int, key_prefix: str, tmp_path: Path, figures: list[Figures]
) -> None:
    killed: list[ClusterNode] = []

    def fault(session_ids: list[str]) -> None:
        primary = busiest_primary(cluster, key_prefix, session_ids)
        cluster.kill(primary)  # SIGKILL
        killed.append(primary)
        cluster.wait_healthy()  # its replica took over its slots
        cluster.restart(primary)  # back, empty, as a replica: durable writes need one

    log = tmp_path / "uvicorn.log"
    result = scenario(
        "Cluster primary SIGKILL",
        cluster.url,
        replicas=1,
        replica_acks=replica_acks,
        prefix=key_prefix,
        log=log,
        fault=fault,
    )
    figures.append(result)
    cluster.wait_healthy()  # the restarted node has rejoined as a replica
    assert cluster.role(killed[0]) == "replica"
    assert_sound(result, log, lossless=replica_acks > 0)

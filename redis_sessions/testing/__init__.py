"""Test helpers, for this suite and for yours: local Redis topologies on loopback ports, no Docker.

- `redis_server` / `running_redis_server`: one private ``redis-server``.
- `running_redis_cluster`: a Redis Cluster (3 primaries, 3 replicas by default), `LocalCluster`.
- `running_redis_sentinel`: a primary, its replica and three sentinels, `LocalSentinel`.

Each needs the ``redis-server`` binary (on PATH, or ``binary=``; Redis 6.2 or later, measured on 7.0) and
raises `FileNotFoundError` without it, `RuntimeError` when the topology does not come up in time (every
wait is bounded). All listen on 127.0.0.1 only, on free ports, with their files in a temporary directory;
every process is stopped by its PID when the ``with`` block ends (SIGCONT, SIGTERM, SIGKILL after 10
seconds). See each module's docstring for usage.
"""

from ._cluster import DEFAULT_NODE_TIMEOUT_MS, ClusterNode, LocalCluster, running_redis_cluster
from ._sentinel import (
    DEFAULT_DOWN_AFTER_MS,
    DEFAULT_FAILOVER_TIMEOUT_MS,
    LocalSentinel,
    running_redis_sentinel,
)
from ._server import RedisNode, RedisServer, _wait_for_pong, free_port, redis_server, running_redis_server

__all__ = [
    "DEFAULT_DOWN_AFTER_MS",
    "DEFAULT_FAILOVER_TIMEOUT_MS",
    "DEFAULT_NODE_TIMEOUT_MS",
    "ClusterNode",
    "LocalCluster",
    "LocalSentinel",
    "RedisNode",
    "RedisServer",
    "_wait_for_pong",
    "free_port",
    "redis_server",
    "running_redis_cluster",
    "running_redis_sentinel",
    "running_redis_server",
]

"""A local Redis Cluster (by default 3 primaries, 3 replicas) on loopback ports, for this suite and for yours.

    from redis_sessions.testing import running_redis_cluster

    with running_redis_cluster() as cluster:      # stopped, and its files deleted, after the block
        config = SessionConfig(url=cluster.url, secret_keys=["..."])   # "redis+cluster://127.0.0.1:p1,..."
        node = cluster.primary_for("some-key")    # the primary serving that key's slot
        cluster.kill(node)                        # SIGKILL; its replica takes over after the node timeout
        cluster.wait_healthy()                    # every slot served again, every node agrees
        cluster.restart(node)                     # same port and node id: it rejoins as a replica
        cluster.failover(cluster.replicas()[0])   # CLUSTER FAILOVER, waits for the new roles

The nodes are `redis-server` processes (from PATH unless `binary` is given) started in parallel without
persistence, then joined with CLUSTER ADDSLOTS / SET-CONFIG-EPOCH / MEET / REPLICATE (what
``redis-cli --cluster create`` does, without its one-second polls); ``redis-cli --cluster reshard`` works
on it. A restarted node comes back empty (no persistence) but keeps its node id and cluster view from its
``nodes-<port>.conf``. Acknowledged writes survive a SIGKILL only once the replicas have them: call
`wait_healthy` (it waits for that) before killing a primary.

Timing, measured on a 2-core VM with Redis 7.0.15: start 2.1 to 2.3 seconds (a node refuses to serve as a
primary during its first 2 seconds), `failover` about 1 second, a SIGKILLed primary replaced (and every
node agreeing) in about 4 seconds with the default ``cluster-node-timeout`` of 2000 ms (failure detection
takes that long, then an election of 0.5 to 1 second), about 2.5 seconds with ``node_timeout_ms=1000``.
"""

from __future__ import annotations

import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import redis

from ._server import (
    RedisNode,
    _bounded_wait,
    _Clients,
    _find_binary,
    _kill,
    _reason_or_error,
    _spawn,
    _start_nodes,
    _stop_processes,
    free_port,
)

SLOTS = 16384
DEFAULT_NODE_TIMEOUT_MS = 2000
# Flags in CLUSTER NODES that mean a node is not (yet) a healthy member in someone's view.
_BAD_FLAGS = frozenset({"fail", "fail?", "handshake", "noaddr"})


@dataclass(eq=False)
class ClusterNode(RedisNode):
    """A cluster node: `port` (its cluster bus is `port` + 10000), `process`, `url`, and its `node_id`
    (kept across `LocalCluster.restart`). Its role changes with failovers: ask `LocalCluster.role`."""

    node_id: str = ""


class LocalCluster:
    """A running local cluster; see the module docstring. Built by `running_redis_cluster`."""

    def __init__(self, node_timeout_ms: int, workdir: Path) -> None:
        self.nodes: list[ClusterNode] = []
        self.node_timeout_ms = node_timeout_ms
        self._workdir = workdir
        self._clients = _Clients()

    @property
    def url(self) -> str:
        """``redis+cluster://127.0.0.1:<port>,...`` listing every node (the redis_sessions URL form)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        """``[("127.0.0.1", port), ...]`` for every node, e.g. for redis-py's ``ClusterNode`` list."""
        return [("127.0.0.1", node.port) for node in self.nodes]

    # Roles, read live.

    def role(self, node: ClusterNode) -> Literal["primary", "replica"] | None:
        """What `node` says it is now (ROLE), or None when it is down or does not answer in 2 seconds."""
        if not node.alive:
            return None
        try:
            reply = self._clients.query(node.port, "ROLE")
        except redis.RedisError:
            return None
        return "primary" if reply[0] == "master" else "replica"

    def primaries(self) -> list[ClusterNode]:
        """The running nodes that answer ROLE as primaries, in `nodes` order."""
        return [node for node in self.nodes if self.role(node) == "primary"]

    def replicas(self) -> list[ClusterNode]:
        """The running nodes that answer ROLE as replicas, in `nodes` order."""
        return [node for node in self.nodes if self.role(node) == "replica"]

    def primary_of(self, replica: ClusterNode) -> ClusterNode | None:
        """The node `replica` replicates from (its ROLE), or None if it is not a running replica."""
        try:
            reply = self._clients.query(replica.port, "ROLE") if replica.alive else ["master"]
        except redis.RedisError:
            return None
        if reply[0] != "slave":
            return None
        return self._by_port(int(reply[2]))

    def replicas_of(self, primary: ClusterNode) -> list[ClusterNode]:
        """The running replicas that replicate from `primary` now (their ROLE), in `nodes` order."""
        return [node for node in self.replicas() if self.primary_of(node) is primary]

    def primary_for(self, key: str | bytes) -> ClusterNode:
        """The node serving `key`'s hash slot now, as the first running node sees it (CLUSTER SLOTS)."""
        asker = self._any_live_node()
        slot = int(self._clients.query(asker.port, "CLUSTER", "KEYSLOT", key))
        for start, end, primary, *_ in self._clients.query(asker.port, "CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return self._by_port(int(primary[1]))
        raise RuntimeError(f"no node serves slot {slot} (cluster not healthy?)")

    # Faults.

    def kill(self, node: ClusterNode) -> None:
        """SIGKILL `node` and reap it. Its replica takes over once the others mark it failed (about
        `node_timeout_ms`, then an election); call `wait_healthy` to wait for that."""
        _kill(node)
        self._clients.forget(node.port)

    def restart(self, node: ClusterNode) -> None:
        """Start a stopped (killed) `node` again on its port with its own ``nodes-<port>.conf``: same node
        id, it rejoins with the roles the others agreed on meanwhile (a replaced primary comes back as a
        replica of its successor). It comes back without data. Returns once it answers PING; call
        `wait_healthy` to wait until it has rejoined. Raises `RuntimeError` if it is still running."""
        if node.alive:
            raise RuntimeError(f"node {node.port} is still running: kill it first")
        self._clients.forget(node.port)
        node.process = _spawn(node.argv, self._workdir, node.port)
        _start_nodes([node], "restarted cluster node", self._workdir)

    def failover(
        self,
        replica: ClusterNode,
        *,
        mode: Literal["default", "force", "takeover"] = "default",
        timeout: float = 30.0,
    ) -> None:
        """``CLUSTER FAILOVER`` (``FORCE``/``TAKEOVER`` per `mode`; "default" needs the primary up and
        loses no acknowledged write) on `replica`, then wait until it is a primary and the cluster is
        healthy (`wait_healthy`): about a second. Raises `RuntimeError` if `replica` is not a running
        replica or that does not happen within `timeout` seconds.

        Redis 7.0 reuses a replica's last election for a manual failover asked within
        2 x max(2 x node timeout, 2 s) of it (Valkey fixed this in 8.1, valkey-io/valkey#1711): the
        node turns primary with a stale epoch and is demoted at once. This method then asks again once
        that time is over, so failing the same node over twice in a row takes about 9 seconds by
        default."""
        if self.role(replica) != "replica":
            raise RuntimeError(f"node {replica.port} is not a running replica")
        args = ["CLUSTER", "FAILOVER"] + ([] if mode == "default" else [mode.upper()])
        retry_after = 2 * max(2 * self.node_timeout_ms, 2000) / 1000 + 0.5
        deadline = time.monotonic() + timeout

        def promoted() -> str | None:
            role = self.role(replica)
            return self._unhealthy_reason() if role == "primary" else f"it is still a {role}"

        while True:
            if self.role(replica) == "replica":
                self._clients.query(replica.port, *args)
            try:
                _bounded_wait(
                    max(min(retry_after, deadline - time.monotonic()), 0.1),
                    f"replica {replica.port} did not take over",
                    promoted,
                    0.1,
                    self._logs(),
                )
                return
            except RuntimeError:
                if time.monotonic() + 1 > deadline:
                    raise

    # Health.

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until every running node reports ``cluster_state:ok``, sees every other running node
        as connected and not failing, all running nodes agree on who serves every one of the 16384
        slots, each of those is a running primary, and every running replica's link is up and caught up
        with its primary's replication offset. A frozen (SIGSTOPped) node counts as running: the cluster
        is not healthy while one is. Raises `RuntimeError` (with the last thing still wrong and the
        nodes' last log warnings) after `timeout` seconds."""
        _bounded_wait(
            timeout, "the cluster did not become healthy", self._unhealthy_reason, 0.1, self._logs()
        )

    def _unhealthy_reason(self) -> str | None:
        return _reason_or_error(self._check)

    def _check(self) -> str | None:
        live = [node for node in self.nodes if node.alive]
        if not live:
            return "no node is running"
        # What each running node says it is: its ROLE, as (primary's node id or "-"), and its offset.
        roles: dict[str, tuple[str, int, str]] = {}
        for node in live:
            reply = self._clients.query(node.port, "ROLE")
            if reply[0] == "master":
                roles[node.node_id] = ("-", int(reply[1]), "connected")
            else:
                primary_id = self._by_port(int(reply[2])).node_id
                roles[node.node_id] = (primary_id, int(reply[4]), reply[3])
        slot_maps: set[tuple[tuple[int, int, int], ...]] = set()
        for node in live:
            info = self._clients.query(node.port, "CLUSTER", "INFO")
            if "cluster_state:ok" not in info:
                return f"node {node.port} does not report cluster_state:ok"
            for line in self._clients.query(node.port, "CLUSTER", "NODES").splitlines():
                node_id, _addr, flags, primary_id, _ping, _pong, _epoch, link, *_slots = line.split()
                if node_id not in roles:
                    continue
                if _BAD_FLAGS.intersection(flags.split(",")) or link != "connected":
                    return f"node {node.port} sees {node_id[:8]} as {flags} {link}"
                if primary_id != roles[node_id][0]:
                    return f"node {node.port} does not know {node_id[:8]}'s role yet"
            slots = self._clients.query(node.port, "CLUSTER", "SLOTS")
            slot_maps.add(tuple(sorted((int(s), int(e), int(p[1])) for s, e, p, *_ in slots)))
        if len(slot_maps) > 1:
            return "the nodes do not agree on the slot map yet"
        (slot_map,) = slot_maps
        if sum(end - start + 1 for start, end, _ in slot_map) != SLOTS:
            return "not every slot is served"
        for port in {port for _, _, port in slot_map}:
            node = self._by_port(port)
            if node.node_id not in roles or roles[node.node_id][0] != "-":
                return f"slots are served by {port}, which is not a running primary"
        # Replicas last, after their primaries' offsets were read: caught up means at least that far.
        for node in live:
            primary_id, _, _ = roles[node.node_id]
            if primary_id == "-":
                continue
            _, _host, primary_port, state, offset = self._clients.query(node.port, "ROLE")
            if state != "connected":
                return f"replica {node.port}'s link to {primary_port} is {state}"
            if primary_id not in roles:
                return f"replica {node.port}'s primary {primary_port} is not running"
            if int(offset) < roles[primary_id][1]:
                return f"replica {node.port} is behind its primary {primary_port}"
        return None

    # Plumbing.

    def _logs(self) -> list[Path]:
        return sorted(self._workdir.glob("*.log"))

    def _by_port(self, port: int) -> ClusterNode:
        for node in self.nodes:
            if node.port == port:
                return node
        raise RuntimeError(f"port {port} is not a node of this cluster")

    def _any_live_node(self) -> ClusterNode:
        for node in self.nodes:
            if node.alive:
                return node
        raise RuntimeError("no node is running")

    def _join(self, primaries: int, timeout: float) -> None:
        """Slots, epochs, MEET, REPLICATE: ``redis-cli --cluster create`` without its 1-second polls."""
        query = self._clients.query
        for node in self.nodes:
            node.node_id = str(query(node.port, "CLUSTER", "MYID"))
        for index in range(primaries):
            first, last = SLOTS * index // primaries, SLOTS * (index + 1) // primaries - 1
            query(self.nodes[index].port, "CLUSTER", "ADDSLOTS", *range(first, last + 1))
        for epoch, node in enumerate(self.nodes, start=1):
            query(node.port, "CLUSTER", "SET-CONFIG-EPOCH", epoch)
        hub = self.nodes[0]
        for node in self.nodes[1:]:
            query(hub.port, "CLUSTER", "MEET", "127.0.0.1", node.port)
        deadline = time.monotonic() + timeout
        _bounded_wait(timeout, "the cluster nodes did not all meet", self._unmet_reason, 0.05, self._logs())
        for index, node in enumerate(self.nodes[primaries:]):
            query(node.port, "CLUSTER", "REPLICATE", self.nodes[index % primaries].node_id)
        self.wait_healthy(max(deadline - time.monotonic(), 1.0))

    def _unmet_reason(self) -> str | None:
        for node in self.nodes:
            try:
                lines = self._clients.query(node.port, "CLUSTER", "NODES").splitlines()
            except redis.RedisError as exc:
                return f"{type(exc).__name__}: {exc}"
            known = [line for line in lines if "handshake" not in line.split()[2]]
            if len(known) < len(self.nodes):
                return f"node {node.port} knows {len(known)} of {len(self.nodes)} nodes"
        return None

    def _stop(self) -> None:
        self._clients.close()
        _stop_processes([node.process for node in self.nodes])


def _cluster_port(taken: set[int]) -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    for _ in range(200):
        port = free_port()
        if port in taken or port + 10000 in taken or port + 10000 > 65535:
            continue
        with suppress(OSError), socket.socket() as sock:
            sock.bind(("127.0.0.1", port + 10000))
            return port
    raise RuntimeError("found no free port pair for a cluster node")


@contextmanager
def running_redis_cluster(
    *,
    primaries: int = 3,
    replicas_per_primary: int = 1,
    node_timeout_ms: int = DEFAULT_NODE_TIMEOUT_MS,
    binary: str | None = None,
    start_timeout: float = 30.0,
) -> Iterator[LocalCluster]:
    """Start a cluster of `primaries` x (1 + `replicas_per_primary`) nodes on 127.0.0.1 (free ports; the
    first `primaries` nodes start as the primaries, slots split evenly) and yield it once healthy;
    stop every process by its PID afterwards. `node_timeout_ms` is ``cluster-node-timeout``: how long a
    node must be unreachable before it is failed over. Replicas may always fail over
    (``cluster-replica-validity-factor 0``) and never migrate. Raises `FileNotFoundError` when there is
    no ``redis-server`` (on PATH, or `binary`), `RuntimeError` when the cluster is not healthy within
    `start_timeout` seconds."""
    if primaries < 1 or replicas_per_primary < 0:
        raise ValueError("a cluster needs at least one primary and a non-negative replica count")
    server = _find_binary(binary)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="redis-cluster-") as workdir:
        cluster = LocalCluster(node_timeout_ms, Path(workdir))
        try:
            taken: set[int] = set()
            for _ in range(primaries * (1 + replicas_per_primary)):
                port = _cluster_port(taken)
                taken.update((port, port + 10000))
                argv = _node_argv(server, port, Path(workdir), node_timeout_ms)
                cluster.nodes.append(ClusterNode(port, _spawn(argv, Path(workdir), port), argv))
            _start_nodes(cluster.nodes, "cluster node", Path(workdir))
            cluster._join(primaries, max(start_timeout - (time.monotonic() - started), 1.0))
            yield cluster
        finally:
            cluster._stop()


def _node_argv(server: str, port: int, workdir: Path, node_timeout_ms: int) -> list[str]:
    options = {
        "bind": "127.0.0.1",
        "port": str(port),
        "dir": str(workdir),
        "logfile": str(workdir / f"node-{port}.log"),
        "save": "",
        "appendonly": "no",
        "dbfilename": f"dump-{port}.rdb",
        "cluster-enabled": "yes",
        "cluster-config-file": str(workdir / f"nodes-{port}.conf"),
        "cluster-node-timeout": str(node_timeout_ms),
        "cluster-replica-validity-factor": "0",
        "cluster-migration-barrier": "99",  # no replica moves to another primary
        # A replica (re)syncs at once, without an RDB file on disk.
        "repl-diskless-sync": "yes",
        "repl-diskless-sync-delay": "0",
    }
    return [server, *(part for name, value in options.items() for part in (f"--{name}", value))]


__all__ = ["DEFAULT_NODE_TIMEOUT_MS", "ClusterNode", "LocalCluster", "running_redis_cluster"]

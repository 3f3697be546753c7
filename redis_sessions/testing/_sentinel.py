"""A local Sentinel set (one primary, one replica, three sentinels) on loopback ports, for this suite and for
yours.

    from redis_sessions.testing import running_redis_sentinel

    with running_redis_sentinel() as sentinel:     # stopped, and its files deleted, after the block
        config = SessionConfig(url=sentinel.url, secret_keys=["..."])  # "redis+sentinel://...:s1,.../mymaster"
        old = sentinel.primary()                   # the data node the sentinels name now
        sentinel.failover()                        # SENTINEL FAILOVER, waits for the new roles
        sentinel.kill(sentinel.primary())          # SIGKILL: the sentinels promote the replica
        sentinel.wait_healthy()                    # ... waits for that
        sentinel.restart(old)                      # back as a replica of the current primary

Data nodes and sentinels are `redis-server` processes (from PATH unless `binary` is given; sentinels run
as ``redis-server <conf> --sentinel`` with a writable conf in a temporary directory) without persistence.
With redis-py: ``redis.sentinel.Sentinel(sentinel.sentinel_addresses).master_for(sentinel.service)``.

On Sentinel 7.0+ the helper tightens Sentinel's own periods with SENTINEL DEBUG (`SENTINEL_PERIODS_MS`);
older sentinels keep their defaults and every wait takes longer (up to about 10 seconds more).

Timing, measured on a 2-core VM with Redis 7.0.15: start about 1.3 seconds, ``failover`` about 3 seconds
(the switch takes one; then Sentinel waits 4 hello periods before it turns the old primary into a
replica), a SIGKILLed primary replaced in about 2.5 seconds with the default ``down-after-milliseconds``
of 1000.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Literal

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

DEFAULT_DOWN_AFTER_MS = 1000
DEFAULT_FAILOVER_TIMEOUT_MS = 3000
# Sentinel's own periods, tightened for tests (defaults 10000, 2000, 1000): it reads the replicas' INFO every
# second, so its view of them is fresh; sends hello messages every 0.5 s, so the sentinels agree on a new
# primary and turn a stale one into a replica (4 hello periods after they see it) within seconds; pings
# twice per `down_after_ms`, so one slow reply is no false "down".
SENTINEL_PERIODS_MS = {"info-period": 1000, "publish-period": 250, "ping-period": 500}
_DOWN_FLAGS = frozenset({"s_down", "o_down", "disconnected"})


def _pairs(reply: list[Any] | dict[Any, Any]) -> dict[str, str]:
    """A flat ``[name, value, ...]`` reply (SENTINEL MASTER, REPLICAS, SENTINELS) as a dict."""
    if isinstance(reply, dict):
        return {str(name): str(value) for name, value in reply.items()}
    return {str(reply[i]): str(reply[i + 1]) for i in range(0, len(reply) - 1, 2)}


class LocalSentinel:
    """A running local Sentinel set; see the module docstring. Built by `running_redis_sentinel`.

    `nodes` are the data nodes (the first started as the primary), `sentinels` the sentinel processes:
    both `RedisNode`s (port, process, url)."""

    def __init__(
        self,
        service: str,
        quorum: int,
        down_after_ms: int,
        failover_timeout_ms: int,
        server: str,
        workdir: Path,
    ) -> None:
        self.service = service
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.nodes: list[RedisNode] = []
        self.sentinels: list[RedisNode] = []
        self._server = server
        self._workdir = workdir
        self._clients = _Clients()

    @property
    def url(self) -> str:
        """``redis+sentinel://127.0.0.1:<s1>,...:<s3>/<service>`` (the redis_sessions URL form)."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.service}"

    @property
    def sentinel_ports(self) -> list[int]:
        """The sentinels' ports, in `sentinels` order."""
        return [node.port for node in self.sentinels]

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """``[("127.0.0.1", port), ...]``: the first argument of redis-py's ``Sentinel``."""
        return [("127.0.0.1", port) for port in self.sentinel_ports]

    # Roles, read live.

    def primary(self) -> RedisNode:
        """The data node the running sentinels name now (SENTINEL GET-MASTER-ADDR-BY-NAME; while they
        disagree, during a failover, the answer most of them give). Raises `RuntimeError` if no
        sentinel answers."""
        answers: Counter[int] = Counter()
        for sentinel in self.sentinels:
            if not sentinel.alive:
                continue
            try:
                reply = self._clients.query(
                    sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service
                )
            except redis.RedisError:
                continue
            if reply:
                answers[int(reply[1])] += 1
        if not answers:
            raise RuntimeError("no sentinel names a primary")
        return self._by_port(answers.most_common(1)[0][0])

    def role(self, node: RedisNode) -> Literal["primary", "replica"] | None:
        """What data node `node` says it is now (ROLE), or None when it is down or does not answer."""
        if not node.alive:
            return None
        try:
            reply = self._clients.query(node.port, "ROLE")
        except redis.RedisError:
            return None
        return "primary" if reply[0] == "master" else "replica"

    def replicas(self) -> list[RedisNode]:
        """The running data nodes that answer ROLE as replicas, in `nodes` order."""
        return [node for node in self.nodes if self.role(node) == "replica"]

    # Faults.

    def kill(self, node: RedisNode) -> None:
        """SIGKILL a data node or a sentinel, and reap it. A killed primary is replaced once a quorum of
        sentinels has seen it down for `down_after_ms` and one of them is elected to fail it over; call
        `wait_healthy` to wait for that."""
        _kill(node)
        self._clients.forget(node.port)

    def restart(self, node: RedisNode) -> None:
        """Start a stopped (killed) data node or sentinel again on its port. A data node comes back
        without data, as a replica of the primary the sentinels name now (or as the primary, if they
        still name it); a sentinel with its own conf file, so with what it knew. Returns once it answers
        PING; call `wait_healthy` to wait until it has rejoined. Raises `RuntimeError` if it is running."""
        if node.alive:
            raise RuntimeError(f"port {node.port} is still running: kill it first")
        self._clients.forget(node.port)
        node.process = _spawn(node.argv, self._workdir, node.port)
        _start_nodes([node], "restarted process", self._workdir)
        if node in self.sentinels:
            self._tune(node)
        else:
            primary = self.primary()
            if primary is not node:
                self._clients.query(node.port, "REPLICAOF", "127.0.0.1", primary.port)

    def failover(self, timeout: float = 30.0) -> RedisNode:
        """Wait until the set is healthy (so the replicas have every write made before the call: Sentinel
        promotes one without waiting for that), send ``SENTINEL FAILOVER <service>``, then wait until
        every running sentinel names the new primary, it answers ROLE as a primary, and the set is
        healthy again (`wait_healthy`: so the old primary, if running, has been turned into a replica of
        it); return the new primary. A failover the sentinel gives up (``-failover-abort-...``) is asked
        for again. Raises `RuntimeError` if that does not happen within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        self.wait_healthy(timeout)
        old = self.primary()
        asked: list[RedisNode] = []

        def ask() -> str | None:
            sentinel = self._any_live_sentinel()
            try:
                self._clients.query(sentinel.port, "SENTINEL", "FAILOVER", self.service)
            except redis.ResponseError as exc:  # NOGOODSLAVE until a sentinel has fresh replica INFO
                return str(exc)
            asked[:] = [sentinel]
            return None

        def switched() -> str | None:
            reason = self._switched_reason(old)
            if reason is None:
                return None
            with suppress(redis.RedisError):
                master = _pairs(self._clients.query(asked[0].port, "SENTINEL", "MASTER", self.service))
                if "failover_in_progress" not in master["flags"] and int(master["port"]) == old.port:
                    ask()  # it gave up
            return reason

        _bounded_wait(
            max(deadline - time.monotonic(), 1.0),
            "the sentinels did not accept SENTINEL FAILOVER",
            ask,
            0.2,
            self._logs(),
        )
        _bounded_wait(
            max(deadline - time.monotonic(), 1.0),
            "the sentinels did not name a new primary",
            switched,
            0.1,
            self._logs(),
        )
        new = self.primary()
        self.wait_healthy(max(deadline - time.monotonic(), 1.0))
        return new

    def _switched_reason(self, old: RedisNode) -> str | None:
        ports: set[int] = set()
        for sentinel in self.sentinels:
            if sentinel.alive:
                try:
                    reply = self._clients.query(
                        sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service
                    )
                except redis.RedisError as exc:
                    return f"sentinel {sentinel.port}: {type(exc).__name__}: {exc}"
                ports.add(int(reply[1]))
        if len(ports) != 1 or old.port in ports:
            return f"the sentinels name {sorted(ports)}"
        new = self._by_port(ports.pop())
        return None if self.role(new) == "primary" else f"{new.port} is not a primary yet"

    # Health.

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until every running sentinel names the same running primary without flagging it down or
        failing over, knows every other running sentinel, and sees every running replica as a healthy
        replica of that primary; and every running replica's link is up and caught up with the primary's
        replication offset. A frozen (SIGSTOPped) process counts as running: the set is not healthy while
        one is. Raises `RuntimeError` (with the last thing still wrong and the processes' last log
        warnings) after `timeout` seconds."""
        _bounded_wait(
            timeout, "the sentinel set did not become healthy", self._unhealthy_reason, 0.1, self._logs()
        )

    def _unhealthy_reason(self) -> str | None:
        return _reason_or_error(self._check)

    def _check(self) -> str | None:
        sentinels = [node for node in self.sentinels if node.alive]
        if not sentinels:
            return "no sentinel is running"
        named: set[int] = set()
        for sentinel in sentinels:
            master = _pairs(self._clients.query(sentinel.port, "SENTINEL", "MASTER", self.service))
            if master["flags"] != "master":
                return f"sentinel {sentinel.port} flags the primary {master['flags']}"
            named.add(int(master["port"]))
        if len(named) > 1:
            return f"the sentinels name different primaries {sorted(named)}"
        primary = self._by_port(named.pop())
        reply = self._clients.query(primary.port, "ROLE") if primary.alive else None
        if reply is None or reply[0] != "master":
            return f"the sentinels name {primary.port}, which is not a running primary"
        primary_offset = int(reply[1])
        replicas = [node for node in self.nodes if node.alive and node is not primary]
        for node in replicas:
            reply = self._clients.query(node.port, "ROLE")
            if reply[0] != "slave" or int(reply[2]) != primary.port or reply[3] != "connected":
                return f"data node {node.port} is not a connected replica of {primary.port}"
            if int(reply[4]) < primary_offset:
                return f"replica {node.port} is behind its primary {primary.port}"
        for sentinel in sentinels:
            others = {other.port for other in sentinels if other is not sentinel}
            missing = others - self._listed(sentinel, "SENTINELS", "sentinel")
            if missing:
                return f"sentinel {sentinel.port} does not know sentinels {sorted(missing)} (yet)"
            unseen = {node.port for node in replicas} - self._listed(
                sentinel, "REPLICAS", "slave", primary.port
            )
            if unseen:
                return f"sentinel {sentinel.port} does not see replicas {sorted(unseen)} (yet)"
        return None

    def _listed(self, sentinel: RedisNode, what: str, flag: str, primary_port: int = 0) -> set[int]:
        """Ports that `sentinel`'s SENTINEL SENTINELS/REPLICAS lists as `flag`, up and connected (and for
        replicas, as their last INFO told it: linked to `primary_port`)."""
        entries = map(_pairs, self._clients.query(sentinel.port, "SENTINEL", what, self.service))
        return {
            int(entry["port"])
            for entry in entries
            if flag in (flags := set(entry["flags"].split(",")))
            and not flags & _DOWN_FLAGS
            and (
                not primary_port
                or (entry["master-port"], entry["master-link-status"]) == (str(primary_port), "ok")
            )
        }

    def _tune(self, sentinel: RedisNode) -> None:
        """Sentinel 7.0+ (SENTINEL DEBUG, in milliseconds): `SENTINEL_PERIODS_MS`. Older sentinels keep
        their pace: waits take longer there."""
        with suppress(redis.ResponseError):
            self._clients.query(
                sentinel.port,
                "SENTINEL",
                "DEBUG",
                *(str(part) for item in SENTINEL_PERIODS_MS.items() for part in item),
            )

    # Plumbing.

    def _logs(self) -> list[Path]:
        return sorted(self._workdir.glob("*.log"))

    def _by_port(self, port: int) -> RedisNode:
        for node in self.nodes:
            if node.port == port:
                return node
        raise RuntimeError(f"port {port} is not a data node of this set")

    def _any_live_sentinel(self) -> RedisNode:
        for node in self.sentinels:
            if node.alive:
                return node
        raise RuntimeError("no sentinel is running")

    def _data_argv(self, port: int) -> list[str]:
        options = {
            "bind": "127.0.0.1",
            "port": str(port),
            "dir": str(self._workdir),
            "logfile": str(self._workdir / f"node-{port}.log"),
            "save": "",
            "appendonly": "no",
            "dbfilename": f"dump-{port}.rdb",
            # A replica (re)syncs at once, without an RDB file on disk.
            "repl-diskless-sync": "yes",
            "repl-diskless-sync-delay": "0",
        }
        return [self._server, *(part for name, value in options.items() for part in (f"--{name}", value))]

    def _sentinel_argv(self, port: int, primary_port: int, ids: dict[int, str]) -> list[str]:
        """A conf naming the other sentinels with their ids (``known-sentinel``, as Sentinel itself writes
        its state), so they need not discover each other through hello messages first."""
        conf = self._workdir / f"sentinel-{port}.conf"
        lines = [
            f"port {port}",
            "bind 127.0.0.1",
            f"dir {self._workdir}",
            f"logfile {self._workdir / f'sentinel-{port}.log'}",
            f"sentinel myid {ids[port]}",
            f"sentinel monitor {self.service} 127.0.0.1 {primary_port} {self.quorum}",
            f"sentinel down-after-milliseconds {self.service} {self.down_after_ms}",
            f"sentinel failover-timeout {self.service} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {self.service} 1",
            *(
                f"sentinel known-sentinel {self.service} 127.0.0.1 {other} {other_id}"
                for other, other_id in ids.items()
                if other != port
            ),
        ]
        conf.write_text("\n".join(lines) + "\n")
        return [self._server, str(conf), "--sentinel"]

    def _stop(self) -> None:
        self._clients.close()
        _stop_processes([node.process for node in [*self.sentinels, *self.nodes]])


@contextmanager
def running_redis_sentinel(
    *,
    service: str = "mymaster",
    replicas: int = 1,
    sentinels: int = 3,
    quorum: int | None = None,
    down_after_ms: int = DEFAULT_DOWN_AFTER_MS,
    failover_timeout_ms: int = DEFAULT_FAILOVER_TIMEOUT_MS,
    binary: str | None = None,
    start_timeout: float = 30.0,
) -> Iterator[LocalSentinel]:
    """Start a primary with `replicas` replicas and `sentinels` sentinels monitoring it as `service` on
    127.0.0.1 (free ports) and yield the set once healthy; stop every process by its PID afterwards.
    `quorum` defaults to a majority of the sentinels. `down_after_ms` (``down-after-milliseconds``) is
    how long the primary must not answer before a sentinel flags it down; `failover_timeout_ms`
    (``failover-timeout``) bounds each failover step, and a failed automatic failover is retried after
    twice that (SENTINEL FAILOVER is not held back by it). Raises
    `FileNotFoundError` when there is no ``redis-server`` (on PATH, or `binary`), `RuntimeError` when the
    set is not healthy within `start_timeout` seconds."""
    if sentinels < 1 or replicas < 0:
        raise ValueError("a sentinel set needs at least one sentinel and a non-negative replica count")
    server = _find_binary(binary)
    deadline = time.monotonic() + start_timeout
    with tempfile.TemporaryDirectory(prefix="redis-sentinel-") as workdir:
        quorum = quorum or sentinels // 2 + 1
        topology = LocalSentinel(service, quorum, down_after_ms, failover_timeout_ms, server, Path(workdir))
        try:
            ports = _free_ports(1 + replicas + sentinels)
            primary_port = ports[0]
            for port in ports[: 1 + replicas]:
                argv = topology._data_argv(port)
                topology.nodes.append(RedisNode(port, _spawn(argv, Path(workdir), port), argv))
            _start_nodes(topology.nodes, "data node", Path(workdir))
            # REPLICAOF at run time connects at once (a --replicaof option waits for the next 1 s cron).
            for node in topology.nodes[1:]:
                topology._clients.query(node.port, "REPLICAOF", "127.0.0.1", primary_port)
            # Replicas linked before the sentinels start: their first INFO of the primary lists them.
            _bounded_wait(
                max(deadline - time.monotonic(), 1.0),
                "the replicas did not connect",
                lambda: _unlinked_reason(topology, replicas),
            )
            ids = {port: secrets.token_hex(20) for port in ports[1 + replicas :]}
            for port in ids:
                argv = topology._sentinel_argv(port, primary_port, ids)
                topology.sentinels.append(RedisNode(port, _spawn(argv, Path(workdir), port), argv))
            _start_nodes(topology.sentinels, "sentinel", Path(workdir))
            for sentinel in topology.sentinels:
                topology._tune(sentinel)
            topology.wait_healthy(max(deadline - time.monotonic(), 1.0))
            yield topology
        finally:
            topology._stop()


def _unlinked_reason(topology: LocalSentinel, replicas: int) -> str | None:
    try:
        reply = topology._clients.query(topology.nodes[0].port, "ROLE")
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if len(reply[2]) == replicas else f"{len(reply[2])} of {replicas} replicas connected"


def _free_ports(count: int) -> list[int]:
    ports: list[int] = []
    for _ in range(count * 20):
        port = free_port()
        if port not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError("found no free ports")


__all__ = ["DEFAULT_DOWN_AFTER_MS", "DEFAULT_FAILOVER_TIMEOUT_MS", "LocalSentinel", "running_redis_sentinel"]

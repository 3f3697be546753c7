"""A private cluster for a test module, and the ways slots move between its primaries: ``redis-cli
--cluster reshard`` / ``rebalance``, and by hand (CLUSTER SETSLOT IMPORTING / MIGRATING, MIGRATE ...
KEYS, SETSLOT NODE: the steps redis-cli takes, with a pause between keys so that a slot stays in
mid-migration long enough for requests to hit it). Also the servers' own counters of redirections
(INFO errorstats, commandstats): how many calls were answered ASK, MOVED or TRYAGAIN."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest
import redis

from redis_sessions.testing import ClusterNode, LocalCluster, running_redis_cluster

CLI_TIMEOUT = 60.0  # seconds: a redis-cli reshard or rebalance taking longer is a hang


def private_cluster(replicas_per_primary: int = 0) -> Iterator[LocalCluster]:
    """`running_redis_cluster` (3 primaries); skips without redis-server or redis-cli (fails
    instead under REQUIRE_REDIS=1)."""
    try:
        if shutil.which("redis-cli") is None:
            raise FileNotFoundError("redis-cli is not on PATH")
        with running_redis_cluster(replicas_per_primary=replicas_per_primary) as cluster:
            yield cluster
    except FileNotFoundError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise
        pytest.skip("redis-server or redis-cli not installed")


def query(node: ClusterNode, *args: object) -> object:
    """One command to one node (a fresh connection: nothing here is kept across tests)."""
    with redis.Redis(port=node.port, decode_responses=True, socket_timeout=10) as client:
        return client.execute_command(*args)


def slot_owners(cluster: LocalCluster) -> list[int]:
    """The port serving each of the 16384 slots, as the first running node sees it (CLUSTER SLOTS)."""
    owners = [0] * 16384
    for start, end, primary, *_ in query(cluster.nodes[0], "CLUSTER", "SLOTS"):  # type: ignore[attr-defined]
        owners[start : end + 1] = [int(primary[1])] * (end - start + 1)
    return owners


def _cli(*args: str) -> float:
    """Run redis-cli (stopped by its PID after `CLI_TIMEOUT`); return the seconds it took."""
    started = time.monotonic()
    done = subprocess.run(["redis-cli", *args], capture_output=True, text=True, timeout=CLI_TIMEOUT)
    assert done.returncode == 0, f"redis-cli {' '.join(args[:2])}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return time.monotonic() - started


def reshard(source: ClusterNode, target: ClusterNode, slots: int, pipeline: int = 1) -> float:
    """``redis-cli --cluster reshard``: `slots` slots from `source` to `target` (redis-cli takes the
    source's lowest slots), `pipeline` keys per MIGRATE. Returns the seconds it took."""
    return _cli(
        "--cluster", "reshard", f"127.0.0.1:{source.port}",
        "--cluster-from", source.node_id, "--cluster-to", target.node_id,
        "--cluster-slots", str(slots), "--cluster-yes", "--cluster-pipeline", str(pipeline),
    )  # fmt: skip


def rebalance(entry: ClusterNode, pipeline: int = 1) -> float:
    """``redis-cli --cluster rebalance`` (slots even again; each donor gives its lowest slots)."""
    return _cli("--cluster", "rebalance", f"127.0.0.1:{entry.port}", "--cluster-pipeline", str(pipeline))


def migrate_by_hand(
    cluster: LocalCluster,
    slots: Iterable[int],
    source: ClusterNode,
    target: ClusterNode,
    *,
    lanes: int,
    pause: float,
) -> float:
    """Move `slots` from `source` to `target` with redis-cli's steps, `lanes` slots at a time: each
    round moves one key of every open slot (GETKEYSINSLOT then MIGRATE ... KEYS, each pipelined over
    the open slots), then sleeps `pause` seconds; a slot whose keys are all moved is given to
    `target` (SETSLOT NODE: target, source, the others) and the next one opened. A slot with k keys
    stays half-moved for about k rounds. Returns the seconds it took."""
    started = time.monotonic()
    others = [node for node in cluster.primaries() if node not in (source, target)]
    nodes = (target, source, *others)
    clients = {node.port: redis.Redis(port=node.port, socket_timeout=10) for node in nodes}
    src = clients[source.port]

    def setslot(node: ClusterNode, slot: int, *state: str) -> None:
        clients[node.port].execute_command("CLUSTER", "SETSLOT", slot, *state)  # type: ignore[no-untyped-call]

    waiting, open_slots = list(slots), list[int]()
    try:
        for _ in range(100_000):
            while waiting and len(open_slots) < lanes:
                slot = waiting.pop(0)
                setslot(target, slot, "IMPORTING", source.node_id)
                setslot(source, slot, "MIGRATING", target.node_id)
                open_slots.append(slot)
            if not open_slots:
                break
            with src.pipeline(transaction=False) as pipe:
                for slot in open_slots:
                    pipe.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1)  # type: ignore[no-untyped-call]
                found = pipe.execute()
            with src.pipeline(transaction=False) as pipe:
                for keys in found:
                    if keys:
                        migrate = ("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
                        pipe.execute_command(*migrate)  # type: ignore[no-untyped-call]
                pipe.execute()
            for slot, keys in zip(list(open_slots), found, strict=True):
                if not keys:
                    for node in nodes:
                        setslot(node, slot, "NODE", target.node_id)
                    open_slots.remove(slot)
            time.sleep(pause)
    finally:
        for client in clients.values():
            client.close()
    assert not open_slots and not waiting, "the migration did not end"
    return time.monotonic() - started


@dataclass(frozen=True)
class Redirects:
    """What the primaries counted (since `reset_counters`): calls answered ASK, MOVED, TRYAGAIN,
    ASKING commands received, and slot-map reads (CLUSTER SLOTS / SHARDS / NODES)."""

    ask: int
    moved: int
    tryagain: int
    asking: int
    map_reads: int


def reset_counters(cluster: LocalCluster) -> None:
    for node in cluster.primaries():
        query(node, "CONFIG", "RESETSTAT")


def redirects(cluster: LocalCluster) -> Redirects:
    totals = dict.fromkeys(("ASK", "MOVED", "TRYAGAIN", "asking", "maps"), 0)
    for node in cluster.primaries():
        with redis.Redis(port=node.port, socket_timeout=10) as client:
            errors = client.info("errorstats")
            commands = client.info("commandstats")
        for code in ("ASK", "MOVED", "TRYAGAIN"):
            totals[code] += int(errors.get(f"errorstat_{code}", {}).get("count", 0))
        totals["asking"] += int(commands.get("cmdstat_asking", {}).get("calls", 0))
        for name in ("cluster|slots", "cluster|shards", "cluster|nodes"):
            totals["maps"] += int(commands.get(f"cmdstat_{name}", {}).get("calls", 0))
    return Redirects(totals["ASK"], totals["MOVED"], totals["TRYAGAIN"], totals["asking"], totals["maps"])

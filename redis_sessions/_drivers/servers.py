"""Where a call goes: one Redis (plain, or the primary Sentinel names) or a Redis Cluster.

A topology tells the driver which server owns a call (`locate`), gives the `Link` to a server by
name, re-reads itself after a MOVED (`refresh`) and after a connection failure (`suspect`: the
next batch re-reads it first). redis-py does the discovery (`RedisCluster`'s slot map, Sentinel's
``master_for`` pool); commands go over our links only, so nothing is ever replayed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from redis.crc import key_slot

from redis_sessions._plan import Command, Script
from redis_sessions.errors import BackendUnavailable

from ._link import AsyncLink, Link
from ._route import routing_key

SLOTS = 16384


def _not_covered(slot: int) -> BackendUnavailable:
    return BackendUnavailable(
        f"no Redis Cluster primary serves hash slot {slot} (CLUSTERDOWN)", "CLUSTERDOWN"
    )


class SlotMap:
    """A cluster's slot owners, read from redis-py's `NodesManager` (sync or asyncio alike)."""

    def __init__(self) -> None:
        self.owners: list[str] = []
        self.primaries: list[str] = []

    def read(self, nodes_manager: Any) -> None:
        owners = [""] * SLOTS
        for slot, nodes in nodes_manager.slots_cache.items():
            if nodes:
                owners[slot] = nodes[0].name
        self.owners = owners
        self.primaries = sorted({name for name in owners if name})

    def locate(self, call: Command | Script) -> str:
        if isinstance(call, Command) and call.node is not None:
            return call.node
        key = routing_key(call)
        if key is None:
            if not self.primaries:
                raise _not_covered(0)
            return self.primaries[0]
        slot = key_slot(key.encode())
        owner = self.owners[slot]
        if not owner:
            raise _not_covered(slot)
        return owner


# --- sync -----------------------------------------------------------------------------------------
class OneServer:
    """A single Redis: every call goes to its one link (a Sentinel pool finds the primary itself)."""

    def __init__(
        self,
        backend: str,
        pool: redis.ConnectionPool,
        callbacks: Any,
        keep: bool,
        also: Sequence[Any] = (),
        own: bool = True,
    ) -> None:
        self.backend = backend
        self._link = Link(pool, callbacks, keep, own)
        self._also = also  # clients closed with it (a Sentinel's clients of the sentinels)

    def locate(self, call: Command | Script) -> str:
        return ""

    def link(self, name: str) -> Link:
        return self._link

    def primaries(self) -> list[str]:
        return [""]

    def refresh(self) -> None:
        pass

    def suspect(self) -> None:
        self._link.forget_kept()

    def close(self) -> None:
        self._link.close()
        for client in self._also:
            client.close()


class ClusterServers:
    """A Redis Cluster: redis-py's `RedisCluster` (made on first use: it connects at once) keeps
    the slot map; each primary gets a link over that client's pool for the node."""

    backend = "redis+cluster"

    def __init__(self, make_client: Callable[[], redis.cluster.RedisCluster], keep: bool, own: bool) -> None:
        self._make_client = make_client
        self._client: redis.cluster.RedisCluster | None = None
        self._keep = keep
        self._own = own
        self._slots = SlotMap()
        self._links: dict[str, Link] = {}
        self._lock = threading.Lock()
        self._generation = 0  # slot-map reads so far: concurrent refreshes share one
        self._stale = True

    def locate(self, call: Command | Script) -> str:
        if self._stale:
            self.refresh()
        return self._slots.locate(call)

    def primaries(self) -> list[str]:
        if self._stale:
            self.refresh()
        return list(self._slots.primaries)

    def link(self, name: str) -> Link:
        link = self._links.get(name)
        if link is None:
            with self._lock:
                link = self._links.get(name)
                if link is None:
                    link = self._links[name] = self._new_link(name)
        return link

    def _new_link(self, name: str) -> Link:
        assert self._client is not None
        node = self._client.get_node(node_name=name)  # type: ignore[no-untyped-call]
        if node is None:  # a MOVED/ASK to a server the map does not know yet
            self._client.nodes_manager.initialize()
            node = self._client.get_node(node_name=name)  # type: ignore[no-untyped-call]
        if node is None or node.redis_connection is None:
            raise BackendUnavailable(f"Redis Cluster named an unknown node {name} (MOVED/ASK)", "MOVED")
        client = node.redis_connection
        return Link(client.connection_pool, client.response_callbacks, self._keep, self._own)

    def refresh(self) -> None:
        seen = self._generation
        with self._lock:
            if self._generation != seen:  # another thread re-read the map meanwhile
                return
            try:
                if self._client is None:
                    self._client = self._make_client()  # reads the slot map
                else:
                    self._client.nodes_manager.initialize()
            except redis.RedisError as exc:
                raise BackendUnavailable(
                    f"cannot read the Redis Cluster's slot map: {exc}", "connection"
                ) from exc
            self._slots.read(self._client.nodes_manager)
            self._stale = False
            self._generation += 1

    def suspect(self) -> None:
        self._stale = True
        for link in list(self._links.values()):
            link.forget_kept()

    def close(self) -> None:
        links, self._links = list(self._links.values()), {}
        for link in links:
            link.close()
        if self._client is not None and self._own:
            self._client.close()


# --- async ----------------------------------------------------------------------------------------
class AsyncOneServer:
    """`OneServer` for asyncio (one event loop's, or the pool of a client the app gave)."""

    def __init__(
        self,
        backend: str,
        pool: redis.asyncio.ConnectionPool,
        callbacks: Any,
        keep: bool,
        also: Sequence[Any] = (),
        own: bool = True,
    ) -> None:
        self.backend = backend
        self._link = AsyncLink(pool, callbacks, keep, own)
        self._also = also  # clients closed with it (a Sentinel's clients of the sentinels)

    async def ready(self) -> None:
        pass

    def locate(self, call: Command | Script) -> str:
        return ""

    def link(self, name: str) -> AsyncLink:
        return self._link

    def primaries(self) -> list[str]:
        return [""]

    async def refresh(self) -> None:
        pass

    async def suspect(self) -> None:
        await self._link.forget_kept()

    async def close(self) -> None:
        await self._link.close()
        for client in self._also:
            await client.aclose()


class AsyncClusterServers:
    """`ClusterServers` for asyncio: redis-py's asyncio `RedisCluster` keeps the slot map; each
    primary gets a pool of our own, built as that client builds a node's connections."""

    backend = "redis+cluster"

    def __init__(self, client: redis.asyncio.cluster.RedisCluster, keep: bool, own: bool) -> None:
        self._client = client
        self._keep = keep
        self._own = own
        self._slots = SlotMap()
        self._links: dict[str, AsyncLink] = {}
        self._refreshing = asyncio.Lock()  # one slot-map read at a time (redis-py's is not reentrant)
        self._generation = 0
        self._stale = True

    async def ready(self) -> None:
        if self._stale:
            await self.refresh()

    def locate(self, call: Command | Script) -> str:
        return self._slots.locate(call)

    def primaries(self) -> list[str]:
        return list(self._slots.primaries)

    def link(self, name: str) -> AsyncLink:
        link = self._links.get(name)
        if link is None:
            node = self._client.get_node(node_name=name)
            if node is None:
                raise BackendUnavailable(f"Redis Cluster named an unknown node {name} (MOVED/ASK)", "MOVED")
            kwargs = dict(node.connection_kwargs)
            pool = redis.asyncio.ConnectionPool(connection_class=node.connection_class, **kwargs)
            link = self._links[name] = AsyncLink(pool, node.response_callbacks, self._keep)
        return link

    async def refresh(self) -> None:
        seen = self._generation
        async with self._refreshing:
            if self._generation != seen:  # another task re-read the map meanwhile
                return
            manager = self._client.nodes_manager
            before = _node_objects(manager)
            try:
                if not self._slots.owners:
                    await self._client.initialize()
                else:
                    await manager.initialize()
            except redis.RedisError as exc:
                raise BackendUnavailable(
                    f"cannot read the Redis Cluster's slot map: {exc}", "connection"
                ) from exc
            self._slots.read(manager)
            self._stale = False
            self._generation += 1
            after = _node_objects(manager)
            for key, node in before.items():  # replaced by the re-read (redis-py leaves them open)
                if key not in after:
                    await node.disconnect()

    async def suspect(self) -> None:
        self._stale = True
        for link in list(self._links.values()):
            await link.forget_kept()

    async def close(self) -> None:
        links, self._links = list(self._links.values()), {}
        for link in links:
            await link.close()
        if self._own:
            await self._client.aclose()


def _node_objects(manager: Any) -> dict[int, Any]:
    """The asyncio `ClusterNode` objects a `NodesManager` holds (each owns its connections)."""
    nodes = [*manager.nodes_cache.values(), *manager.startup_nodes.values()]
    return {id(node): node for node in nodes}

"""Drivers: run the plans' batches against Redis through redis-py, sync or async.

The only package that imports redis-py's clients. Layout: `_errors` (redis-py's exceptions and
Redis' error replies become ours), `_route` (sans-IO: a batch to waves of commands per server,
redirects followed, durable-write acks checked), `_link` (one server's pool and kept connections),
`servers` (one Redis, a Sentinel primary, or a Cluster's slot map), `driver` (the I/O of a route).
`open_driver` / `open_async_driver` pick the topology from the URL or from a client the app gave.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel
from redis.backoff import NoBackoff
from redis.retry import Retry

from redis_sessions._urls import Endpoint, parse_url
from redis_sessions.config import SessionConfig
from redis_sessions.errors import ConfigError

from ._errors import translate
from .driver import AsyncDriver, AsyncServers, Driver
from .servers import AsyncClusterServers, AsyncOneServer, ClusterServers, OneServer

__all__ = ["AsyncDriver", "Driver", "open_async_driver", "open_driver", "translate"]


def _timeouts(config: SessionConfig) -> dict[str, Any]:
    return {
        "socket_connect_timeout": config.connect_timeout,
        "socket_timeout": config.command_timeout,
        "retry": Retry(NoBackoff(), 0),  # no replays; a failed connect fails within connect_timeout
    }


def _pool_options(config: SessionConfig, limited: bool) -> dict[str, Any]:
    options = {**_timeouts(config), "decode_responses": False}
    if limited:
        options["timeout"] = config.connect_timeout  # BlockingConnectionPool: wait for a free connection
    return options


def _limited(url: str) -> bool:
    """Whether the URL sets ``max_connections`` (redis-py reads it from the query string)."""
    return "max_connections" in parse_qs(urlsplit(url).query)


def _sentinel_kwargs(endpoint: Endpoint, config: SessionConfig) -> dict[str, Any]:
    timeouts = _timeouts(config)
    del timeouts["retry"]  # a sentinel query is a read: redis-py may retry it
    return {**endpoint.sentinel_kwargs, **timeouts}


def _data_kwargs(endpoint: Endpoint, config: SessionConfig) -> dict[str, Any]:
    kwargs = {**endpoint.connection_kwargs, **_timeouts(config)}
    if endpoint.max_connections is not None:
        kwargs["max_connections"] = endpoint.max_connections
    return kwargs


def _client_kind(client: object, cluster: type, plain: type) -> str:
    if isinstance(client, cluster):
        return "cluster"
    if isinstance(client, plain):
        return "plain"
    given = f"{type(client).__module__}.{type(client).__qualname__}"
    raise ConfigError(
        "client",
        f"must be a {plain.__module__}.Redis (or a Sentinel master_for client) or a "
        f"{cluster.__module__}.RedisCluster, got {given}",
    )


def open_driver(config: SessionConfig, client: Any = None) -> Driver:
    """A sync driver for `config` (its URL), or over `client` (`redis.Redis`, a Sentinel
    ``master_for`` client, or `redis.cluster.RedisCluster`) when given. Connects lazily."""
    prefix = config.key_prefix
    if client is not None:
        if _client_kind(client, redis.cluster.RedisCluster, redis.Redis) == "cluster":
            return Driver(ClusterServers(lambda: client, keep=True, own=False), prefix)
        pool = client.connection_pool
        backend = "redis+sentinel" if isinstance(pool, redis.sentinel.SentinelConnectionPool) else "redis"
        keep = not isinstance(pool, redis.BlockingConnectionPool)
        return Driver(OneServer(backend, pool, client.response_callbacks, keep, own=False), prefix)
    endpoint = parse_url(config.url)
    if endpoint.kind == "cluster":
        startup = [redis.cluster.ClusterNode(host, port) for host, port in endpoint.nodes]  # type: ignore[no-untyped-call]
        kwargs = _data_kwargs(endpoint, config)
        keep = endpoint.max_connections is None
        return Driver(
            ClusterServers(
                lambda: redis.cluster.RedisCluster(startup_nodes=startup, **kwargs), keep, own=True
            ),
            prefix,
        )
    if endpoint.kind == "sentinel":
        assert endpoint.service is not None
        sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            list(endpoint.nodes), sentinel_kwargs=_sentinel_kwargs(endpoint, config)
        )
        master = sentinel.master_for(endpoint.service, **_data_kwargs(endpoint, config))  # type: ignore[no-untyped-call]
        keep = endpoint.max_connections is None
        return Driver(
            OneServer("redis+sentinel", master.connection_pool, master.response_callbacks, keep), prefix
        )
    limited = _limited(config.url)
    pool_class = redis.BlockingConnectionPool if limited else redis.ConnectionPool
    plain = redis.Redis.from_pool(pool_class.from_url(config.url, **_pool_options(config, limited)))
    return Driver(OneServer("redis", plain.connection_pool, plain.response_callbacks, not limited), prefix)


def open_async_driver(config: SessionConfig, client: Any = None) -> AsyncDriver:
    """`open_driver` for asyncio: `client` is a `redis.asyncio.Redis` (or Sentinel ``master_for``)
    or `redis.asyncio.cluster.RedisCluster`. Without one, each event loop gets its own clients."""
    prefix = config.key_prefix
    if client is not None:
        if _client_kind(client, redis.asyncio.cluster.RedisCluster, redis.asyncio.Redis) == "cluster":
            return AsyncDriver(
                lambda: AsyncClusterServers(client, keep=True, own=False),
                prefix,
                backend="redis+cluster",
                shared=True,
            )
        pool = client.connection_pool
        backend = (
            "redis+sentinel" if isinstance(pool, redis.asyncio.sentinel.SentinelConnectionPool) else "redis"
        )
        keep = not isinstance(pool, redis.asyncio.BlockingConnectionPool)
        return AsyncDriver(
            lambda: AsyncOneServer(backend, pool, client.response_callbacks, keep, own=False),
            prefix,
            backend=backend,
            shared=True,
        )
    endpoint = parse_url(config.url)
    if endpoint.kind == "cluster":
        return AsyncDriver(_async_cluster(endpoint, config), prefix, backend="redis+cluster", shared=False)
    if endpoint.kind == "sentinel":
        return AsyncDriver(_async_sentinel(endpoint, config), prefix, backend="redis+sentinel", shared=False)
    limited = _limited(config.url)
    pool_class = redis.asyncio.BlockingConnectionPool if limited else redis.asyncio.ConnectionPool

    def make() -> AsyncServers:
        pool = pool_class.from_url(config.url, **_pool_options(config, limited))
        plain = redis.asyncio.Redis.from_pool(pool)
        return AsyncOneServer("redis", plain.connection_pool, plain.response_callbacks, not limited)

    return AsyncDriver(make, prefix, backend="redis", shared=False)


def _async_cluster(endpoint: Endpoint, config: SessionConfig) -> Callable[[], AsyncServers]:
    """One event loop's cluster topology, made when that loop first needs it."""
    kwargs = _data_kwargs(endpoint, config)

    def make() -> AsyncServers:
        startup = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in endpoint.nodes]
        cluster = redis.asyncio.cluster.RedisCluster(startup_nodes=startup, **kwargs)
        return AsyncClusterServers(cluster, endpoint.max_connections is None, own=True)

    return make


def _async_sentinel(endpoint: Endpoint, config: SessionConfig) -> Callable[[], AsyncServers]:
    """One event loop's Sentinel-managed pool, made when that loop first needs it."""
    assert endpoint.service is not None
    service = endpoint.service

    def make() -> AsyncServers:
        sentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            list(endpoint.nodes), sentinel_kwargs=_sentinel_kwargs(endpoint, config)
        )
        master = sentinel.master_for(service, **_data_kwargs(endpoint, config))
        keep = endpoint.max_connections is None
        return AsyncOneServer(
            "redis+sentinel", master.connection_pool, master.response_callbacks, keep, sentinel.sentinels
        )

    return make

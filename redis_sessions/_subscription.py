"""Subscribing to session events (`redis_sessions.events`): a redis-py pub/sub connection to one node,
sync and async, that reconnects (to the next node of a Cluster, to the new primary of a Sentinel set)
when its connection drops.

Classic pub/sub reaches every node of a Cluster, and a primary's replicas, so one node is enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel

from ._urls import parse_url
from .config import SessionConfig
from .errors import BackendUnavailable, ConfigError
from .events import SessionEvent, decode

_LOST = (redis.ConnectionError, redis.TimeoutError, OSError)
_RETRY_S = (0.1, 0.5, 1.0, 2.0)  # pauses between reconnection rounds, then the last one again
_HEALTH_CHECK_S = 10  # redis-py pings a quiet subscribed connection this often, to notice it is gone


def _node_kwargs(config: SessionConfig) -> tuple[str, list[dict[str, Any]], Any]:
    """The URL's kind, a redis-py client's keyword arguments per node to try, and the sentinel
    endpoint (or None)."""
    endpoint = parse_url(config.url)
    if endpoint.kind == "memory":
        raise ConfigError("publish_events", "session events need Redis: memory:// has no pub/sub")
    common = {
        **endpoint.connection_kwargs,
        "socket_connect_timeout": config.connect_timeout,
        "health_check_interval": _HEALTH_CHECK_S,
    }
    if endpoint.kind == "sentinel":
        return "sentinel", [common], endpoint
    if not endpoint.nodes:  # unix://: the socket path is in the keyword arguments
        return "single", [common], None
    return endpoint.kind, [{**common, "host": h, "port": p} for h, p in endpoint.nodes], None


class EventSubscription:
    """Session events as they are published, for sync code: iterate (blocking), or `get` with a
    timeout. Use as a context manager, or `close` it. Made by `SessionStore.events`."""

    def __init__(self, config: SessionConfig) -> None:
        self.channel = f"{config.key_prefix}events"
        self._kind, self._nodes, self._sentinel = _node_kwargs(config)
        self._pubsub: Any = None
        self._client: Any = None
        self._others: list[Any] = []  # a Sentinel's own clients, closed with ours
        self._next = 0
        self._subscribe()

    def _connect(self, kwargs: dict[str, Any]) -> Any:
        if self._kind == "sentinel":
            endpoint = self._sentinel
            sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
                list(endpoint.nodes), sentinel_kwargs=dict(endpoint.sentinel_kwargs)
            )
            self._others = list(sentinel.sentinels)
            return sentinel.master_for(endpoint.service, **kwargs)  # type: ignore[no-untyped-call]
        return redis.Redis(**kwargs)

    def _subscribe(self) -> None:
        """Subscribe on the next node that answers; raises `BackendUnavailable` when none does."""
        error: BaseException | None = None
        for _ in range(len(self._nodes)):
            kwargs = self._nodes[self._next % len(self._nodes)]
            self._next += 1
            self._client = self._connect(kwargs)
            try:
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(self.channel)
            except _LOST as exc:
                error = exc
                self._drop()
                continue
            return
        raise BackendUnavailable(f"cannot subscribe to session events: {error}", "connection")

    def _drop(self) -> None:
        for closing in (self._pubsub, self._client, *self._others):
            if closing is not None:
                with contextlib.suppress(*_LOST):
                    closing.close()
        self._pubsub = self._client = None
        self._others = []

    def get(self, timeout: float | None = None) -> SessionEvent | None:
        """The next event, waiting at most `timeout` seconds (None: as long as it takes); None when
        none came. While Redis cannot be reached, it keeps trying to subscribe again (events
        published meanwhile are missed) until the timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        tries = 0
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                if self._pubsub is None:
                    self._subscribe()
                message = self._pubsub.get_message(timeout=left if left is not None else 3600.0)
            except (*_LOST, BackendUnavailable):
                self._drop()
                pause = _RETRY_S[min(tries, len(_RETRY_S) - 1)]
                tries += 1
                if deadline is not None and time.monotonic() + pause >= deadline:
                    return None
                time.sleep(pause)
                continue
            if message is not None and message.get("type") == "message":
                event = decode(message["data"])
                if event is not None:
                    return event
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def __iter__(self) -> Iterator[SessionEvent]:
        while True:
            event = self.get()
            if event is not None:
                yield event

    def close(self) -> None:
        self._drop()

    def __enter__(self) -> EventSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncEventSubscription:
    """`EventSubscription` for asyncio: ``async for event in subscription``, or ``await get(timeout)``.
    Use with ``async with``, or ``await close()``. Made by `AsyncSessionStore.events`."""

    def __init__(self, config: SessionConfig) -> None:
        self.channel = f"{config.key_prefix}events"
        self._kind, self._nodes, self._sentinel = _node_kwargs(config)
        self._pubsub: Any = None
        self._client: Any = None
        self._others: list[Any] = []  # a Sentinel's own clients, closed with ours
        self._next = 0

    def _connect(self, kwargs: dict[str, Any]) -> Any:
        if self._kind == "sentinel":
            endpoint = self._sentinel
            sentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
                list(endpoint.nodes), sentinel_kwargs=dict(endpoint.sentinel_kwargs)
            )
            self._others = list(sentinel.sentinels)
            return sentinel.master_for(endpoint.service, **kwargs)
        return redis.asyncio.Redis(**kwargs)

    async def _subscribe(self) -> None:
        error: BaseException | None = None
        for _ in range(len(self._nodes)):
            kwargs = self._nodes[self._next % len(self._nodes)]
            self._next += 1
            self._client = self._connect(kwargs)
            try:
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                await self._pubsub.subscribe(self.channel)
            except _LOST as exc:
                error = exc
                await self._drop()
                continue
            return
        raise BackendUnavailable(f"cannot subscribe to session events: {error}", "connection")

    async def _drop(self) -> None:
        closing_all = (self._pubsub, self._client, *self._others)
        self._pubsub = self._client = None
        self._others = []
        for closing in closing_all:
            if closing is not None:
                with contextlib.suppress(*_LOST):
                    await (closing.aclose() if hasattr(closing, "aclose") else closing.close())

    async def get(self, timeout: float | None = None) -> SessionEvent | None:
        """As `EventSubscription.get`."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        tries = 0
        while True:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                if self._pubsub is None:
                    await self._subscribe()
                message = await self._pubsub.get_message(timeout=left if left is not None else 3600.0)
            except (*_LOST, BackendUnavailable):
                await self._drop()
                pause = _RETRY_S[min(tries, len(_RETRY_S) - 1)]
                tries += 1
                if deadline is not None and loop.time() + pause >= deadline:
                    return None
                await asyncio.sleep(pause)
                continue
            if message is not None and message.get("type") == "message":
                event = decode(message["data"])
                if event is not None:
                    return event
            if deadline is not None and loop.time() >= deadline:
                return None

    async def __aiter__(self) -> AsyncIterator[SessionEvent]:
        while True:
            event = await self.get()
            if event is not None:
                yield event

    async def close(self) -> None:
        await self._drop()

    async def __aenter__(self) -> AsyncEventSubscription:
        await self._subscribe()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

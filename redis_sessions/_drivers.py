"""Drivers: run one batch of calls in one round trip, against redis-py (sync or async).

The only place that imports redis-py and translates its connection errors into `BackendUnavailable`.
Scripts go as EVALSHA; a server that does not know them (first use, restart) gets SCRIPT LOAD and
only the calls that failed are sent again, so no call runs twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import weakref
from collections.abc import AsyncGenerator
from typing import Any

import redis
import redis.asyncio
from redis.exceptions import NoScriptError, ResponseError

from . import _scripts
from ._plan import Batch, Command, Script
from .config import SessionConfig
from .errors import BackendUnavailable

_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, OSError)
_SHAS = {name: hashlib.sha1(_scripts.source(name).encode()).hexdigest() for name in _scripts.NAMES}


# Sent when Redis answers NOSCRIPT (first use, restart, SCRIPT FLUSH): one round trip.
_LOAD_SCRIPTS: Batch = [Command(("SCRIPT", "LOAD", _scripts.source(name))) for name in _scripts.NAMES]


def _args(call: Command | Script) -> tuple[Any, ...]:
    if isinstance(call, Script):
        return ("EVALSHA", _SHAS[call.name], len(call.keys), *call.keys, *call.args)
    return call.args


def _client_options(config: SessionConfig) -> dict[str, Any]:
    return {
        "socket_connect_timeout": config.connect_timeout,
        "socket_timeout": config.command_timeout,
        "decode_responses": False,
    }


def _missing_scripts(replies: list[Any]) -> list[int]:
    return [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]


def _raise_errors(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return replies


def _unavailable(exc: BaseException) -> BackendUnavailable:
    return BackendUnavailable(f"Redis unreachable: {type(exc).__name__}: {exc}")


class RedisDriver:
    """Sync driver over a `redis.Redis` connection pool."""

    backend = "redis"

    def __init__(self, config: SessionConfig) -> None:
        self.client = redis.Redis.from_url(config.url, **_client_options(config))
        self.round_trips = 0

    def _send(self, calls: Batch) -> list[Any]:
        self.round_trips += 1
        pipe = self.client.pipeline(transaction=False)
        for call in calls:
            pipe.execute_command(*_args(call))  # type: ignore[no-untyped-call]
        return pipe.execute(raise_on_error=False)

    def execute(self, batch: Batch) -> list[Any]:
        try:
            if len(batch) == 1:  # the common case: no pipeline bookkeeping
                self.round_trips += 1
                try:
                    return [self.client.execute_command(*_args(batch[0]))]  # type: ignore[no-untyped-call]
                except NoScriptError:
                    replies: list[Any] = [None]
                    missing = [0]
            else:
                replies = self._send(batch)
                missing = _missing_scripts(replies)
            if missing:
                self._send(_LOAD_SCRIPTS)
                for i, reply in zip(missing, self._send([batch[i] for i in missing]), strict=True):
                    replies[i] = reply
        except _UNREACHABLE as exc:
            raise _unavailable(exc) from exc
        return _raise_errors(replies)

    def close(self) -> None:
        self.client.close()


class AsyncRedisDriver:
    """Async driver over `redis.asyncio.Redis` connection pools, one per event loop.

    redis-py's async connections belong to the loop that opened them; one pool per loop lets a
    store serve several loops (test clients, threads running their own loops).
    """

    backend = "redis"

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], redis.asyncio.Redis] | None = None
        self.round_trips = 0

    @property
    def client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop:  # the usual case: one loop serves every request
            return last[1]
        client = self._clients.get(loop)
        if client is None:
            client = redis.asyncio.Redis.from_url(self.config.url, **_client_options(self.config))
            self._clients[loop] = client
            self._closers[loop] = self._close_with_loop(loop, client)
        self._last = (weakref.ref(loop), client)
        return client

    async def _send(self, calls: Batch) -> list[Any]:
        self.round_trips += 1
        pipe = self.client.pipeline(transaction=False)
        for call in calls:
            pipe.execute_command(*_args(call))
        return await pipe.execute(raise_on_error=False)

    async def execute(self, batch: Batch) -> list[Any]:
        try:
            if len(batch) == 1:  # the common case: no pipeline bookkeeping
                self.round_trips += 1
                try:
                    return [await self.client.execute_command(*_args(batch[0]))]  # type: ignore[no-untyped-call]
                except NoScriptError:
                    replies: list[Any] = [None]
                    missing = [0]
            else:
                replies = await self._send(batch)
                missing = _missing_scripts(replies)
            if missing:
                await self._send(_LOAD_SCRIPTS)
                for i, reply in zip(missing, await self._send([batch[i] for i in missing]), strict=True):
                    replies[i] = reply
        except _UNREACHABLE as exc:
            raise _unavailable(exc) from exc
        return _raise_errors(replies)

    def _close_with_loop(
        self, loop: asyncio.AbstractEventLoop, client: redis.asyncio.Redis
    ) -> AsyncGenerator[None, None]:
        """An async generator, started now, whose cleanup closes `client` and forgets `loop`: the
        loop finalizes it when it shuts down (``asyncio.run`` and asgiref's per-call loops call
        ``loop.shutdown_asyncgens()``), so a short-lived loop leaves no connection behind."""

        async def closer() -> AsyncGenerator[None, None]:
            try:
                yield
            finally:
                self._clients.pop(loop, None)
                self._closers.pop(loop, None)
                if self._last is not None and self._last[0]() is loop:
                    self._last = None
                await client.aclose()

        gen = closer()
        step = gen.__anext__()  # registers the generator with the running loop (firstiter hook)
        with contextlib.suppress(StopIteration):
            step.send(None)  # run to the first yield: nothing before it awaits
        return gen

    async def close(self) -> None:
        self._last = None
        loop = asyncio.get_running_loop()
        self._closers.pop(loop, None)
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()

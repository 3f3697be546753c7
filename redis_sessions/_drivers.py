"""Drivers: run one batch of calls in one round trip, against redis-py (sync or async).

The only place that imports redis-py and translates its connection errors into `BackendUnavailable`.
Scripts go as EVALSHA; a server that does not know them (first use, restart) gets SCRIPT LOAD and
only the calls that failed are sent again, so no call runs twice.

A batch of one call (every request's load and save) goes straight over a connection the driver keeps
between calls, taken once from redis-py's pool: checking a connection out of redis-py 8's pool and
back in, then its command wrapper, cost about 25 us a call on the test VM (``benchmarks/``), a fifth
of a request. A kept connection that fails with a connection error is given back to the pool
disconnected; one that the server closed while it was idle (restart, ``timeout``) gets one fresh try.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
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


def _parsed(callbacks: Any, args: tuple[Any, ...], reply: Any) -> Any:
    """The reply as redis-py's ``execute_command`` and pipelines give it (e.g. SCAN's int cursor)."""
    callback = callbacks.get(args[0])
    return reply if callback is None else callback(reply)


def _unavailable(exc: BaseException) -> BackendUnavailable:
    return BackendUnavailable(f"Redis unreachable: {type(exc).__name__}: {exc}")


class RedisDriver:
    """Sync driver over a `redis.Redis` connection pool."""

    backend = "redis"

    def __init__(self, config: SessionConfig) -> None:
        self.client = redis.Redis.from_url(config.url, **_client_options(config))
        self.round_trips = 0
        self._kept: list[redis.Connection] = []  # idle, last call succeeded; shared by threads
        self._pid = os.getpid()

    def _call(self, args: tuple[Any, ...]) -> Any:
        if self._pid != os.getpid():  # forked: the parent's sockets are not this process's
            self._kept, self._pid = [], os.getpid()
        kept, pool = self._kept, self.client.connection_pool
        try:
            conn, reused = kept.pop(), True  # list.pop and append are atomic: no lock
        except IndexError:
            conn, reused = pool.get_connection(), False
        try:
            try:
                conn.send_command(*args)  # type: ignore[no-untyped-call]
                reply = conn.read_response()
            except redis.ConnectionError:
                if not reused:
                    raise
                conn.disconnect()  # type: ignore[no-untyped-call]  # closed by the server while idle: retry once
                conn.send_command(*args)  # type: ignore[no-untyped-call]
                reply = conn.read_response()
        except ResponseError:
            kept.append(conn)  # an error reply leaves the connection in step
            raise
        except BaseException:
            conn.disconnect()  # type: ignore[no-untyped-call]
            pool.release(conn)
            raise
        kept.append(conn)
        return _parsed(self.client.response_callbacks, args, reply)

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
                    return [self._call(_args(batch[0]))]
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
        self._kept = []
        self.client.close()  # disconnects the kept connections too


class _LoopRedis:
    """One event loop's redis-py client and the connections kept idle for it."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self.kept: list[redis.asyncio.Connection] = []


class AsyncRedisDriver:
    """Async driver over `redis.asyncio.Redis` connection pools, one per event loop.

    redis-py's async connections belong to the loop that opened them; one pool per loop lets a
    store serve several loops (test clients, threads running their own loops).
    """

    backend = "redis"

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopRedis] = (
            weakref.WeakKeyDictionary()
        )
        self._closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], _LoopRedis] | None = None
        self.round_trips = 0

    @property
    def client(self) -> redis.asyncio.Redis:
        return self._here().client

    def _here(self) -> _LoopRedis:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop:  # the usual case: one loop serves every request
            return last[1]
        here = self._loops.get(loop)
        if here is None:
            here = _LoopRedis(redis.asyncio.Redis.from_url(self.config.url, **_client_options(self.config)))
            self._loops[loop] = here
            self._closers[loop] = self._close_with_loop(loop, here.client)
        self._last = (weakref.ref(loop), here)
        return here

    async def _call(self, args: tuple[Any, ...]) -> Any:
        here = self._here()
        kept, pool = here.kept, here.client.connection_pool
        try:
            conn, reused = kept.pop(), True
        except IndexError:
            conn, reused = await pool.get_connection(), False  # type: ignore[no-untyped-call]
        try:
            try:
                await conn.send_command(*args)
                reply = await conn.read_response()
            except redis.ConnectionError:
                if not reused:
                    raise
                await conn.disconnect()  # closed by the server while idle: one fresh try
                await conn.send_command(*args)
                reply = await conn.read_response()
        except ResponseError:
            kept.append(conn)  # an error reply leaves the connection in step
            raise
        except BaseException:  # cancelled mid-reply too: the connection is out of step
            await conn.disconnect(nowait=True)
            await pool.release(conn)
            raise
        kept.append(conn)
        return _parsed(here.client.response_callbacks, args, reply)

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
                    return [await self._call(_args(batch[0]))]
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
                self._loops.pop(loop, None)
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
        here = self._loops.pop(loop, None)
        if here is not None:
            here.kept.clear()
            await here.client.aclose()  # disconnects the kept connections too

"""A link to one Redis server: its redis-py connection pool, and connections kept idle between
batches (sync `Link`, async `AsyncLink`).

Without ``max_connections`` a link keeps the connections it took from redis-py's pool between
batches: checking one out of redis-py 8's pool and back in costs about 25 us a call on the test VM
(``benchmarks/``), a fifth of a request. Before a kept connection is used it is checked as redis-py's
pool checks one on checkout: one the server closed while it was idle (restart, ``timeout``,
failover), or with unread data, is replaced before anything is sent. With ``max_connections`` the
link uses redis-py's `BlockingConnectionPool` as it is (a connection per batch) and keeps none.

Commands go straight onto the connection (``send_packed_command`` / ``read_response``), never
through ``execute_command`` or pipelines, which replay a command after a connection error when the
connection has a retry policy: after a send, a failure is the caller's outage, never a resend.
"""

from __future__ import annotations

import inspect
import os
import select
from collections.abc import Mapping
from typing import Any

import redis
import redis.asyncio
from redis.exceptions import ResponseError

# redis-py < 5.3 wants a command name (unused) at checkout; 5.3 and newer warn when given one.
_CHECKOUT: tuple[str, ...] = (
    ("_",)
    if inspect.signature(redis.ConnectionPool.get_connection).parameters["command_name"].default
    is inspect.Parameter.empty
    else ()
)


def _parsed(callbacks: Mapping[str, Any], args: tuple[Any, ...], reply: Any) -> Any:
    """The reply as redis-py's ``execute_command`` gives it (e.g. SCAN's int cursor)."""
    callback = callbacks.get(args[0])
    return reply if callback is None or isinstance(reply, ResponseError) else callback(reply)


class Link:
    """One server's sync pool and kept connections (shared by threads: list pop/append are atomic)."""

    def __init__(
        self, pool: redis.ConnectionPool, callbacks: Mapping[str, Any], keep: bool, own: bool = True
    ) -> None:
        self.pool = pool
        self.callbacks = callbacks
        self.keep = keep
        self.own = own  # False: the pool is a client's the app gave, never disconnected by us
        self._kept: list[redis.Connection] = []
        self._pid = os.getpid()

    def take(self) -> redis.Connection:
        """A connection ready to send on (connected, nothing unread)."""
        if self._pid != os.getpid():  # forked: the parent's sockets are not this process's
            self._kept, self._pid = [], os.getpid()
        try:
            conn = self._kept.pop()
        except IndexError:  # none idle (or none kept: a limited pool)
            return self.pool.get_connection(*_CHECKOUT)  # checked by the pool
        if _stale(conn):
            try:
                conn.disconnect()  # type: ignore[no-untyped-call]  # nothing sent yet: a fresh one
                conn.connect()  # type: ignore[no-untyped-call]
            except BaseException:
                self.pool.release(conn)
                raise
        return conn

    def send(self, conn: redis.Connection, calls: list[tuple[Any, ...]]) -> None:
        if len(calls) == 1:
            conn.send_command(*calls[0])  # type: ignore[no-untyped-call]
        else:
            conn.send_packed_command(conn.pack_commands(calls))  # type: ignore[no-untyped-call]

    def receive(self, conn: redis.Connection, calls: list[tuple[Any, ...]]) -> list[Any]:
        """Every reply to `calls`, error replies in place (the connection stays in step)."""
        replies: list[Any] = []
        for args in calls:
            try:
                replies.append(_parsed(self.callbacks, args, conn.read_response()))
            except ResponseError as exc:
                replies.append(exc)
        return replies

    def give_back(self, conn: redis.Connection) -> None:
        if self.keep:
            self._kept.append(conn)
        else:
            self.pool.release(conn)

    def drop(self, conn: redis.Connection) -> None:
        """Cut off a connection that may be mid-reply: it is never read again, nothing is resent."""
        conn.disconnect()  # type: ignore[no-untyped-call]
        self.pool.release(conn)

    def forget_kept(self) -> None:
        """Close the kept connections (the next batch connects anew: Sentinel asks for the primary)."""
        kept, self._kept = self._kept, []
        for conn in kept:
            self.drop(conn)

    def close(self) -> None:
        kept, self._kept = self._kept, []
        if self.own:
            self.pool.disconnect()
            return
        for conn in kept:  # back to the app's pool, still connected
            self.pool.release(conn)


class AsyncLink:
    """One server's async pool and kept connections, for one event loop."""

    def __init__(
        self, pool: redis.asyncio.ConnectionPool, callbacks: Mapping[str, Any], keep: bool, own: bool = True
    ) -> None:
        self.pool = pool
        self.callbacks = callbacks
        self.keep = keep
        self.own = own
        self._kept: list[redis.asyncio.Connection] = []

    async def take(self) -> redis.asyncio.Connection:
        try:
            conn = self._kept.pop()
        except IndexError:
            return await self.pool.get_connection(*_CHECKOUT)  # type: ignore[no-untyped-call,no-any-return]
        if await _astale(conn):
            try:
                await conn.disconnect()
                await conn.connect()  # type: ignore[no-untyped-call]
            except BaseException:
                await self.pool.release(conn)
                raise
        return conn

    async def exchange(self, conn: redis.asyncio.Connection, calls: list[tuple[Any, ...]]) -> list[Any]:
        """Send `calls` in one write and read every reply, error replies in place."""
        if len(calls) == 1:
            await conn.send_command(*calls[0])
        else:
            await conn.send_packed_command(conn.pack_commands(calls))
        replies: list[Any] = []
        for args in calls:
            try:
                replies.append(_parsed(self.callbacks, args, await conn.read_response()))
            except ResponseError as exc:
                replies.append(exc)
        return replies

    async def give_back(self, conn: redis.asyncio.Connection) -> None:
        if self.keep:
            self._kept.append(conn)
        else:
            await self.pool.release(conn)

    async def drop(self, conn: redis.asyncio.Connection) -> None:
        await conn.disconnect(nowait=True)
        await self.pool.release(conn)

    async def forget_kept(self) -> None:
        kept, self._kept = self._kept, []
        for conn in kept:
            await self.drop(conn)

    async def close(self) -> None:
        kept, self._kept = self._kept, []
        if self.own:
            await self.pool.disconnect()
            return
        for conn in kept:
            await self.pool.release(conn)


def _stale(conn: redis.Connection) -> bool:
    """Whether a kept sync connection cannot take a command: closed by the server while idle, or
    with unread data (redis-py's pool checks the same on checkout)."""
    try:
        return bool(conn.can_read(timeout=0))
    except (redis.ConnectionError, OSError):  # EOF: closed while idle
        return True


async def _astale(conn: redis.asyncio.Connection) -> bool:
    """Whether a kept async connection cannot take a command. redis-py's check sees only what the
    event loop has already read, so the socket itself is polled too: a close by the server that
    the loop has not seen yet (``test_a_connection_the_server_closed_while_idle_...``)."""
    try:
        sock = conn._writer.get_extra_info("socket") if conn._writer else None
        if sock is None or _readable(sock.fileno()):
            return True
        check = conn.can_read if hasattr(conn, "can_read") else conn.can_read_destructive  # redis-py < 8
        return bool(await check())
    except (redis.ConnectionError, OSError):
        return True


def _readable(fd: int) -> bool:
    """Whether `fd` has data or EOF waiting (no wait)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])  # pragma: no cover  (Windows)

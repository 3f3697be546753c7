"""Drivers: run one batch of calls in one round trip, against redis-py (sync or async).

The only place that imports redis-py, and the one place (`translate`, over the tables `_CLASS_CODES`,
`_NOT_NOW` and `_MISCONFIGURED`) where its exceptions and Redis' error replies become ours.

A command is sent at most once. Scripts go as EVALSHA; a server that does not know them (first use,
restart) answers NOSCRIPT without running anything, gets SCRIPT LOAD, and only those calls are sent
again. Nothing else is ever resent: after a dropped connection or a timeout, Redis may have applied
the command (a replayed ``SET NX`` would answer "id collision", a replayed regenerate would log the
user out), so the caller gets `BackendUnavailable`. For the same reason the drivers do not go through
redis-py's ``execute_command`` and pipelines, which replay a command after a connection error when
the connection has a retry policy (redis-py 8 gives ``Redis(host=...)`` clients ten retries); their
connections get none.

Without ``max_connections`` in the URL a driver keeps the connections it took from redis-py's pool
between batches: checking one out of redis-py 8's pool and back in costs about 25 us a call on the
test VM (``benchmarks/``), a fifth of a request. Before a kept connection is used it is checked as
redis-py's pool checks one on checkout: one the server closed while it was idle (restart,
``timeout``), or with unread data, is replaced before anything is sent. With ``max_connections``, the
driver uses redis-py's `BlockingConnectionPool` as it is (a connection per batch, waiting up to
``connect_timeout`` seconds for a free one) and keeps none, so the limit holds without false outages.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import os
import re
import select
import weakref
from collections.abc import AsyncGenerator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    InvalidResponse,
    MasterDownError,
    MaxConnectionsError,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)
from redis.retry import Retry

from . import _scripts
from ._health import script_calls
from ._plan import Batch, Command, Script
from .config import SessionConfig
from .errors import BackendMisconfigured, BackendUnavailable

# redis-py < 5.3 wants a command name (unused) at checkout; 5.3 and newer warn when given one.
_CHECKOUT: tuple[str, ...] = (
    ("_",)
    if inspect.signature(redis.ConnectionPool.get_connection).parameters["command_name"].default
    is inspect.Parameter.empty
    else ()
)
_SHAS = {name: hashlib.sha1(_scripts.source(name).encode()).hexdigest() for name in _scripts.NAMES}

# Sent when Redis answers NOSCRIPT (first use, restart, SCRIPT FLUSH): one round trip.
_LOAD_SCRIPTS: Batch = [Command(("SCRIPT", "LOAD", _scripts.source(name))) for name in _scripts.NAMES]

# --- The error table ------------------------------------------------------------------------------
# Replies that mean "not now": the request gets a 503 and may succeed later.
_NOT_NOW = frozenset(
    {"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "OOM", "MISCONF", "NOREPLICAS"}
)
# Replies that mean "not with this set-up": a configuration error, still a 503 for the request.
_MISCONFIGURED = frozenset({"NOPERM", "auth", "unknown command", "protocol"})
# redis-py turns these replies into classes and strips the code from the message: the code again.
_CLASS_CODES: tuple[tuple[type[Exception], str], ...] = (
    (BusyLoadingError, "LOADING"),
    (ReadOnlyError, "READONLY"),
    (MasterDownError, "MASTERDOWN"),  # before ClusterDownError, its base
    (ClusterDownError, "CLUSTERDOWN"),
    (TryAgainError, "TRYAGAIN"),
    (OutOfMemoryError, "OOM"),
    (NoPermissionError, "NOPERM"),
    (AuthenticationError, "auth"),  # WRONGPASS, NOAUTH, invalid password
    (NoScriptError, "NOSCRIPT"),
    (InvalidResponse, "protocol"),  # not a Redis server at that address (a TLS port, an HTTP proxy)
)
# Connection-level failures, by what redis-py says; anything else unreachable is "connection".
_CONNECTION_KINDS = (
    ("max number of clients reached", "max clients"),  # the server's maxclients
    ("No connection available", "pool timeout"),  # BlockingConnectionPool waited `connect_timeout`
)
# What a round trip can raise: connection failures, and error replies to the connection handshake
# (HELLO, AUTH, SELECT, CLIENT SETNAME answered LOADING, BUSY, NOPERM...).
_RAISED = (
    redis.ConnectionError,
    redis.TimeoutError,
    ResponseError,
    InvalidResponse,
    OSError,
    asyncio.TimeoutError,
)
_REFUSED = re.compile(r"'([\w|.-]+)' command")  # NOPERM ... to run the 'evalsha' command
_IN_SCRIPT = re.compile(r"-([A-Z]{3,}) ")  # Redis 6.2 wraps a script's failed call: "... -OOM command ..."


def _code(exc: BaseException) -> str:
    """The code of Redis' error reply behind `exc` (``"OOM"``, ``"BUSY"``...), or its kind."""
    for cls, code in _CLASS_CODES:
        if isinstance(exc, cls):
            return code
    text = str(exc)
    if "can't run this command" in text:  # a script's call refused by the ACL (Redis 7.0: no code)
        return "NOPERM"
    if text.startswith("unknown command"):
        return "unknown command"
    found = _IN_SCRIPT.search(text) if text.startswith("Error running script") else None
    if found:
        return found.group(1)
    word = text.split(" ", 1)[0]
    return word if word.isalpha() and word.isupper() else "ERR"  # redis-py strips a leading "ERR "


def _describe(call: Command | Script | None) -> str:
    if isinstance(call, Script):
        calls = ", ".join(script_calls(call.name))
        return f"EVALSHA of script {call.name!r} (which calls {calls})"
    return str(call.args[0]) if call is not None else "the connection handshake"


def translate(
    exc: BaseException, call: Command | Script | None = None, prefix: str = ""
) -> BackendUnavailable:
    """Our error for a redis-py exception or error reply (`call`: the call it answered, if any).

    Unreachable, timed out or "not now" replies give `BackendUnavailable`, configuration errors
    `BackendMisconfigured`, each with `kind` named; any other reply `BackendUnavailable` with the
    reply's code as `kind`, so the integrations answer 503, never 500. Messages carry Redis' own text,
    which names no key, value or password.
    """
    if isinstance(exc, BackendUnavailable):
        return exc
    if isinstance(exc, (redis.TimeoutError, asyncio.TimeoutError)):
        return BackendUnavailable(f"Redis unreachable (timeout): {type(exc).__name__}: {exc}", "timeout")
    code = _code(exc)
    if code == "NOPERM":
        found = _REFUSED.search(str(exc))
        command = found.group(1) if found else None
        if command is None and isinstance(call, Command):
            command = str(call.args[0]).lower()
        if "keys" in str(exc):
            hint = f"the ACL user may not use keys under the prefix: grant ~{prefix}*"
        elif found:
            hint = f"the ACL user lacks +{command}"
        else:
            hint = "the ACL user lacks a command the script calls"
        return BackendMisconfigured(
            f"Redis refused {_describe(call)} (NOPERM): {hint}; store.health() names every missing "
            f"permission. Redis said: {exc}",
            "NOPERM",
            command,
        )
    if code in _MISCONFIGURED:
        return BackendMisconfigured(f"Redis refused {_describe(call)} ({code}): {exc}", code)
    if code in _NOT_NOW or isinstance(exc, ResponseError):
        return BackendUnavailable(f"Redis answered {code} to {_describe(call)}: {exc}", code)
    if isinstance(exc, MaxConnectionsError):
        kind = "max connections"
    else:
        kind = next((k for text, k in _CONNECTION_KINDS if text in str(exc)), "connection")
    return BackendUnavailable(f"Redis unreachable ({kind}): {type(exc).__name__}: {exc}", kind)


# --- Sending --------------------------------------------------------------------------------------
def _args(call: Command | Script) -> tuple[Any, ...]:
    if isinstance(call, Script):
        return ("EVALSHA", _SHAS[call.name], len(call.keys), *call.keys, *call.args)
    return call.args


def _limited(url: str) -> bool:
    """Whether the URL sets ``max_connections`` (redis-py reads it from the query string)."""
    return "max_connections" in parse_qs(urlsplit(url).query)


def _pool_options(config: SessionConfig) -> dict[str, Any]:
    options: dict[str, Any] = {
        "socket_connect_timeout": config.connect_timeout,
        "socket_timeout": config.command_timeout,
        "decode_responses": False,
        "retry": Retry(NoBackoff(), 0),  # no replays; a failed connect fails within connect_timeout
    }
    if _limited(config.url):
        options["timeout"] = config.connect_timeout  # BlockingConnectionPool: wait for a free connection
    return options


def _parsed(callbacks: Any, args: tuple[Any, ...], reply: Any) -> Any:
    """The reply as redis-py's ``execute_command`` and pipelines give it (e.g. SCAN's int cursor)."""
    callback = callbacks.get(args[0])
    return reply if callback is None or isinstance(reply, ResponseError) else callback(reply)


def _checked(
    batch: Sequence[Command | Script], replies: list[Any], prefix: str, keep_errors: bool = False
) -> list[Any]:
    """`replies`, with each error reply translated: raised (the first), or kept in place."""
    for i, (call, reply) in enumerate(zip(batch, replies, strict=True)):
        if isinstance(reply, ResponseError):
            error = translate(reply, call, prefix)
            if not keep_errors:
                raise error from reply
            replies[i] = error
    return replies


class RedisDriver:
    """Sync driver over a redis-py connection pool."""

    backend = "redis"

    def __init__(self, config: SessionConfig) -> None:
        pool_class = redis.BlockingConnectionPool if _limited(config.url) else redis.ConnectionPool
        self.client = redis.Redis.from_pool(pool_class.from_url(config.url, **_pool_options(config)))
        self.round_trips = 0
        self._prefix = config.key_prefix
        self._keep = not _limited(config.url)
        self._kept: list[redis.Connection] = []  # idle, in step with the server; shared by threads
        self._pid = os.getpid()

    def _exchange(self, calls: list[tuple[Any, ...]]) -> list[Any]:
        """One round trip: send `calls` in one write, read every reply (error replies in place)."""
        self.round_trips += 1
        pool = self.client.connection_pool
        if self._pid != os.getpid():  # forked: the parent's sockets are not this process's
            self._kept, self._pid = [], os.getpid()
        try:
            conn, kept = self._kept.pop(), True  # list.pop and append are atomic: no lock
        except IndexError:  # none idle (or none kept: a limited pool)
            conn, kept = pool.get_connection(*_CHECKOUT), False  # checked by the pool
        try:
            if kept and _stale(conn):
                conn.disconnect()  # type: ignore[no-untyped-call]  # nothing sent yet: a fresh one
                conn.connect()  # type: ignore[no-untyped-call]
            if len(calls) == 1:
                conn.send_command(*calls[0])  # type: ignore[no-untyped-call]
            else:
                conn.send_packed_command(conn.pack_commands(calls))  # type: ignore[no-untyped-call]
            replies: list[Any] = []
            for args in calls:
                try:
                    replies.append(_parsed(self.client.response_callbacks, args, conn.read_response()))
                except ResponseError as exc:  # the connection stays in step
                    replies.append(exc)
        except BaseException:  # cut off mid-reply (timeout, dropped): never read again, never resent
            conn.disconnect()  # type: ignore[no-untyped-call]
            pool.release(conn)
            raise
        if self._keep:
            self._kept.append(conn)
        else:
            pool.release(conn)
        return replies

    def _with_scripts(self, batch: Batch, replies: list[Any]) -> list[Any]:
        """`replies`, with the calls answered NOSCRIPT (nothing ran) sent again after SCRIPT LOAD."""
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            _checked(_LOAD_SCRIPTS, self._exchange([c.args for c in _LOAD_SCRIPTS]), self._prefix)
            for i, reply in zip(missing, self._exchange([_args(batch[i]) for i in missing]), strict=True):
                replies[i] = reply
        return _checked(batch, replies, self._prefix)

    def execute(self, batch: Batch) -> list[Any]:
        """Run `batch` in one round trip (plus two when Redis lacks our scripts) and return the
        parsed replies. Raises `BackendUnavailable` (or `BackendMisconfigured`) as `translate` says."""
        try:
            replies = self._exchange([_args(call) for call in batch])
            for reply in replies:
                if isinstance(reply, ResponseError):  # rare: NOSCRIPT, or an error to raise
                    return self._with_scripts(batch, replies)
        except BackendUnavailable:  # an OSError too: already ours
            raise
        except _RAISED as exc:
            raise translate(exc, prefix=self._prefix) from exc
        return replies

    def probe(self, batch: Batch) -> list[Any]:
        """Run `batch` in one round trip, with each error reply returned in its place as our error
        (for `health`; no SCRIPT LOAD on NOSCRIPT); raises only when Redis cannot be reached."""
        try:
            replies = self._exchange([_args(call) for call in batch])
        except _RAISED as exc:
            raise translate(exc, prefix=self._prefix) from exc
        return _checked(batch, replies, self._prefix, keep_errors=True)

    def close(self) -> None:
        self._kept = []
        self.client.close()  # disconnects the kept connections too


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


class _LoopRedis:
    """One event loop's redis-py client and the connections kept idle for it."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self.kept: list[redis.asyncio.Connection] = []


class AsyncRedisDriver:
    """Async driver over redis-py connection pools, one per event loop.

    redis-py's async connections belong to the loop that opened them; one pool per loop lets a
    store serve several loops (test clients, threads running their own loops). A
    ``max_connections`` limit holds per event loop.
    """

    backend = "redis"

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self._prefix = config.key_prefix
        self._keep = not _limited(config.url)
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
            pool_class = (
                redis.asyncio.BlockingConnectionPool if not self._keep else redis.asyncio.ConnectionPool
            )
            pool = pool_class.from_url(self.config.url, **_pool_options(self.config))
            here = _LoopRedis(redis.asyncio.Redis.from_pool(pool))
            self._loops[loop] = here
            self._closers[loop] = self._close_with_loop(loop, here.client)
        self._last = (weakref.ref(loop), here)
        return here

    async def _exchange(self, calls: list[tuple[Any, ...]]) -> list[Any]:
        """One round trip: send `calls` in one write, read every reply (error replies in place)."""
        self.round_trips += 1
        here = self._here()
        pool = here.client.connection_pool
        try:
            conn, kept = here.kept.pop(), True
        except IndexError:  # none idle (or none kept: a limited pool)
            conn, kept = await pool.get_connection(*_CHECKOUT), False  # type: ignore[no-untyped-call]
        try:
            if kept and await _astale(conn):
                await conn.disconnect()  # nothing sent yet: a fresh one
                await conn.connect()  # type: ignore[no-untyped-call]
            if len(calls) == 1:
                await conn.send_command(*calls[0])
            else:
                await conn.send_packed_command(conn.pack_commands(calls))
            replies: list[Any] = []
            for args in calls:
                try:
                    replies.append(_parsed(here.client.response_callbacks, args, await conn.read_response()))
                except ResponseError as exc:  # the connection stays in step
                    replies.append(exc)
        except BaseException:  # cut off mid-reply (timeout, cancelled, dropped): never read again
            await conn.disconnect(nowait=True)
            await pool.release(conn)
            raise
        if self._keep:
            here.kept.append(conn)
        else:
            await pool.release(conn)
        return replies

    async def _with_scripts(self, batch: Batch, replies: list[Any]) -> list[Any]:
        """As `RedisDriver._with_scripts`."""
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            _checked(_LOAD_SCRIPTS, await self._exchange([c.args for c in _LOAD_SCRIPTS]), self._prefix)
            again = await self._exchange([_args(batch[i]) for i in missing])
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        return _checked(batch, replies, self._prefix)

    async def execute(self, batch: Batch) -> list[Any]:
        """As `RedisDriver.execute`."""
        try:
            replies = await self._exchange([_args(call) for call in batch])
            for reply in replies:
                if isinstance(reply, ResponseError):  # rare: NOSCRIPT, or an error to raise
                    return await self._with_scripts(batch, replies)
        except BackendUnavailable:  # an OSError too: already ours
            raise
        except _RAISED as exc:
            raise translate(exc, prefix=self._prefix) from exc
        return replies

    async def probe(self, batch: Batch) -> list[Any]:
        """As `RedisDriver.probe`."""
        try:
            replies = await self._exchange([_args(call) for call in batch])
        except _RAISED as exc:
            raise translate(exc, prefix=self._prefix) from exc
        return _checked(batch, replies, self._prefix, keep_errors=True)

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

"""The drivers: run a plan's batch on a topology (`servers`), sync (`Driver`) or async (`AsyncDriver`).

Both run the same sans-IO router (`_route.route`); they only do its I/O: a wave is written to every
server it names before any reply is read (sync) or exchanged with them all at once (async), so a
wave is one round trip however many servers it spans.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import Any

from redis.exceptions import ResponseError

from redis_sessions._plan import Batch, Primaries, Wait
from redis_sessions.errors import BackendUnavailable

from ._errors import RAISED, translate
from ._link import AsyncLink, Link
from ._route import Refresh, Send, conclude, direct_args, direct_replies, only_server, route
from .servers import AsyncClusterServers, AsyncOneServer, ClusterServers, OneServer

SyncServers = OneServer | ClusterServers
AsyncServers = AsyncOneServer | AsyncClusterServers


class Driver:
    """Sync driver over one topology (thread-safe: a connection serves one batch at a time)."""

    def __init__(self, servers: SyncServers, prefix: str) -> None:
        self.servers = servers
        self.backend = servers.backend
        self.round_trips = 0
        self._prefix = prefix
        self._loaded: dict[str, set[str]] = {}  # server name -> scripts known loaded there

    def execute(self, batch: Batch, keep_errors: bool = False) -> list[Any]:
        """Run `batch` (see `_route.route`) and return the parsed replies. Raises `BackendUnavailable`
        (or `BackendMisconfigured`) as `_errors.translate` says; with `keep_errors`, error replies
        are returned in place as our errors instead (for `health`)."""
        servers = self.servers
        if isinstance(servers, OneServer) and not keep_errors:
            direct = direct_args(batch, self._loaded.get(""))
            if direct is not None:  # the usual case: one server, nothing to route
                return self._direct(servers.link(""), batch, *direct)
        elif isinstance(servers, ClusterServers) and not keep_errors:
            try:
                node = only_server(batch, servers.locate)
            except RAISED as exc:
                raise self._lost(exc) from exc
            direct = direct_args(batch, self._loaded.get(node)) if node is not None else None
            if node is not None and direct is not None:  # one primary, nothing to route
                return self._direct(servers.link(node), batch, *direct, node)
        return self._routed(batch, keep_errors)

    def _routed(self, batch: Batch, keep_errors: bool = False) -> list[Any]:
        """`batch` through `_route.route`: waves over every server it names, redirects followed."""
        servers = self.servers
        if len(batch) == 1 and isinstance(batch[0], Primaries):
            try:
                return [servers.primaries()]
            except RAISED as exc:
                raise self._lost(exc) from exc
        plan = route(batch, servers.locate, self._loaded, self._prefix, keep_errors)
        try:
            step = next(plan)
            while True:
                try:
                    if isinstance(step, Send):
                        answer: Any = self._send(step.calls)
                    elif isinstance(step, Refresh):
                        servers.refresh()
                        answer = None
                    else:
                        time.sleep(step.seconds)
                        answer = None
                except BackendUnavailable:
                    raise
                except RAISED as exc:
                    raise self._lost(exc) from exc
                step = plan.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except BackendUnavailable as exc:
            if exc.kind == "replica acks":  # maybe a demoted primary: find the primary anew
                servers.suspect()
            raise

    def _direct(
        self, link: Link, batch: Batch, sent: list[tuple[Any, ...]], plain: bool, node: str = ""
    ) -> list[Any]:
        """`batch` in one exchange with one server (see `_route.direct_args`); the calls that did not
        run there (NOSCRIPT, MOVED, ASK, TRYAGAIN) go again through `route`."""
        self.round_trips += 1
        try:
            conn = link.take()
            try:
                link.send(conn, sent)
                raw = link.receive(conn, sent)
            except BaseException:  # cut off mid-reply: never read again, never resent
                link.drop(conn)
                raise
            link.give_back(conn)
        except BackendUnavailable:
            raise
        except RAISED as exc:
            raise self._lost(exc) from exc
        if plain and not any(isinstance(reply, ResponseError) for reply in raw):
            return raw  # no Barrier, no Wait, no error reply: the replies as they are
        replies, acks, missing = direct_replies(batch, raw)
        if missing:  # scripts flushed (SCRIPT FLUSH, a restart unseen), a slot moved: not run
            self._loaded.pop(node, None)
            again = self._routed([batch[i] for i in missing] + [c for c in batch if isinstance(c, Wait)])
            for i, reply in zip(missing, again, strict=False):
                replies[i] = reply
        try:
            return conclude(batch, replies, acks, self._prefix, keep_errors=False)
        except BackendUnavailable as exc:
            if exc.kind == "replica acks":
                self.servers.suspect()
            raise

    def _lost(self, exc: BaseException) -> BackendUnavailable:
        """Our error for a failed exchange; the next batch re-reads the topology and scripts."""
        self._loaded.clear()  # a restarted server has no scripts
        self.servers.suspect()
        return translate(exc, prefix=self._prefix)

    def _send(self, calls: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[Any]]:
        self.round_trips += 1
        taken: list[tuple[str, Link, Any]] = []
        try:
            for name, args in calls.items():
                link = self.servers.link(name)
                conn = link.take()
                taken.append((name, link, conn))
                link.send(conn, args)
            replies = {name: link.receive(conn, calls[name]) for name, link, conn in taken}
        except BaseException:  # cut off mid-reply (timeout, dropped): never read again, never resent
            for _, link, conn in taken:
                link.drop(conn)
            raise
        for _, link, conn in taken:
            link.give_back(conn)
        return replies

    def probe(self, batch: Batch) -> list[Any]:
        """`execute` with error replies in place (no SCRIPT LOAD needed: `health` sends none)."""
        return self.execute(batch, keep_errors=True)

    def close(self) -> None:
        self.servers.close()


class AsyncDriver:
    """Async driver: a topology per event loop (redis-py's async connections belong to the loop that
    opened them), or one shared topology over a client the app gave."""

    def __init__(
        self, make_servers: Callable[[], AsyncServers], prefix: str, *, backend: str, shared: bool
    ) -> None:
        self._make_servers = make_servers
        self._prefix = prefix
        self._shared = make_servers() if shared else None
        self.backend = backend
        self.round_trips = 0
        self._loaded: dict[str, set[str]] = {}
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncServers] = (
            weakref.WeakKeyDictionary()
        )
        self._closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], AsyncServers] | None = None

    def _here(self) -> AsyncServers:
        if self._shared is not None:
            return self._shared
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop:  # the usual case: one loop serves every request
            return last[1]
        servers = self._loops.get(loop)
        if servers is None:
            servers = self._loops[loop] = self._make_servers()
            self._closers[loop] = self._close_with_loop(loop, servers)
        self._last = (weakref.ref(loop), servers)
        return servers

    async def execute(self, batch: Batch, keep_errors: bool = False) -> list[Any]:
        """As `Driver.execute`."""
        servers = self._here()
        try:
            await servers.ready()
        except RAISED as exc:
            raise translate(exc, prefix=self._prefix) from exc
        if isinstance(servers, AsyncOneServer) and not keep_errors:
            direct = direct_args(batch, self._loaded.get(""))
            if direct is not None:  # the usual case: one server, nothing to route
                return await self._direct(servers, servers.link(""), batch, *direct)
        elif isinstance(servers, AsyncClusterServers) and not keep_errors:
            node = only_server(batch, servers.locate)
            direct = direct_args(batch, self._loaded.get(node)) if node is not None else None
            if node is not None and direct is not None:  # one primary, nothing to route
                return await self._direct(servers, servers.link(node), batch, *direct, node)
        return await self._routed(servers, batch, keep_errors)

    async def _routed(self, servers: AsyncServers, batch: Batch, keep_errors: bool = False) -> list[Any]:
        """As `Driver._routed`."""
        if len(batch) == 1 and isinstance(batch[0], Primaries):
            return [servers.primaries()]
        plan = route(batch, servers.locate, self._loaded, self._prefix, keep_errors)
        try:
            step = next(plan)
            while True:
                try:
                    if isinstance(step, Send):
                        answer: Any = await self._send(servers, step.calls)
                    elif isinstance(step, Refresh):
                        await servers.refresh()
                        answer = None
                    else:
                        await asyncio.sleep(step.seconds)
                        answer = None
                except BackendUnavailable:
                    raise
                except RAISED as exc:
                    self._loaded.clear()
                    await servers.suspect()
                    raise translate(exc, prefix=self._prefix) from exc
                step = plan.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except BackendUnavailable as exc:
            if exc.kind == "replica acks":
                await servers.suspect()
            raise

    async def _direct(
        self,
        servers: AsyncServers,
        link: AsyncLink,
        batch: Batch,
        sent: list[tuple[Any, ...]],
        plain: bool,
        node: str = "",
    ) -> list[Any]:
        """As `Driver._direct`."""
        self.round_trips += 1
        try:
            raw = await _exchange(link, sent)
        except BackendUnavailable:
            raise
        except RAISED as exc:
            self._loaded.clear()
            await servers.suspect()
            raise translate(exc, prefix=self._prefix) from exc
        if plain and not any(isinstance(reply, ResponseError) for reply in raw):
            return raw
        replies, acks, missing = direct_replies(batch, raw)
        if missing:
            self._loaded.pop(node, None)
            waits: Batch = [c for c in batch if isinstance(c, Wait)]
            again = await self._routed(servers, [batch[i] for i in missing] + waits)
            for i, reply in zip(missing, again, strict=False):
                replies[i] = reply
        try:
            return conclude(batch, replies, acks, self._prefix, keep_errors=False)
        except BackendUnavailable as exc:
            if exc.kind == "replica acks":
                await servers.suspect()
            raise

    async def _send(
        self, servers: AsyncServers, calls: dict[str, list[tuple[Any, ...]]]
    ) -> dict[str, list[Any]]:
        self.round_trips += 1
        names = list(calls)
        if len(names) == 1:  # the usual case: no task to start
            return {names[0]: await _exchange(servers.link(names[0]), calls[names[0]])}
        results = await asyncio.gather(
            *(_exchange(servers.link(name), calls[name]) for name in names), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return dict(zip(names, results, strict=True))  # type: ignore[arg-type]

    async def probe(self, batch: Batch) -> list[Any]:
        """As `Driver.probe`."""
        return await self.execute(batch, keep_errors=True)

    def _close_with_loop(
        self, loop: asyncio.AbstractEventLoop, servers: AsyncServers
    ) -> AsyncGenerator[None, None]:
        """An async generator, started now, whose cleanup closes `servers` and forgets `loop`: the
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
                await servers.close()

        gen = closer()
        step = gen.__anext__()  # registers the generator with the running loop (firstiter hook)
        with contextlib.suppress(StopIteration):
            step.send(None)  # run to the first yield: nothing before it awaits
        return gen

    async def close(self) -> None:
        if self._shared is not None:
            await self._shared.close()
            return
        closer = self._closers.get(asyncio.get_running_loop())
        if closer is not None:
            await closer.aclose()  # runs its cleanup now, once: the loop's topology is closed


async def _exchange(link: AsyncLink, calls: list[tuple[Any, ...]]) -> list[Any]:
    conn = await link.take()
    try:
        replies = await link.exchange(conn, calls)
    except BaseException:  # cut off mid-reply (timeout, cancelled, dropped): never read again
        await link.drop(conn)
        raise
    await link.give_back(conn)
    return replies

"""The drivers of ``on_backend_error="fallback"``: Redis' driver (behind its circuit breaker), with a
`Fallback` standing in while Redis is down. The state and its rules are in `fallback`; these only
do the I/O, sync and async alike."""

from __future__ import annotations

from typing import Any

from redis_sessions._plan import Batch
from redis_sessions.errors import BackendUnavailable

from .breaker import AsyncGuardedDriver, GuardedDriver
from .driver import AsyncDriver, Driver
from .fallback import Fallback


class FallbackDriver:
    """`Driver` (or `GuardedDriver`) with a `Fallback`: one Redis round trip per batch while
    Redis serves, plus the bookkeeping of `Fallback.observe`; no round trip while it does not."""

    def __init__(self, inner: Driver | GuardedDriver, fallback: Fallback) -> None:
        self.inner = inner
        self.fallback = fallback
        self.backend = inner.backend

    @property
    def round_trips(self) -> int:
        return self.inner.round_trips

    def execute(self, batch: Batch) -> list[Any]:
        fallback = self.fallback
        if fallback.active:
            if fallback.claim_replay():
                self._write_back()
            replies = fallback.local(batch)
            if replies is not None:
                return replies
        try:
            replies = self.inner.execute(batch)
        except BackendUnavailable as exc:
            if not fallback.covers(exc):
                raise
            fallback.begin(exc)
            local = fallback.local(batch, exc)
            if local is None:  # Redis came back meanwhile
                raise
            return local
        fallback.observe(batch, replies)
        return replies

    def _write_back(self) -> None:
        """Write the outage's log back to Redis; once it is all there (and Redis answered), the
        fallback is off."""
        fallback = self.fallback
        try:
            answered = False
            while True:
                chunk = fallback.next_chunk()
                if chunk is not None:
                    fallback.replayed(chunk, self.inner.execute(chunk, keep_errors=True))
                elif not answered:
                    self.inner.execute([fallback.probe])
                elif fallback.finish():
                    return
                answered = True
        except BackendUnavailable:
            fallback.replay_failed()  # still down: the log waits for the next batch
        except BaseException:
            fallback.replay_failed()
            raise

    def probe(self, batch: Batch) -> list[Any]:
        """For `health`: Redis itself, never the fallback."""
        return self.inner.probe(batch)

    def close(self) -> None:
        self.inner.close()


class AsyncFallbackDriver:
    """`FallbackDriver` for asyncio."""

    def __init__(self, inner: AsyncDriver | AsyncGuardedDriver, fallback: Fallback) -> None:
        self.inner = inner
        self.fallback = fallback
        self.backend = inner.backend

    @property
    def round_trips(self) -> int:
        return self.inner.round_trips

    async def execute(self, batch: Batch) -> list[Any]:
        fallback = self.fallback
        if fallback.active:
            if fallback.claim_replay():
                await self._write_back()
            replies = fallback.local(batch)
            if replies is not None:
                return replies
        try:
            replies = await self.inner.execute(batch)
        except BackendUnavailable as exc:
            if not fallback.covers(exc):
                raise
            fallback.begin(exc)
            local = fallback.local(batch, exc)
            if local is None:
                raise
            return local
        fallback.observe(batch, replies)
        return replies

    async def _write_back(self) -> None:
        fallback = self.fallback
        try:
            answered = False
            while True:
                chunk = fallback.next_chunk()
                if chunk is not None:
                    fallback.replayed(chunk, await self.inner.execute(chunk, keep_errors=True))
                elif not answered:
                    await self.inner.execute([fallback.probe])
                elif fallback.finish():
                    return
                answered = True
        except BackendUnavailable:
            fallback.replay_failed()
        except BaseException:
            fallback.replay_failed()
            raise

    async def probe(self, batch: Batch) -> list[Any]:
        return await self.inner.probe(batch)

    async def close(self) -> None:
        await self.inner.close()

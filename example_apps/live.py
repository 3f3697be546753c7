"""Live updates that end at logout, on every process: a server-sent-events stream per open page,
closed when its session is logged out, or its user logs out everywhere, whichever process did it.

Each process subscribes to the store's session events (``publish_events=True``) and closes its own
matching streams; the event names sessions by handle, never by id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis_sessions import AsyncSessionStore
from redis_sessions.events import SessionEvent


class LiveStreams:
    """The open streams of this process, by user and session handle."""

    def __init__(self) -> None:
        self._open: dict[str, dict[asyncio.Queue[str], str]] = {}  # user -> {stream: session handle}

    async def stream(self, user_id: str, handle: str) -> AsyncIterator[str]:
        """Server-sent events for one page: a hello, then one last event when the session ends."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._open.setdefault(user_id, {})[queue] = handle
        try:
            yield "event: hello\ndata: connected\n\n"
            reason = await queue.get()
            yield f"event: logout\ndata: {reason}\n\n"
        finally:
            self._open.get(user_id, {}).pop(queue, None)

    def dispatch(self, event: SessionEvent) -> None:
        """End the streams `event` logs out."""
        if event.type == "user_revoked" and event.user_id is not None:
            for queue, handle in self._open.get(event.user_id, {}).items():
                if handle != event.kept:
                    queue.put_nowait("logged out everywhere")
        elif event.type == "destroyed":
            for streams in self._open.values():
                for queue, handle in streams.items():
                    if handle == event.session:
                        queue.put_nowait(event.reason or "logged out")

    async def follow(self, store: AsyncSessionStore) -> None:
        """Dispatch the store's session events until cancelled."""
        async with store.events() as events:
            async for event in events:
                self.dispatch(event)


@contextlib.asynccontextmanager
async def following(live: LiveStreams, store: AsyncSessionStore) -> AsyncIterator[None]:
    """Run `live.follow(store)` for the app's lifetime (not for ``memory://``: no pub/sub there)."""
    if not store.config.publish_events or store.config.url.startswith("memory:"):
        yield
        return
    task = asyncio.create_task(live.follow(store))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""`list_sessions` walks a Redis Cluster (3 primaries) page by page while sessions come and go.

Promise (`_plan.list_sessions`): every session alive for the whole walk is listed, and none twice;
sessions created or deleted during the walk may or may not appear. `count()` is exact while nothing
changes. 10,000 sessions for the sync store (a thread creates and deletes sessions during the walk),
4,000 for the async one (a task does); pages 20 ms apart (a client doing some work with each), the
churn creating and deleting 50 sessions at a time. Figures with -s.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from redis_sessions import AsyncSessionStore, Session, SessionConfig, SessionStore
from redis_sessions.testing import LocalCluster
from tests.cluster._slots import private_cluster

pytestmark = pytest.mark.slow

SECRET = "listing-walk-secret-0123456789abcdef"
SYNC_SESSIONS, ASYNC_SESSIONS = 10_000, 4_000
CHUNK = 1_000  # sessions per save_many
SYNC_LIMIT, ASYNC_LIMIT = 200, 100  # page sizes
MAX_PAGES = 1_000
MAX_CHURN = 200_000  # sessions created + deleted: a bound on the churn loop
SYNC_WALKS, ASYNC_WALKS = 2, 5  # walks under churn, at most (each must be exact)
PAGE_PAUSE = 0.02  # seconds between pages (a client doing some work with each)
MAX_CHANGES = 20  # changes made by the test without concurrency


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    yield from private_cluster(replicas_per_primary=0)


def make_config(cluster: LocalCluster) -> SessionConfig:
    return SessionConfig(url=cluster.url, secret_keys=[SECRET], key_prefix=f"lw{os.urandom(3).hex()}:")


def populate(store: SessionStore, count: int) -> list[str]:
    """`count` sessions saved `CHUNK` at a time (one gathered plan each); their ids."""
    ids: list[str] = []
    for start in range(0, count, CHUNK):
        chunk = [store.new_session({"n": n}) for n in range(start, min(start + CHUNK, count))]
        store.save_many(chunk)
        ids += [s.id for s in chunk]
    return ids


def walk(store: SessionStore, limit: int, pause: float = 0.0) -> tuple[list[str], int]:
    """Every page of `list_sessions` (`pause` seconds between pages): the ids in listing order,
    and the number of pages."""
    listed: list[str] = []
    cursor: str | None = None
    for pages in range(1, MAX_PAGES + 1):
        page = store.list_sessions(limit=limit, cursor=cursor)
        assert len(page.sessions) <= limit
        listed += [s.id for s in page.sessions]
        cursor = page.next_cursor
        if cursor is None:
            return listed, pages
        time.sleep(pause)
    raise AssertionError(f"the walk did not end within {MAX_PAGES} pages")


async def awalk(store: AsyncSessionStore, limit: int, pause: float) -> tuple[list[str], int]:
    """`walk` for the async store."""
    listed: list[str] = []
    cursor: str | None = None
    for pages in range(1, MAX_PAGES + 1):
        page = await store.list_sessions(limit=limit, cursor=cursor)
        assert len(page.sessions) <= limit
        listed += [s.id for s in page.sessions]
        cursor = page.next_cursor
        if cursor is None:
            return listed, pages
        await asyncio.sleep(pause)
    raise AssertionError(f"the walk did not end within {MAX_PAGES} pages")


def judge(lasting: set[str], listed: list[str]) -> tuple[int, int]:
    """(sessions alive for the whole walk never listed, listed more than once)."""
    seen = Counter(i for i in listed if i in lasting)
    return len(lasting - set(seen)), sum(1 for n in seen.values() if n > 1)


class Churn:
    """Until stopped: creates `BATCH` sessions (one `save_many`), then deletes `BATCH` (one
    `delete_many`): half of them from `victims` (the walked sessions), half of those it created."""

    BATCH = 50

    def __init__(self, victims: list[str], seed: int) -> None:
        self.victims = list(victims)
        self.rng = random.Random(seed)
        self.created: list[str] = []  # created and not deleted yet
        self.made: list[str] = []  # every session it created
        self.deleted: set[str] = set()  # chosen for deletion (before the DEL is sent)
        self.ops = 0  # sessions created + deleted

    def alive(self) -> set[str]:
        """Sessions alive now, as far as it can tell (a batch in flight is in neither list)."""
        return (set(self.victims) | set(self.created)) - self.deleted

    def creates(self, store: SessionStore | AsyncSessionStore) -> list[Session]:
        return [store.new_session({"churn": self.ops + n}) for n in range(self.BATCH)]

    def choose(self) -> list[str]:
        """`BATCH` sessions to delete: half from `victims` while any are left, the rest of its own
        (so the number of sessions stays the same)."""
        rng = self.rng
        chosen = [
            self.victims.pop(rng.randrange(len(self.victims)))
            for _ in range(min(self.BATCH // 2, len(self.victims)))
        ]
        chosen += [
            self.created.pop(rng.randrange(len(self.created))) for _ in range(self.BATCH - len(chosen))
        ]
        self.deleted.update(chosen)
        return chosen

    def created_now(self, sessions: list[Session]) -> None:
        ids = [s.id for s in sessions]
        self.created += ids
        self.made += ids
        self.ops += len(ids)

    def run(self, store: SessionStore, stop: threading.Event) -> None:
        while not stop.is_set() and self.ops < MAX_CHURN:
            sessions = self.creates(store)
            store.save_many(sessions)
            self.created_now(sessions)
            chosen = self.choose()
            store.delete_many(chosen)
            self.ops += len(chosen)

    async def arun(self, store: AsyncSessionStore, done: asyncio.Event) -> None:
        while not done.is_set() and self.ops < MAX_CHURN:
            sessions = self.creates(store)
            await store.save_many(sessions)
            self.created_now(sessions)
            chosen = self.choose()
            await store.delete_many(chosen)
            self.ops += len(chosen)


def report(flavour: str, total: int, limit: int, walks: list[tuple[int, float, int, int, int]]) -> str:
    rows = "; ".join(
        f"walk {n}: {pages} pages in {seconds:.2f} s, {ops} created/deleted meanwhile, "
        f"never listed {missing}, listed twice {twice}"
        for n, (pages, seconds, ops, missing, twice) in enumerate(walks, start=1)
    )
    pause = f"{PAGE_PAUSE * 1000:.0f} ms apart"
    return f"\nwalks under churn ({flavour}, {total} sessions, pages of {limit}, {pause}): {rows}"


def test_count_and_a_quiet_walk_list_every_session_exactly_once(cluster: LocalCluster) -> None:
    with SessionStore(make_config(cluster)) as store:
        started = time.monotonic()
        ids = populate(store, SYNC_SESSIONS)
        created = time.monotonic() - started
        started = time.monotonic()
        counted = store.count()
        count_ms = (time.monotonic() - started) * 1000
        started = time.monotonic()
        listed, pages = walk(store, SYNC_LIMIT)
        walked = time.monotonic() - started
        store.delete_many(ids)
    print(
        f"\nquiet walk: {SYNC_SESSIONS} sessions created in {created:.2f} s (save_many of {CHUNK}), "
        f"count() {count_ms:.0f} ms, {pages} pages of {SYNC_LIMIT} in {walked:.2f} s"
    )
    assert counted == SYNC_SESSIONS
    assert sorted(listed) == sorted(ids)  # each exactly once


def test_walks_under_churn_list_every_lasting_session_exactly_once_sync(cluster: LocalCluster) -> None:
    """Up to `SYNC_WALKS` walks while a thread creates and deletes sessions; each must list every
    session alive from its start to its end exactly once (stops at the first that does not)."""
    walks: list[tuple[int, float, int, int, int]] = []
    with SessionStore(make_config(cluster)) as store:
        ids = populate(store, SYNC_SESSIONS)
        assert store.count() == SYNC_SESSIONS
        churn = Churn(ids, seed=1)
        stop = threading.Event()
        thread = threading.Thread(target=churn.run, args=(store, stop), daemon=True)
        thread.start()
        try:
            for _ in range(SYNC_WALKS):
                alive, ops, started = churn.alive(), churn.ops, time.monotonic()
                listed, pages = walk(store, SYNC_LIMIT, PAGE_PAUSE)
                missing, twice = judge(alive - churn.deleted, listed)
                walks.append((pages, time.monotonic() - started, churn.ops - ops, missing, twice))
                if missing or twice:
                    break
        finally:
            stop.set()
            thread.join(30)
        store.delete_many([*ids, *churn.made])
    print(report("sync", SYNC_SESSIONS, SYNC_LIMIT, walks))
    assert [(missing, twice) for *_, missing, twice in walks] == [(0, 0)] * SYNC_WALKS


def test_walks_under_churn_list_every_lasting_session_exactly_once_async(cluster: LocalCluster) -> None:
    """The same with `AsyncSessionStore`, a task churning, `ASYNC_SESSIONS` sessions."""
    config = make_config(cluster)
    with SessionStore(config) as sync_store:
        ids = populate(sync_store, ASYNC_SESSIONS)
    churn = Churn(ids, seed=2)
    walks: list[tuple[int, float, int, int, int]] = []

    async def scenario() -> None:
        async with AsyncSessionStore(config) as store:
            assert await store.count() == ASYNC_SESSIONS
            done = asyncio.Event()
            task = asyncio.ensure_future(churn.arun(store, done))
            try:
                for _ in range(ASYNC_WALKS):
                    alive, ops, started = churn.alive(), churn.ops, time.monotonic()
                    listed, pages = await awalk(store, ASYNC_LIMIT, PAGE_PAUSE)
                    missing, twice = judge(alive - churn.deleted, listed)
                    walks.append((pages, time.monotonic() - started, churn.ops - ops, missing, twice))
                    if missing or twice:
                        break
            finally:
                done.set()
                await asyncio.wait_for(task, 30)
            await store.delete_many([*ids, *churn.made])

    asyncio.run(scenario())
    print(report("async", ASYNC_SESSIONS, ASYNC_LIMIT, walks))
    assert [(missing, twice) for *_, missing, twice in walks] == [(0, 0)] * ASYNC_WALKS


@pytest.mark.parametrize("change", ["delete-listed", "create"])
def test_a_change_after_each_page_that_ends_inside_a_scan_step(cluster: LocalCluster, change: str) -> None:
    """The bug without concurrency: after each page whose cursor points inside a SCAN step
    ("<scan>:<last id>@<primary>"), up to `MAX_CHANGES` times, one change: delete the sessions that
    page listed (allowed: they were listed), or create 300 sessions (100 or so per primary)."""
    with SessionStore(make_config(cluster)) as store:
        ids = populate(store, 3_000)
        listed: list[str] = []
        deleted: set[str] = set()
        late: list[str] = []
        cursor: str | None = None
        changes = 0
        for _ in range(MAX_PAGES):
            page = store.list_sessions(limit=100, cursor=cursor)
            listed += [s.id for s in page.sessions]
            cursor = page.next_cursor
            if cursor is None:
                break
            if changes < MAX_CHANGES and cursor.split("@")[0].split(":")[1]:  # ended inside a SCAN step
                changes += 1
                if change == "delete-listed":
                    store.delete_many([s.id for s in page.sessions])
                    deleted.update(s.id for s in page.sessions)
                else:
                    sessions = [store.new_session({"late": n}) for n in range(300)]
                    store.save_many(sessions)
                    late += [s.id for s in sessions]
        store.delete_many([*ids, *late])
    missing, twice = judge(set(ids) - deleted, listed)
    print(
        f"\na change after each of {changes} pages ({change}): never listed {missing}, listed twice {twice}"
    )
    assert changes > 0
    assert (missing, twice) == (0, 0)

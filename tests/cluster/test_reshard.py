"""Redis Cluster slots move between primaries while requests read and write the sessions in them.

A private cluster (3 primaries) holds a few hundred sessions, most of them (and half of their users'
indexes) in the slots that move, each such slot padded with other keys so that it takes a while to
move. Under load from HTTP clients (the ASGI integration under uvicorn: the async driver) and
threads calling a `SessionStore` (the sync driver), each worker on sessions of its own with data of
its own (counter, label, owner), some requests regenerating and some logging a user out everywhere,
the slots move three times: ``redis-cli --cluster reshard`` (one key per MIGRATE), then by hand
with a pause after each key (slots stay half-moved: ASK, and TRYAGAIN for a regenerate's two
keys), then ``redis-cli --cluster rebalance``. Then: no session lost (every one alive before is
readable, with every acknowledged write), none of the ids regenerated away or logged out is back,
each user's index is exact, no 500, no cross-talk. 503s are counted and reported (with -s), with
the redirections the servers counted and the time each move took: only a regenerate may get one
(its slot half-moved for longer than the drivers follow TRYAGAIN, see the last test), and a
regenerate that answered 503 left its session where it was.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.cluster
from redis.crc import key_slot

from redis_sessions import (
    AsyncSessionStore,
    BackendUnavailable,
    Session,
    SessionConfig,
    SessionIdSigner,
    SessionStore,
)
from redis_sessions._layout import KeyLayout
from redis_sessions.testing import LocalCluster
from tests.cluster._slots import (
    migrate_by_hand,
    private_cluster,
    query,
    rebalance,
    redirects,
    reset_counters,
    reshard,
    slot_owners,
)
from tests.served import uvicorn_process

pytestmark = pytest.mark.slow

SECRET = "reshard-test-secret-0123456789abcdef"
MOVED_SLOTS = 400  # redis-cli reshard moves the source's lowest slots: [0, MOVED_SLOTS)
HTTP_WORKERS, SYNC_WORKERS = 4, 2
# Per worker: 5 users with 4 sessions each (3 users' sessions in moving slots), then anonymous
# sessions up to 34 in moving slots and 16 elsewhere; 100 idle sessions in moving slots.
USERS, MOVING_USERS, SESSIONS_PER_USER = 5, 3, 4
MOVING, ELSEWHERE, IDLE = 34, 16, 100
FILL = 8  # other keys in each moving slot that holds a session or a user index
# By hand: slots half-moved at once, seconds between rounds (one key of each): a slot of FILL + 1 or
# 2 keys stays half-moved about 0.1 s, within the drivers' TRYAGAIN budget (0.775 s).
LANES, ROUND_PAUSE = 16, 0.008
REGENERATE_EVERY = 9  # every 9th request of a worker regenerates
LOGOUTS = (40, 120)  # a worker's requests that log a user out everywhere
WARMUP = 5  # requests per worker before the slots move
OP_PAUSE = 0.003  # seconds between a worker's requests
MAX_OPS = 20_000  # per worker: a bound on the load loop
HTTP_TIMEOUT = 10.0
SLOW = 5.0  # seconds: a request slower than this is counted as a hang


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    yield from private_cluster(replicas_per_primary=0)


@dataclass
class Tracked:
    """One session as its worker knows it: the id now, what it holds, and whether a write to it
    answered 503 (it may or may not have been applied)."""

    label: str
    sid: str
    user: str | None
    n: int = 0
    maybe: bool = False  # the last write answered 503: n or n + 1
    moved_maybe: bool = False  # the last regenerate answered 503: at this id, unless it ran
    state: str = "live"  # live | gone (logged out) | unknown (moved or logged out by a 503'd call) | lost


@dataclass
class Worker:
    """A client of its own sessions: `run` sends requests until stopped; every outcome is tallied."""

    token: str
    sessions: list[Tracked]
    ops: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # ok, unavailable, failure
    refused: Counter[str] = field(default_factory=Counter)  # 503s by request kind (and error kind)
    kinds: Counter[str] = field(default_factory=Counter)  # hit, regenerate, logout
    retired: list[str] = field(default_factory=list)  # ids regenerated away or logged out
    failures: list[str] = field(default_factory=list)
    crosstalk: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    slowest: float = 0.0
    current: str = ""  # the kind of request being sent

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set() and self.ops < MAX_OPS:
            live = [t for t in self.sessions if t.state == "live"]
            if not live:
                return
            tracked = live[self.ops % len(live)]
            started = time.monotonic()
            try:
                if self.ops in LOGOUTS and any(t.user for t in live):
                    self.current = "logout"
                    self.kinds["logout"] += 1
                    self.logout(next(t for t in live if t.user))
                elif self.ops % REGENERATE_EVERY == REGENERATE_EVERY - 1:
                    self.current = "regenerate"
                    self.kinds["regenerate"] += 1
                    self.hit(tracked, regenerate=True)
                else:
                    self.current = "hit"
                    self.kinds["hit"] += 1
                    self.hit(tracked, regenerate=False)
            except Exception as exc:  # anything but BackendUnavailable is a failure (a 500)
                self.outcome("failure")
                self.failures.append(f"{type(exc).__name__}: {exc}")
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.ops += 1
            time.sleep(OP_PAUSE)

    def hit(self, tracked: Tracked, regenerate: bool) -> None:
        raise NotImplementedError

    def logout(self, tracked: Tracked) -> None:
        raise NotImplementedError

    def outcome(self, name: str) -> None:
        self.outcomes[name] += 1

    def check(self, tracked: Tracked, found: dict[str, Any]) -> None:
        """`found` is what the session held: its own label, owner and user, and the counter of
        every acknowledged write."""
        mine = (tracked.label, self.token, tracked.user)
        if (found["label"], found["owner"], found["user"]) != mine:
            self.crosstalk.append(f"{tracked.label} held {found['label']} of {found['owner']}")
        n = int(found["n"])
        if n != tracked.n and not (tracked.maybe and n == tracked.n + 1):
            self.lost.append(f"{tracked.label}: counter {n}, {tracked.n} acknowledged")
        tracked.n, tracked.maybe, tracked.moved_maybe = n, False, False

    def not_found(self, tracked: Tracked) -> None:
        """No session at `tracked`'s id: lost, unless a regenerate that answered 503 moved it."""
        if tracked.moved_maybe:
            tracked.state = "unknown"
            return
        self.lost.append(f"{tracked.label}: no session")
        tracked.state = "lost"

    def user_sessions(self, user: str | None) -> list[Tracked]:
        return [t for t in self.sessions if t.user == user and t.state == "live"]

    def unavailable(self, tracked: list[Tracked], state: str | None, kind: str = "") -> None:
        """A 503 (`kind`: BackendUnavailable's, when known): `state` "maybe" (a write that may have
        been applied), "moved?" (a regenerate that may have run), "unknown" (a logout that may have
        run), or None (a read: nothing changed)."""
        self.outcome("unavailable")
        self.refused[f"{self.current} {kind}".strip()] += 1
        for t in tracked:
            if state == "maybe":
                t.maybe = True
            elif state == "moved?":
                t.moved_maybe = True
            elif state is not None:
                t.state = state


class HttpWorker(Worker):
    """A browser juggling its sessions' cookies, against `reshard_app` (the async driver)."""

    def __init__(self, token: str, sessions: list[Tracked], base_url: str, signer: SessionIdSigner) -> None:
        super().__init__(token, sessions)
        self.http = httpx.Client(base_url=base_url, timeout=HTTP_TIMEOUT)
        self.signer = signer

    def post(self, path: str, tracked: Tracked) -> httpx.Response | None:
        cookie = self.signer.sign(tracked.sid)
        try:
            return self.http.post(path, headers={"cookie": f"session={cookie}"})
        except httpx.HTTPError as exc:
            self.outcome("failure")
            self.failures.append(f"{path}: {type(exc).__name__}")
            return None
        finally:
            self.http.cookies.clear()  # cookies go by hand: one client, many sessions

    def answered(self, response: httpx.Response, tracked: list[Tracked], state: str) -> bool:
        """Tally a non-200; True for a 200."""
        if response.status_code == 200:
            self.outcome("ok")
            return True
        if response.status_code == 503:
            self.unavailable(tracked, state)
        elif response.status_code == 404:
            self.outcome("ok")
            self.not_found(tracked[0])
        else:
            self.outcome("failure")
            self.failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
        return False

    def hit(self, tracked: Tracked, regenerate: bool) -> None:
        response = self.post("/regenerate" if regenerate else "/hit", tracked)
        if response is None or not self.answered(response, [tracked], "moved?" if regenerate else "maybe"):
            return
        self.check(tracked, response.json())
        tracked.n += 1
        if regenerate:
            new_id = self.new_id(response)
            if new_id is None:
                self.failures.append(f"{tracked.label}: regenerated without a new cookie")
                tracked.state = "unknown"
                return
            self.retired.append(tracked.sid)
            tracked.sid = new_id

    def new_id(self, response: httpx.Response) -> str | None:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            if name.strip() == "session":
                return self.signer.unsign(rest.split(";", 1)[0].strip('"'))
        return None

    def logout(self, tracked: Tracked) -> None:
        targets = self.user_sessions(tracked.user)
        response = self.post("/logout-everywhere", tracked)
        if response is None or not self.answered(response, targets, "unknown"):
            return
        body = response.json()
        self.check(tracked, body)
        if body["deleted"] != len(targets):
            self.lost.append(f"logout of {tracked.user}: {body['deleted']} deleted of {len(targets)}")
        for t in targets:
            t.state = "gone"
            self.retired.append(t.sid)


class SyncWorker(Worker):
    """Threads calling a `SessionStore` directly (the sync driver)."""

    def __init__(self, token: str, sessions: list[Tracked], store: SessionStore) -> None:
        super().__init__(token, sessions)
        self.store = store

    def call(self, tracked: list[Tracked], state: str | None, action: Callable[[], Any]) -> Any:
        """`action()`; on BackendUnavailable, None, and `tracked` take `state` (None: a read)."""
        try:
            result = action()
        except BackendUnavailable as exc:
            self.unavailable(tracked, state, exc.kind)
            return None
        self.outcome("ok")
        return result

    def load(self, tracked: Tracked) -> Session | None:
        before = self.outcomes["unavailable"]
        session: Session | None = self.call([tracked], None, lambda: self.store.get(tracked.sid))
        if session is None:
            if self.outcomes["unavailable"] == before:
                self.not_found(tracked)
            return None
        found = {"label": session.get("label"), "owner": session.get("owner"), "n": session.get("n")}
        self.check(tracked, {**found, "user": session.user_id})
        return session

    def hit(self, tracked: Tracked, regenerate: bool) -> None:
        session = self.load(tracked)
        if session is None:
            return
        session["n"] = tracked.n + 1
        if not regenerate:
            saved = self.call([tracked], "maybe", lambda: self.store.save(session))
            if saved is False:
                self.lost.append(f"{tracked.label}: gone at save")
            elif saved:
                tracked.n += 1
            return
        old_id = tracked.sid
        moved = self.call([tracked], "moved?", lambda: self.store.regenerate(session))
        if moved is not None:
            tracked.n += 1
            self.retired.append(old_id)
            tracked.sid = moved.id

    def logout(self, tracked: Tracked) -> None:
        targets = self.user_sessions(tracked.user)
        assert tracked.user is not None
        user = tracked.user
        deleted = self.call(targets, "unknown", lambda: self.store.delete_user_sessions(user))
        if deleted is None:
            return
        if deleted != len(targets):
            self.lost.append(f"logout of {user}: {deleted} deleted of {len(targets)}")
        for t in targets:
            t.state = "gone"
            self.retired.append(t.sid)


def in_range(key: str) -> bool:
    return key_slot(key.encode()) < MOVED_SLOTS


def new_sessions(
    store: SessionStore, count: int, moving: bool, data: dict[str, Any], user: str | None = None
) -> list[Session]:
    """`count` unsaved sessions whose slots move (`moving`) or stay."""
    layout = KeyLayout(store.config.key_prefix)
    made: list[Session] = []
    for _ in range(count * 200):
        session = store.new_session({**data, "label": f"{data['label']}-{len(made)}"}, user_id=user)
        if in_range(layout.session_key(session.id)) == moving:
            made.append(session)
            if len(made) == count:
                return made
    raise AssertionError("could not place the sessions")


def user_ids(layout: KeyLayout, count: int, moving: bool) -> list[str]:
    found: list[str] = []
    for _ in range(count * 200):
        user = f"user-{os.urandom(4).hex()}"
        if in_range(layout.user_key(user)) == moving:
            found.append(user)
            if len(found) == count:
                return found
    raise AssertionError("could not place the users")


def populate(store: SessionStore, workers: int) -> tuple[list[list[Session]], list[Session]]:
    """Per worker, its sessions (see `MOVING`; its users' first); and the idle ones. Saved."""
    layout = KeyLayout(store.config.key_prefix)
    result: list[list[Session]] = []
    for w in range(workers):
        token = f"w{w}-{os.urandom(3).hex()}"
        users = user_ids(layout, MOVING_USERS, True) + user_ids(layout, USERS - MOVING_USERS, False)
        mine: list[Session] = []
        for u, user in enumerate(users):
            data = {"label": f"w{w}u{u}", "owner": token, "n": 0}
            mine += new_sessions(store, SESSIONS_PER_USER, u < MOVING_USERS, data, user)
        moving_rest = MOVING - MOVING_USERS * SESSIONS_PER_USER
        elsewhere_rest = ELSEWHERE - (USERS - MOVING_USERS) * SESSIONS_PER_USER
        mine += new_sessions(store, moving_rest, True, {"label": f"w{w}a", "owner": token, "n": 0})
        mine += new_sessions(store, elsewhere_rest, False, {"label": f"w{w}b", "owner": token, "n": 0})
        result.append(mine)
    idle = new_sessions(store, IDLE, True, {"label": "idle", "owner": "nobody", "n": 0})
    store.save_many([s for mine in result for s in mine] + idle)
    return result, idle


def pad_slots(cluster: LocalCluster, keys: list[str]) -> set[int]:
    """Write `FILL` other keys into each moving slot of `keys`; return those slots."""
    slots: dict[int, str] = {}
    for key in keys:
        if in_range(key):
            slots.setdefault(key_slot(key.encode()), key)
    filler = {f"{{{key}}}:other:{i}": "x" * 100 for key in slots.values() for i in range(FILL)}
    nodes = [redis.cluster.ClusterNode(host, port) for host, port in cluster.startup_nodes]  # type: ignore[no-untyped-call]
    with redis.cluster.RedisCluster(startup_nodes=nodes) as client:
        client.mset_nonatomic(filler)
    return set(slots)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.05)


def settle(cluster: LocalCluster) -> float:
    """Wait until every node agrees on the new map (`wait_healthy`); return the seconds it took."""
    started = time.monotonic()
    cluster.wait_healthy()
    return time.monotonic() - started


def verify(store: SessionStore, workers: list[Worker], idle: list[Session]) -> list[str]:
    """Problems found in Redis once the load stopped (labels only: never an id)."""
    problems: list[str] = []
    tracked = [t for w in workers for t in w.sessions]
    for w in workers:
        for t in w.sessions:
            if t.state != "live":
                continue
            session = store.get(t.sid)
            if session is None and t.moved_maybe:
                t.state = "unknown"  # a regenerate that answered 503 ran: moved to an id unseen
                continue
            if session is None:
                problems.append(f"{t.label}: lost")
                continue
            n = int(session.get("n", -1))
            if (session.get("label"), session.get("owner"), session.user_id) != (t.label, w.token, t.user):
                problems.append(f"{t.label}: holds {session.get('label')} of {session.get('owner')}")
            if n != t.n and not (t.maybe and n == t.n + 1):
                problems.append(f"{t.label}: counter {n}, {t.n} acknowledged")
        back = [i for i in w.retired if store.exists(i)]
        if back:
            problems.append(f"{len(back)} ids of worker {w.token} regenerated away or logged out exist")
    for session in idle:
        found = store.get(session.id)
        if found is None or dict(found) != dict(session):
            problems.append(f"idle session {session.get('label')}: {'lost' if found is None else 'changed'}")
    unsure = {t.user for t in tracked if t.state == "unknown"}
    for user in {t.user for t in tracked if t.user is not None and t.user not in unsure}:
        indexed = {s.id for s in store.sessions_for_user(user)}
        expected = {t.sid for t in tracked if t.user == user and t.state == "live"}
        if indexed != expected:
            problems.append(f"index of {user}: {len(indexed)} sessions, {len(expected)} expected")
    live = sum(t.state == "live" for t in tracked) + len(idle)
    unknown = sum(t.state == "unknown" for t in tracked)
    counted = store.count()
    if not live <= counted <= live + unknown:
        problems.append(f"count() is {counted}, {live} live sessions (+{unknown} unknown)")
    return problems


def test_sessions_survive_slots_moving_under_load(cluster: LocalCluster, tmp_path: Path) -> None:
    owners = slot_owners(cluster)
    by_port = {node.port: node for node in cluster.nodes}
    source = by_port[owners[0]]
    middle, last = (node for node in cluster.primaries() if node is not source)
    prefix = f"rs{os.urandom(2).hex()}:"
    config = SessionConfig(
        url=cluster.url, secret_keys=[SECRET], key_prefix=prefix, connect_timeout=0.5, command_timeout=1.0
    )
    layout = KeyLayout(prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "SESSION_"))}
    env.update(REDIS_URL=cluster.url, SESSION_SECRET_KEYS=SECRET, SESSION_KEY_PREFIX=prefix)
    log = tmp_path / "uvicorn.log"
    with SessionStore(config) as store:
        per_worker, idle = populate(store, HTTP_WORKERS + SYNC_WORKERS)
        keys = [layout.session_key(s.id) for mine in per_worker for s in mine]
        keys += [layout.session_key(s.id) for s in idle]
        keys += [layout.user_key(s.user_id) for mine in per_worker for s in mine if s.user_id]
        session_slots = sorted(pad_slots(cluster, keys))
        worked = [layout.session_key(s.id) for mine in per_worker for s in mine]
        worked_slots = sorted({key_slot(k.encode()) for k in worked} & set(session_slots))
        assert len(worked_slots) > 100
        reset_counters(cluster)
        times: dict[str, float] = {}
        workers: list[Worker] = []
        with uvicorn_process("tests.cluster.reshard_app:app", env, log, "/ping") as base_url:
            for number, mine in enumerate(per_worker):
                tracked = [Tracked(str(s["label"]), s.id, s.user_id) for s in mine]
                token = str(mine[0]["owner"])
                if number < HTTP_WORKERS:
                    workers.append(HttpWorker(token, tracked, base_url, store.signer))
                else:
                    workers.append(SyncWorker(token, tracked, store))
            stop = threading.Event()
            threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in workers]
            for thread in threads:
                thread.start()
            try:
                wait_for(lambda: all(w.ops >= WARMUP for w in workers), 30, "warm-up requests")
                load_started = time.monotonic()
                times["redis-cli reshard"] = reshard(source, middle, MOVED_SLOTS)
                times["settle 1"] = settle(cluster)
                assert set(slot_owners(cluster)[:MOVED_SLOTS]) == {middle.port}
                times["by hand"] = migrate_by_hand(
                    cluster, worked_slots, middle, last, lanes=LANES, pause=ROUND_PAUSE
                )
                times["settle 2"] = settle(cluster)
                owners_now = slot_owners(cluster)
                assert {owners_now[s] for s in worked_slots} == {last.port}
                times["redis-cli rebalance"] = rebalance(source)
                times["settle 3"] = settle(cluster)
                time.sleep(0.5)  # load on the settled map: stale maps meet MOVED
                load_seconds = time.monotonic() - load_started
            finally:
                stop.set()
                for thread in threads:
                    thread.join(HTTP_TIMEOUT + 5)
                for w in workers:
                    if isinstance(w, HttpWorker):
                        w.http.close()
        counted = redirects(cluster)
        final_owners = slot_owners(cluster)
        problems = verify(store, workers, idle)
    log_text = log.read_text(errors="replace")
    http = [w for w in workers if isinstance(w, HttpWorker)]
    sync = [w for w in workers if isinstance(w, SyncWorker)]

    def total(group: list[Worker] | list[HttpWorker] | list[SyncWorker], name: str) -> int:
        return sum(w.outcomes[name] for w in group)

    kinds = sum((w.kinds for w in workers), Counter[str]())
    unknown = sum(t.state == "unknown" for w in workers for t in w.sessions)
    refused = sum((w.refused for w in workers), Counter[str]())
    back_home = sum(final_owners[s] == source.port for s in worked_slots)
    print(
        f"\nreshard under load ({len(session_slots)} slots holding sessions, {FILL} other keys each, "
        f"{len(worked_slots)} of them moved by hand; "
        f"{len(keys)} session and index keys):\n"
        f"  moves: "
        + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in times.items())
        + f"; load {load_seconds:.1f} s; slots back on the first primary after rebalance: {back_home}\n"
        f"  HTTP (async driver): {total(http, 'ok') + total(http, 'unavailable') + total(http, 'failure')} "
        f"requests, 503 {total(http, 'unavailable')}, failures {total(http, 'failure')}\n"
        f"  sync store: {total(sync, 'ok') + total(sync, 'unavailable') + total(sync, 'failure')} calls, "
        f"BackendUnavailable {total(sync, 'unavailable')}, failures {total(sync, 'failure')}\n"
        f"  requests by kind: {dict(kinds)}; slowest {max(w.slowest for w in workers):.2f} s; "
        f"503s by request (and kind): {dict(refused)}\n"
        f"  servers counted: ASK {counted.ask}, MOVED {counted.moved}, TRYAGAIN {counted.tryagain}, "
        f"ASKING {counted.asking}, slot-map reads {counted.map_reads}\n"
        f"  lost {sum(len(w.lost) for w in workers)}, cross-talk {sum(len(w.crosstalk) for w in workers)}, "
        f"problems after {len(problems)}, unknown {unknown}"
    )
    assert not [f for w in workers for f in w.failures], [f for w in workers for f in w.failures][:10]
    assert "Traceback" not in log_text, log_text[-3000:]
    assert not [c for w in workers for c in w.crosstalk]
    assert not [x for w in workers for x in w.lost]
    assert not problems, problems[:20]
    # Only a regenerate (two keys of one slot) can be refused while its slot moves (TRYAGAIN).
    assert set(refused) <= {"regenerate", "regenerate TRYAGAIN"}, refused
    assert max(w.slowest for w in workers) < SLOW
    assert all(str(query(node, "CLUSTER", "INFO")).startswith("cluster_state:ok") for node in cluster.nodes)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_regenerate_in_a_slot_held_half_moved_is_unavailable_and_keeps_the_session(
    cluster: LocalCluster, flavour: str
) -> None:
    """Redis answers TRYAGAIN to a call on two keys of a slot being migrated unless both exist on
    the node asked, and a regenerate's new key exists nowhere: it cannot run until the slot is given
    to its new owner. The drivers follow ASK and TRYAGAIN 5 times in all (TRYAGAIN after 25, 50,
    100... ms), then give up with BackendUnavailable (a 503), having sent it 6 times and run it never:
    the session stays as it was, reads keep working (ASK), and the regenerate succeeds once the slot
    is assigned. A slot that takes longer than about 0.4 to 0.8 s to move refuses its sessions'
    regenerates (logins) meanwhile."""
    prefix = f"rt{os.urandom(2).hex()}:"
    config = SessionConfig(url=cluster.url, secret_keys=[SECRET], key_prefix=prefix)
    layout = KeyLayout(prefix)
    with SessionStore(config) as store:
        session = store.create({"cart": ["a"]}, user_id="half-moved")
        key = layout.session_key(session.id)
        source = cluster.primary_for(key)
        target = next(node for node in cluster.primaries() if node is not source)
        slot = key_slot(key.encode())
        query(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
        query(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
        try:
            for moved in (False, True):  # the old key on the source, then on the target
                if moved:
                    query(source, "MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", key)
                reset_counters(cluster)
                started = time.monotonic()
                with pytest.raises(BackendUnavailable) as caught:
                    _regenerate(store, config, session.id, flavour)
                elapsed = time.monotonic() - started
                counted = redirects(cluster)
                assert caught.value.kind == "TRYAGAIN"
                assert 0.35 <= elapsed < 2.5, elapsed  # 4 or 5 pauses: 0.375 or 0.775 s
                if moved:  # load: ASK to the one-server attempt and to the routed one, then on the
                    # target; regenerate: ASK, then TRYAGAIN there
                    assert (counted.ask, counted.tryagain, counted.asking) == (3, 5, 6), counted
                else:  # the source holds one key of two: TRYAGAIN
                    assert (counted.ask, counted.tryagain, counted.asking) == (0, 6, 0), counted
                assert store.get(session.id) is not None  # reads still served
        finally:
            for node in (target, source, *(n for n in cluster.primaries() if n not in (source, target))):
                query(node, "CLUSTER", "SETSLOT", slot, "NODE", target.node_id)
            cluster.wait_healthy()
        kept = store.get(session.id)
        assert kept is not None and dict(kept) == {"cart": ["a"]} and kept.user_id == "half-moved"
        new_id = _regenerate(store, config, session.id, flavour)
        assert new_id != session.id and not store.exists(session.id)
        assert [s.id for s in store.sessions_for_user("half-moved")] == [new_id]
        assert cluster.primary_for(layout.session_key(new_id)) is target


def _regenerate(store: SessionStore, config: SessionConfig, session_id: str, flavour: str) -> str:
    """Load and regenerate `session_id` with the sync store, or with an async one; the new id."""
    if flavour == "sync":
        session = store.get(session_id)
        assert session is not None
        return store.regenerate(session).id

    async def run() -> str:
        async with AsyncSessionStore(config) as astore:
            session = await astore.get(session_id)
            assert session is not None
            return (await astore.regenerate(session)).id

    return asyncio.run(run())

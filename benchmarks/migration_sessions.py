#!/usr/bin/env python
"""What moving sessions in from Flask-Session costs: in bulk, and on a user's first request.

Run from the repository root::

    .venv/bin/python benchmarks/migration_sessions.py                 # 100,000 old sessions (about a minute)
    .venv/bin/python benchmarks/migration_sessions.py --sessions 10000

One private redis-server, stopped by its PID at the end. ``--sessions`` Flask-Session values (its
msgpack format, written with its own serializer: ``flask_session.base.MsgSpecSerializer``'s encoder,
msgspec) under ``session:<id>``; then ``SessionStore.migrate_sessions`` walks them as
``redis-sessions migrate`` does (dry run, then the move with every moved session read back and
compared), timed, round trips counted by the store. Then one lazy move (``open_request`` with an old
id, as a request carrying the old cookie) and the same session's next read, in round trips.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time

import msgspec
import redis

from redis_sessions import SessionConfig, SessionStore
from redis_sessions.testing import running_redis_server


def walk(store: SessionStore, dry_run: bool) -> tuple[dict[str, int], float, int, int]:
    counts: dict[str, int] = {}
    mismatched = 0
    before, started = store.round_trips, time.perf_counter()
    cursor: str | None = None
    while True:
        page = store.migrate_sessions(cursor, dry_run=dry_run)
        for outcome, old, back in page.found:
            counts[outcome] = counts.get(outcome, 0) + 1
            mismatched += outcome == "moved" and old != back
        cursor = page.next_cursor
        if cursor is None:
            break
    return counts, time.perf_counter() - started, store.round_trips - before, mismatched


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    args = parser.parse_args()
    encode = msgspec.msgpack.Encoder().encode
    with running_redis_server() as server:
        client = redis.Redis.from_url(server.url)
        ids = [secrets.token_urlsafe(32) for _ in range(args.sessions)]
        pipe = client.pipeline(transaction=False)
        for n, sid in enumerate(ids):
            data = {"_permanent": True, "_user_id": str(n), "cart": ["apple", "pear"], "visits": n}
            pipe.set(f"session:{sid}", encode(data), ex=3600)
            if n % 1000 == 999:
                pipe.execute()
        pipe.execute()
        config = SessionConfig(
            url=server.url, secret_keys=["k"], key_prefix="new:", migrate_from="flask-session"
        )
        with SessionStore(config) as store:
            counts, seconds, trips, _ = walk(store, dry_run=True)
            print(f"dry run: {counts} in {seconds:.1f} s, {trips} round trips")
            counts, seconds, trips, mismatched = walk(store, dry_run=False)
            per = seconds / max(1, counts.get("moved", 0)) * 1e6
            print(
                f"move: {counts} in {seconds:.1f} s ({per:.0f} µs a session), {trips} round trips, "
                f"{mismatched} read back different"
            )
            counts, seconds, trips, _ = walk(store, dry_run=False)
            print(f"second run: {counts} in {seconds:.1f} s, {trips} round trips")
            client.set("session:" + "L" * 43, encode({"cart": ["late"]}), ex=3600)
            before = store.round_trips
            lazy = store.open_request(None, "session:" + "L" * 43)
            first = store.round_trips - before
            before = store.round_trips
            again = store.open_request(store.signer.sign(lazy.id))
            print(
                f"lazy move on a first request: {first} round trips; the next request: "
                f"{store.round_trips - before} ({dict(again)})"
            )
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

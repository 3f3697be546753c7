"""The admin CLI on a real Redis, through click's test runner (and once as the installed console
script): every command's effect read back in Redis, handles instead of ids, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner, Result

from redis_sessions import SessionConfig, SessionStore
from redis_sessions.cli import build_cli
from redis_sessions.testing import free_port
from tests.conftest import SECRET


@pytest.fixture
def store(redis_url: str, key_prefix: str) -> Iterator[SessionStore]:
    config = SessionConfig(url=redis_url, secret_keys=[SECRET], key_prefix=key_prefix)
    with SessionStore(config) as opened:
        yield opened


def run(store: SessionStore, *args: str, as_json: bool = True) -> Result:
    options = ["--url", store.config.url, "--prefix", store.config.key_prefix]
    return CliRunner().invoke(build_cli(), [*options, *(["--json"] if as_json else []), *args])


def ok(store: SessionStore, *args: str) -> Any:
    result = run(store, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_stats_counts_sessions_and_ranks_users(store: SessionStore) -> None:
    for n in range(3):
        store.create({"n": n}, user_id="alice")
    store.create(user_id="bob")
    store.create({"anonymous": True})
    stats = ok(store, "stats", "--top", "1")
    assert stats["active_sessions"] == 5
    assert stats["counted_by"].startswith("SCAN walk")
    assert stats["top_users"] == [{"user": "alice", "sessions": 3}]
    assert stats["used_memory"] > 0

    tracked = SessionStore(store.config.replace(track_active_sessions=True))
    tracked.create()
    tracked.close()
    assert ok(store, "stats")["active_sessions"] == 6  # the gauge is off in the CLI's config: a walk
    options = ["--url", store.config.url, "--prefix", store.config.key_prefix, "--json", "stats"]
    gauged = CliRunner().invoke(build_cli(), options, env={"SESSION_TRACK_ACTIVE_SESSIONS": "1"})
    assert json.loads(gauged.stdout)["counted_by"] == "active-session gauge"
    assert json.loads(gauged.stdout)["active_sessions"] == 1  # only what was written with it on


def test_list_and_show_by_handle_never_by_id(store: SessionStore) -> None:
    session = store.create({"cart": [1, 2]}, user_id="alice")
    listed = ok(store, "list")
    assert [row["handle"] for row in listed["sessions"]] == [session.handle]
    plain = run(store, "list", as_json=False)
    assert plain.exit_code == 0 and session.handle in plain.stdout
    for output in (json.dumps(listed), plain.stdout, run(store, "show", session.handle).stdout):
        assert session.id not in output
    shown = ok(store, "show", session.handle)
    assert shown["data"] == {"cart": [1, 2]} and shown["user"] == "alice"
    assert ok(store, "show", session.handle, "--show-id")["id"] == session.id
    assert ok(store, "list", "--user", "alice")["sessions"][0]["handle"] == session.handle
    assert ok(store, "list", "--show-ids")["sessions"][0]["id"] == session.id


def test_list_pages_with_cursors_that_carry_no_id(store: SessionStore) -> None:
    made = [store.create({"n": n}) for n in range(25)]
    ids = {s.id for s in made}
    seen: list[str] = []
    cursor: list[str] = []
    for _ in range(30):
        result = run(store, "list", "--limit", "4", *cursor)
        page = json.loads(result.stdout)
        assert not any(i in result.stdout for i in ids)  # neither rows nor cursor show an id
        seen += [row["handle"] for row in page["sessions"]]
        if page["next_cursor"] is None:
            break
        cursor = ["--cursor", page["next_cursor"]]
    assert sorted(seen) == sorted(s.handle for s in made)  # each once
    everything = ok(store, "list", "--all")
    assert len(everything["sessions"]) == 25 and everything["next_cursor"] is None


def test_revoke_and_revoke_user(store: SessionStore) -> None:
    one, two = store.create(), store.create()
    assert ok(store, "revoke", one.handle)["revoked"] == [one.handle]
    assert not store.exists(one.id) and store.exists(two.id)
    missing = run(store, "revoke", one.handle)
    assert missing.exit_code == 1
    assert missing.stderr.strip().splitlines() == [f"Error: no live session has the handle {one.handle}"]

    laptop, phone, tablet = (store.create(user_id="carol") for _ in range(3))
    assert ok(store, "revoke-user", "carol", "--except", phone.handle)["revoked"] == 2
    assert [s.id for s in store.sessions_for_user("carol")] == [phone.id]
    assert not store.exists(laptop.id) and not store.exists(tablet.id)


def test_cleanup_prunes_stale_index_entries(store: SessionStore, redis_url: str) -> None:
    kept = store.create(user_id="dave")
    gone = [store.create(user_id="dave") for _ in range(2)]
    client = redis.Redis.from_url(redis_url)
    layout = store._core.keys
    client.delete(*(layout.session_key(s.id) for s in gone))  # expired, say: the index still lists them
    assert client.zcard(layout.user_key("dave")) == 3
    report = ok(store, "cleanup")
    assert report["entries_removed"] == 2 and report["users"] == 1
    assert client.zrange(layout.user_key("dave"), 0, -1) == [kept.id.encode()]
    client.close()


def test_export_import_dry_run_rollback(store: SessionStore, tmp_path: Path) -> None:
    sessions = [store.create({"n": n, "nested": {"k": [n]}}, user_id=f"u{n % 2}") for n in range(4)]
    sessions.append(store.create({"own": True}, ttl=600))
    dump = tmp_path / "sessions.jsonl"
    exported = run(store, "export", "-o", str(dump))
    assert exported.exit_code == 0, exported.output
    assert len(dump.read_text().splitlines()) == 5

    target = SessionStore(store.config.replace(key_prefix=store.config.key_prefix + "copy:"))
    dry = ok(target, "import", str(dump), "--dry-run")
    assert (dry["valid"], dry["invalid"], dry["already_present"], dry["dry_run"]) == (5, 0, 0, True)
    assert target.count() == 0

    done = ok(target, "import", str(dump))
    assert done["imported"] == 5
    for original in sessions:  # field by field
        copy = target.get(original.id)
        assert copy is not None
        assert dict(copy) == dict(original) and copy.user_id == original.user_id
        assert copy.created_at == original.created_at
    assert {s.id for s in target.sessions_for_user("u1")} == {sessions[1].id, sessions[3].id}
    again = ok(target, "import", str(dump))
    assert (again["already_present"], again["imported"]) == (5, 0)  # never over an existing session

    rolled = ok(target, "import", done["rollback_log"], "--rollback")
    assert rolled == {"listed": 5, "deleted": 5}
    assert target.count() == 0
    target.close()


def test_import_reports_invalid_lines(store: SessionStore, tmp_path: Path) -> None:
    good = json.dumps({"id": store.new_session().id, "user_id": None, "created_ms": 1, "expires_ms": 2**41,
                       "ttl": None, "deadline_ms": None, "data": {"a": 1}})  # fmt: skip
    lines = [good, "not json", json.dumps({"id": "short"}), json.dumps({**json.loads(good), "extra": 1})]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    report = ok(store, "import", str(source), "--dry-run")
    assert (report["valid"], report["invalid"]) == (1, 3)
    assert [e["line"] for e in report["errors"]] == [2, 3, 4]
    assert "unknown field 'extra'" in report["errors"][2]["error"]
    failed = run(store, "import", str(source))
    assert failed.exit_code == 1 and "3 line(s) were invalid" in failed.stderr


def test_operator_errors_are_one_line(key_prefix: str) -> None:
    runner = CliRunner()
    closed = f"redis://127.0.0.1:{free_port()}/0"
    for args in (["--url", closed, "stats"], ["--url", "nope://x", "list"], ["--url", closed, "show", "bad"]):
        result = runner.invoke(build_cli(), args)
        assert result.exit_code == 1, (args, result.output)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("Error: ") and "Traceback" not in result.output


def test_the_console_script(store: SessionStore) -> None:
    store.create({"a": 1})
    script = Path(sys.executable).with_name("redis-sessions")
    done = subprocess.run(
        [str(script), "--url", store.config.url, "--prefix", store.config.key_prefix, "--json", "stats"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["active_sessions"] == 1

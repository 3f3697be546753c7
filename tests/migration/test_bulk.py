"""Bulk migration through the CLI (``redis-sessions migrate``): dry run, the move with a field-by-field
sample read back, a second run that moves nothing twice, and the rollback; from stores written by
Flask-Session and starsessions themselves."""

from __future__ import annotations

import json
from typing import Any

import redis
from click.testing import CliRunner
from starlette.testclient import TestClient

from redis_sessions import SessionConfig, SessionStore
from redis_sessions.cli import build_cli
from tests.conftest import SECRET
from tests.migration.test_lazy import flask_session_app, our_flask_app, starsessions_app


def cli(url: str, prefix: str, *args: str) -> Any:
    result = CliRunner().invoke(build_cli(), ["--url", url, "--prefix", prefix, "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_flask_session_in_bulk(redis_url: str, key_prefix: str) -> None:
    old_prefix = key_prefix + "fs:"
    client = redis.Redis.from_url(redis_url)
    old = flask_session_app(client, old_prefix)
    cookies = []
    for _ in range(12):
        browser = old.test_client()
        browser.get("/write")
        cookie = browser.get_cookie("session")
        assert cookie is not None
        cookies.append(cookie.value)
    client.set(old_prefix + "z" * 43, b"\xc1 not a session")  # unreadable: reported, left alone
    migrate = ("migrate", "--from", "flask-session", "--from-prefix", old_prefix)

    dry = cli(redis_url, key_prefix, *migrate, "--dry-run")
    assert (dry["would move"], dry["unreadable"]) == (12, 1)
    store = SessionStore(SessionConfig(url=redis_url, secret_keys=[SECRET], key_prefix=key_prefix))
    assert store.count() == 0

    done = cli(redis_url, key_prefix, *migrate, "--sample", "5")
    assert (done["moved"], done["unreadable"], done["sample_compared"], done["sample_mismatched"]) == (
        12,
        1,
        5,
        0,
    )
    assert store.count() == 12
    again = cli(redis_url, key_prefix, *migrate)
    assert (again.get("moved", 0), again["already moved"]) == (0, 12)

    app = our_flask_app(redis_url, key_prefix, old_prefix)  # an old cookie finds its moved session
    browser = app.test_client()
    browser.set_cookie("session", cookies[0])
    assert browser.get("/read").json == {"cart": ["apple", "pear"], "visits": 3}
    assert store.count() == 12  # not moved twice

    rolled = cli(redis_url, key_prefix, *migrate, "--rollback")
    assert rolled["deleted"] == 12
    assert store.count() == 0
    assert len(list(client.scan_iter(match=old_prefix + "*"))) == 13  # the old store untouched
    store.close()
    client.close()


def test_starsessions_in_bulk(redis_url: str, key_prefix: str) -> None:
    old_prefix = key_prefix + "star."
    with TestClient(starsessions_app(redis_url, old_prefix)) as old:
        for _ in range(3):
            old.cookies.clear()
            old.get("/write")
    done = cli(redis_url, key_prefix, "migrate", "--from", "starsessions", "--from-prefix", old_prefix)
    assert (done["moved"], done["sample_mismatched"]) == (3, 0)

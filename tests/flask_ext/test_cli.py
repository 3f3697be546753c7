"""``flask redis-sessions ...``: the admin CLI through Flask's own command line (the ``flask.commands``
entry point), on the app's config and store."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo

from redis_sessions.integrations.flask import RedisSessions, get_store
from tests.conftest import SECRET


@pytest.fixture
def app(redis_url: str, key_prefix: str) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, REDIS_SESSIONS_URL=redis_url, REDIS_SESSIONS_KEY_PREFIX=key_prefix)
    RedisSessions(app)
    return app


def flask_cli(app: Flask, *args: str) -> tuple[int, str, str]:
    """Run ``flask <args>`` for `app` as the ``flask`` command does (plugins from entry points)."""
    group = FlaskGroup(create_app=lambda: app)
    result = CliRunner().invoke(group, list(args), obj=ScriptInfo(create_app=lambda: app))
    return result.exit_code, result.stdout, result.stderr


def test_flask_redis_sessions_uses_the_apps_store(app: Flask) -> None:
    store = get_store(app)
    session = store.create({"a": 1}, user_id="erin")
    code, out, err = flask_cli(app, "redis-sessions", "--json", "stats")
    assert code == 0, err
    assert json.loads(out)["active_sessions"] == 1
    code, out, _ = flask_cli(app, "redis-sessions", "--json", "revoke-user", "erin")
    assert json.loads(out)["revoked"] == 1
    assert not store.exists(session.id)
    assert store.create({"b": 2}).id  # the app's store is still open after the command


def test_the_entry_point_is_declared() -> None:
    from importlib.metadata import entry_points

    (found,) = [e for e in entry_points(group="flask.commands") if e.name == "redis-sessions"]
    assert found.value == "redis_sessions.integrations.flask.cli:command"
    assert found.load().name == "redis-sessions"


def test_without_the_extension_one_line(redis_url: str) -> None:
    bare = Flask(__name__)
    code, _, err = flask_cli(bare, "redis-sessions", "stats")
    assert code == 1 and err.strip().splitlines() == [
        "Error: redis_sessions is not initialised on this app: call RedisSessions(app)"
    ]

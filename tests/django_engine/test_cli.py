"""``python manage.py redis_sessions ...``: the admin CLI on the engine's store, from Django's settings,
through ``call_command`` and through ``manage.py`` itself (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.django_engine._engine import core
from tests.django_engine.conftest import Settings


@pytest.fixture(params=["redis"])
def backend_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("redis_url"))


def test_call_command_uses_the_engines_store(
    engine_settings: Settings, built_stores: object, capsys: pytest.CaptureFixture[str]
) -> None:
    with engine_settings():
        store = core()
        session = store.create({"a": 1}, user_id="frank")
        call_command("redis_sessions", "--json", "stats")
        assert json.loads(capsys.readouterr().out)["active_sessions"] == 1
        call_command("redis_sessions", "--json", "revoke", session.handle)
        assert json.loads(capsys.readouterr().out)["revoked"] == [session.handle]
        assert not store.exists(session.id)
        with pytest.raises(CommandError, match="no live session has the handle"):
            call_command("redis_sessions", "show", session.handle)


def test_manage_py(tmp_path: Path, redis_url: str, key_prefix: str) -> None:
    (tmp_path / "cli_settings.py").write_text(
        "SECRET_KEY = 'x' * 50\n"
        "INSTALLED_APPS = ['django.contrib.sessions', 'redis_sessions.integrations.django']\n"
        "SESSION_ENGINE = 'redis_sessions.integrations.django'\n"
        f"REDIS_SESSIONS = {{'URL': {redis_url!r}, 'KEY_PREFIX': {key_prefix!r}}}\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cli_settings", "PYTHONPATH": str(tmp_path)}
    manage = [sys.executable, "-m", "django"]
    done = subprocess.run(
        [*manage, "redis_sessions", "--json", "stats"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["active_sessions"] == 0
    helped = subprocess.run([*manage, "redis_sessions", "--help"], env=env, capture_output=True, text=True)
    assert "revoke-user" in helped.stdout
    wrong = subprocess.run(
        [*manage, "redis_sessions", "show", "nope"], env=env, capture_output=True, text=True
    )
    assert wrong.returncode == 1 and wrong.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in wrong.stderr

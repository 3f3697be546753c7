"""``flask redis-sessions ...``: the admin CLI (`redis_sessions.cli`) on the app's own store, found
through Flask's ``flask.commands`` entry point (the ``cli`` extra)."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo

from redis_sessions import SessionStore
from redis_sessions.cli import build_cli
from redis_sessions.integrations.flask.extension import get_store


def _app_store() -> SessionStore:
    info = click.get_current_context().find_object(ScriptInfo)
    if info is None:
        raise click.ClickException("run this through the flask command (flask redis-sessions ...)")
    try:
        return get_store(info.load_app())
    except RuntimeError as exc:  # RedisSessions(app) was never called
        raise click.ClickException(str(exc)) from None


command = build_cli(_app_store, "redis-sessions", owns_store=False)

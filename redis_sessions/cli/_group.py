"""The command group, its global options and its error rule: an operator's mistake (a wrong URL,
an unreachable Redis, an unknown handle) is one line on stderr and exit status 1, never a traceback."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import click

from redis_sessions import SessionConfig, SessionStore
from redis_sessions.errors import SessionError

from ._output import Output

OpenStore = Callable[[], SessionStore]

# The CLI never signs a cookie: a placeholder signing key lets it run where none is configured.
_NO_KEYS = "redis-sessions-cli-signs-nothing"


class Admin:
    """What every command gets: the store (opened on first use, closed at exit) and the output."""

    def __init__(self, open_store: OpenStore, output: Output, owns_store: bool = True) -> None:
        self._open = open_store
        self._owns = owns_store
        self._store: SessionStore | None = None
        self.out = output

    @property
    def store(self) -> SessionStore:
        if self._store is None:
            self._store = self._open()
        return self._store

    def close(self) -> None:
        if self._store is not None and self._owns:
            self._store.close()


class _Group(click.Group):
    """Turns our errors into click's one-line error (``Error: ...``, exit status 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (SessionError, ValueError, OSError) as exc:
            if isinstance(exc, click.ClickException):
                raise
            raise click.ClickException(str(exc) or type(exc).__name__) from None


def env_store(url: str | None, prefix: str | None) -> OpenStore:
    """How the console script opens its store: `SessionConfig.from_env`, with `url` and `prefix`
    over the environment, and a placeholder signing key when ``SESSION_SECRET_KEYS`` is unset."""

    def open_store() -> SessionStore:
        import os

        overrides: dict[str, Any] = {}
        if url is not None:
            overrides["url"] = url
        if prefix is not None:
            overrides["key_prefix"] = prefix
        if "SESSION_SECRET_KEYS" not in os.environ:
            overrides["secret_keys"] = [_NO_KEYS]
        config = SessionConfig.from_env(**overrides)
        if config.url.startswith("memory:"):
            raise click.ClickException("no Redis URL: give --url or set REDIS_URL")
        return SessionStore(config)

    return open_store


def build_cli(
    open_store: OpenStore | None = None, name: str = "redis-sessions", *, owns_store: bool = True
) -> click.Group:
    """The command group. With `open_store` (a framework's door) the store comes from it (and is
    closed at exit only with `owns_store`); without, from ``--url`` / ``--prefix`` and the
    environment."""
    from . import _commands

    params: list[click.Parameter] = [
        click.Option(["--json", "as_json"], is_flag=True, help="Print JSON instead of tables."),
    ]
    if open_store is None:
        params += [
            click.Option(["--url"], metavar="URL", help="Redis URL (default: $REDIS_URL)."),
            click.Option(["--prefix"], metavar="PREFIX", help="Key prefix (default: $SESSION_KEY_PREFIX)."),
        ]

    def callback(as_json: bool, url: str | None = None, prefix: str | None = None) -> None:
        ctx = click.get_current_context()
        opener = open_store if open_store is not None else env_store(url, prefix)
        admin = Admin(opener, Output(as_json), owns_store or open_store is None)
        ctx.obj = admin
        ctx.call_on_close(admin.close)

    group = _Group(name, params=params, callback=callback, help="Inspect and manage the sessions in Redis.")
    for command in _commands.COMMANDS:
        group.add_command(command)
    return group


def main() -> None:
    """The ``redis-sessions`` console script."""
    build_cli()(prog_name="redis-sessions")


@contextlib.contextmanager
def progress(admin: Admin, what: str) -> Iterator[Callable[[int], None]]:
    """A progress line on a terminal (stderr) while a walk runs: call the yielded function with
    how many items each step handled."""
    with admin.out.progress(what) as advance:
        yield advance

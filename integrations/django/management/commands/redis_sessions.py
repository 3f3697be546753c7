"""``python manage.py redis_sessions ...``: the admin CLI (`redis_sessions.cli`) on the engine's own
store, from Django's settings (``REDIS_SESSIONS`` and Django's own). Arguments go to the CLI as
they are: ``manage.py redis_sessions stats``, ``manage.py redis_sessions list --user 42``."""

from __future__ import annotations

import argparse
from typing import Any

import click
from django.core.management.base import BaseCommand, CommandError, CommandParser

from redis_sessions import SessionStore
from redis_sessions.cli import build_cli
from redis_sessions.integrations.django import _settings


def _engine_store() -> SessionStore:
    return _settings.current().store


cli = build_cli(_engine_store, "redis_sessions", owns_store=False)


class Command(BaseCommand):
    help = "Inspect and manage the sessions in Redis (stats, list, show, revoke, revoke-user, ...)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cli_args", nargs=argparse.REMAINDER, help="the command and its options")

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        """Django's options keep their defaults; every argument given goes to the CLI as it is
        (``call_command("redis_sessions", "--json", "stats")``: argparse would take ``--json``)."""
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parse = parser.parse_args

        def parse_args(args: Any = None, namespace: Any = None) -> Any:
            parsed = parse([], namespace)
            parsed.cli_args = list(args or [])
            return parsed

        parser.parse_args = parse_args  # type: ignore[method-assign]
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        # click parses the rest (its own --help included); Django's parser would refuse its options.
        cli.main(args=argv[2:], prog_name=f"{argv[0]} {argv[1]}", standalone_mode=True)

    def handle(self, *args: Any, **options: Any) -> None:
        """For ``call_command("redis_sessions", "stats", ...)``."""
        try:
            cli.main(args=[*args, *options["cli_args"]], standalone_mode=False)
        except click.ClickException as exc:
            raise CommandError(exc.format_message()) from None

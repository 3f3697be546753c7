"""Lua scripts for the conditional steps, shared by the sync and async Redis drivers.

`redis_sessions._memory` implements the same scripts in Python; tests run both.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

NAMES = ("load", "create", "save", "index_add", "delete_owned")


@cache
def source(name: str) -> str:
    """The Lua source of script `name`."""
    return files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")

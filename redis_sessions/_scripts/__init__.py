"""Lua scripts for the conditional steps, shared by the sync and async Redis drivers.

`redis_sessions._memory` implements the same scripts in Python; tests run both.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

NAMES = ("load", "save", "index_add", "delete_owned", "active_note", "active_drop", "active_count")
_WITH_RECORDS = {"load", "save", "delete_owned"}  # these get record.lua prepended


@cache
def source(name: str) -> str:
    """The Lua source of script `name` (with the record helpers where it reads records)."""
    folder = files(__package__)
    text = folder.joinpath(f"{name}.lua").read_text(encoding="utf-8")
    if name in _WITH_RECORDS:
        text = folder.joinpath("record.lua").read_text(encoding="utf-8") + text
    return text

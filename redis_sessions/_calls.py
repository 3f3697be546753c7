"""The calls a plan's batches hold: Redis commands, script calls, and instructions to the driver.

Kept apart from `_plan` so the plan helpers (`_active`) build calls without importing the plans;
`_plan` re-exports every name.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")


class Command(NamedTuple):
    """A plain Redis command; `node` names the server for one without a key (``SCAN`` on one
    Cluster primary), as `Primaries` lists them."""

    args: tuple[Any, ...]
    node: str | None = None


class Script(NamedTuple):
    """A call of one of the Lua scripts in `redis_sessions._scripts`."""

    name: str
    keys: tuple[str, ...]
    args: tuple[Any, ...]


class Barrier:
    """The calls after it take effect only after the calls before it: on one connection Redis runs
    them in order; a driver that sends them to different servers waits for the replies in between.
    Its reply is None."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "BARRIER"


BARRIER = Barrier()


class Wait(NamedTuple):
    """Wait until `replicas` replicas of every server this batch wrote to have its writes, for at
    most `timeout_ms` (Redis ``WAIT``, sent in the same round trip after the writes). Its reply is
    the fewest acknowledgements any server got; a driver raises `BackendUnavailable` (kind
    ``"replica acks"``) when that is fewer than `replicas`."""

    replicas: int
    timeout_ms: int


class Primaries(NamedTuple):
    """Asks the driver for the names of the primaries that hold sessions, sorted (one name, "", on
    a single Redis), to walk the keyspace of each: answered without a round trip; alone in its
    batch."""


Call = Command | Script | Barrier | Wait | Primaries
Batch = list[Call]
Plan = Generator[Batch, list[Any], T]

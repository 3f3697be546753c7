"""Redis Sentinel under load over real HTTP: a manual ``SENTINEL FAILOVER`` and a SIGKILLed primary,
while 4 clients write their own sessions through the ASGI integration (uvicorn). No 500, no
cross-talk, service back within seconds; with ``replica_acks=1`` no acknowledged write is lost;
without, the loss is measured (and printed with ``-s``).

One Sentinel set (a primary, one replica, three sentinels) for the module; each test leaves it
healthy (a killed primary is restarted, as a replica, once the sentinels have replaced it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from redis_sessions.testing import LocalSentinel, running_redis_sentinel
from tests.faults.conftest import started
from tests.faults.load import Figures, assert_sound, scenario

pytestmark = pytest.mark.slow
REPLICA_ACKS = pytest.mark.parametrize("replica_acks", [0, 1], ids=["acks-off", "replica-acks-1"])


@pytest.fixture(scope="module")
def sentinel_set() -> Iterator[LocalSentinel]:
    yield from started(running_redis_sentinel)


@pytest.fixture
def sentinel(sentinel_set: LocalSentinel) -> LocalSentinel:
    sentinel_set.wait_healthy()
    return sentinel_set


@REPLICA_ACKS
def test_sentinel_failover_under_load(
    sentinel: LocalSentinel, replica_acks: int, key_prefix: str, tmp_path: Path, figures: list[Figures]
) -> None:
    """Sentinel promotes the replica while the old primary still takes writes, until it is turned
    into a replica: without replica acks those writes are lost; with them, the old primary has no
    replica left to confirm them, so they are 503s."""
    old = sentinel.primary()

    def fault(_: list[str]) -> None:
        sentinel.failover()

    log = tmp_path / "uvicorn.log"
    result = scenario(
        "Sentinel SENTINEL FAILOVER",
        sentinel.url,
        replicas=1,
        replica_acks=replica_acks,
        prefix=key_prefix,
        log=log,
        fault=fault,
    )
    figures.append(result)
    assert sentinel.primary() is not old
    assert_sound(result, log, lossless=replica_acks > 0)


@REPLICA_ACKS
def test_sentinel_primary_killed_under_load(
    sentinel: LocalSentinel, replica_acks: int, key_prefix: str, tmp_path: Path, figures: list[Figures]
) -> None:
    old = sentinel.primary()

    def fault(_: list[str]) -> None:
        sentinel.kill(old)  # SIGKILL
        sentinel.wait_healthy()  # the sentinels promoted the replica
        sentinel.restart(old)  # back, empty, as a replica: durable writes need one

    log = tmp_path / "uvicorn.log"
    result = scenario(
        "Sentinel primary SIGKILL",
        sentinel.url,
        replicas=1,
        replica_acks=replica_acks,
        prefix=key_prefix,
        log=log,
        fault=fault,
    )
    figures.append(result)
    assert sentinel.primary() is not old
    assert_sound(result, log, lossless=replica_acks > 0)

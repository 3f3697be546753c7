"""``SENTINEL FAILOVER`` under load with two replicas: where ``replica_acks`` fewer than the replicas
is not enough. Sentinel promotes one replica and reconfigures the other a moment later; meanwhile
the old primary still takes writes and that other replica still confirms them (WAIT), then drops
them when it resyncs from the new primary. So ``replica_acks=1`` of 2 loses acknowledged writes
(measured, printed with ``-s``, not asserted); ``replica_acks=2`` (every replica) loses none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from redis_sessions.testing import LocalSentinel, running_redis_sentinel
from tests.faults.conftest import started
from tests.faults.load import Figures, assert_sound, scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sentinel_set() -> Iterator[LocalSentinel]:
    yield from started(lambda: running_redis_sentinel(replicas=2))


@pytest.mark.parametrize("replica_acks", [1, 2], ids=["replica-acks-1", "replica-acks-2"])
def test_sentinel_failover_with_two_replicas_under_load(
    sentinel_set: LocalSentinel, replica_acks: int, key_prefix: str, tmp_path: Path, figures: list[Figures]
) -> None:
    sentinel_set.wait_healthy()
    log = tmp_path / "uvicorn.log"
    result = scenario(
        "Sentinel SENTINEL FAILOVER",
        sentinel_set.url,
        replicas=2,
        replica_acks=replica_acks,
        prefix=key_prefix,
        log=log,
        fault=lambda _: sentinel_set.failover(),
    )
    figures.append(result)
    assert_sound(result, log, lossless=replica_acks == 2)

"""The outage log: one line when the store goes, one when it is back; a partial outage that
flaps (a Cluster with one shard down) is one outage, not a line per request."""

from __future__ import annotations

import logging

import pytest

from redis_sessions import BackendUnavailable
from redis_sessions._http import OutageLog

DOWN = BackendUnavailable("Redis unreachable (connection)", "connection")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "redis_sessions"]


def test_an_outage_is_two_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    clock = Clock()
    log = OutageLog(clock)
    for _ in range(3):
        log.failed(DOWN)
        clock.now += 0.5
    log.succeeded()
    log.succeeded()
    assert [line.split(",")[0].split(":")[0] for line in lines(caplog)] == [
        "session store unavailable",
        "session store reachable again after 1.5 s",
    ]
    assert lines(caplog)[1].endswith("3 requests failed meanwhile")


def test_a_flapping_outage_is_logged_as_over_once_quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    clock = Clock()
    log = OutageLog(clock)
    log.failed(DOWN)
    log.succeeded()
    for _ in range(40):  # one shard down: requests on it fail, the others succeed
        clock.now += 0.1
        log.failed(DOWN)
        log.succeeded()
    assert len(lines(caplog)) == 2
    clock.now += OutageLog.SETTLE
    log.succeeded()
    assert lines(caplog)[2] == "session store reachable again after 9.0 s, 40 more requests failed meanwhile"
    clock.now += OutageLog.SETTLE
    log.failed(DOWN)  # a new outage, long after: its own line
    assert lines(caplog)[3].startswith("session store unavailable")

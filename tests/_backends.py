"""The backends a suite can run on, by name: for ``backend_url`` fixtures with their own params."""

from __future__ import annotations

import pytest


def backend_url_of(request: pytest.FixtureRequest, name: str) -> str:
    """The URL of backend `name`: ``memory`` (in-process), ``redis`` (the run's redis-server),
    ``cluster`` (the run's local Redis Cluster) or ``sentinel`` (the run's Sentinel set), and
    ``redis+fallback`` (``redis`` for a store with ``on_backend_error="fallback"``); each
    server is started once per test run, when a test first needs it."""
    if name == "memory":
        return "memory://tests"
    name = name.removesuffix("+fallback")  # the same server; the store gets on_backend_error="fallback"
    fixture = {"redis": "redis_url", "cluster": "redis_cluster", "sentinel": "redis_sentinel"}[name]
    value = request.getfixturevalue(fixture)
    return value if isinstance(value, str) else str(value.url)

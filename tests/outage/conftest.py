"""Fixtures of the outage tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)

"""Fixtures of the HTTP scenario suite: sites per framework and backend, MONITOR of Redis commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from redis_sessions import SessionConfig
from tests.conftest import SECRET
from tests.http.asgi_site import FRAMEWORKS, open_asgi_site
from tests.http.driver import Site, SiteFactory
from tests.http.flask_site import open_flask_site
from tests.http.redis_tools import CommandRecorder, load_scripts


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=[*FRAMEWORKS, "flask"])
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _factory(framework: str, base: Callable[..., SessionConfig]) -> SiteFactory:
    def open_site(*, clock: Callable[[], int] | None = None, **config: Any) -> AbstractContextManager[Site]:
        built = base(**config)
        load_scripts(built)
        if framework == "flask":
            return open_flask_site(built, clock)
        return open_asgi_site(framework, built, clock)

    return open_site


@pytest.fixture
def open_site(framework: str, make_config: Callable[..., SessionConfig]) -> SiteFactory:
    """Sites on every framework x {memory, redis}."""
    return _factory(framework, make_config)


@pytest.fixture
def site(open_site: SiteFactory) -> Iterator[Site]:
    with open_site() as opened:
        yield opened


@pytest.fixture
def redis_config(redis_url: str, key_prefix: str) -> Callable[..., SessionConfig]:
    """Configs on a real Redis only (for what only Redis can show: MONITOR, outages)."""

    def make(**overrides: Any) -> SessionConfig:
        values: dict[str, Any] = {"url": redis_url, "secret_keys": [SECRET], "key_prefix": key_prefix}
        values.update(overrides)
        return SessionConfig(**values)

    return make


@pytest.fixture
def open_redis_site(framework: str, redis_config: Callable[..., SessionConfig]) -> SiteFactory:
    """Sites on every framework, on the run's Redis (or another, with ``url=...``)."""
    return _factory(framework, redis_config)


@pytest.fixture
def recorder(redis_url: str) -> Iterator[CommandRecorder]:
    """Records what the run's Redis executes: ``with recorder.record() as log: ...``."""
    watching = CommandRecorder(redis_url)
    yield watching
    watching.close()

"""A store, sync or async, driven the same way by the outage tests, and their settings."""

from __future__ import annotations

import asyncio
from typing import Any

from redis_sessions import AsyncSessionStore, BackendUnavailable, SessionConfig, SessionStore
from tests.conftest import SECRET

TIMEOUT = 0.2  # seconds: connect and command timeouts
THRESHOLD, COOLDOWN = 3, 0.6  # the circuit breaker's
# A well-formed session id, stored nowhere.
SOME_ID = SessionStore(SessionConfig(url="memory://", secret_keys=[SECRET])).new_session().id


def config_for(url: str, **changes: Any) -> SessionConfig:
    settings: dict[str, Any] = {
        "connect_timeout": TIMEOUT,
        "command_timeout": TIMEOUT,
        "circuit_breaker_threshold": THRESHOLD,
        "circuit_breaker_cooldown": COOLDOWN,
    }
    return SessionConfig(url=url, secret_keys=[SECRET], **{**settings, **changes})


def failure_kind(call: Any) -> str:
    try:
        call()
    except BackendUnavailable as exc:
        return exc.kind
    raise AssertionError("the call succeeded")


class Caller:
    """One store, sync or async, called the same way from the test."""

    def __init__(self, config: SessionConfig, flavour: str) -> None:
        self.flavour = flavour
        if flavour == "sync":
            self.store: Any = SessionStore(config)
        else:
            self.loop = asyncio.new_event_loop()
            self.store = AsyncSessionStore(config)

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.store, method)(*args, **kwargs)
        return result if self.flavour == "sync" else self.loop.run_until_complete(result)

    def kind(self, method: str = "get", *args: Any) -> str:
        return failure_kind(lambda: self(method, *(args or (SOME_ID,))))

    def close(self) -> None:
        self("close")
        if self.flavour == "async":
            self.loop.close()

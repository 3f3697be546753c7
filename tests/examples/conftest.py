"""Fixtures for the example apps: the ASGI example served by uvicorn in a thread, httpx "browsers"."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from redis_sessions import SessionConfig
from tests.conftest import SECRET
from tests.examples._shop import browsers

# example_apps is not installed: import it from the checkout. Appended, so that `redis_sessions` stays
# the installed package (the source folder has no `redis_sessions.integrations`).
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))


@pytest.fixture
def example_config(redis_url: str, key_prefix: str) -> SessionConfig:
    return SessionConfig(url=redis_url, secret_keys=[SECRET], key_prefix=key_prefix)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn, in a thread, on a free 127.0.0.1 port; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def live_url(example_config: SessionConfig) -> Iterator[str]:
    """Serve `create_app(example_config)` with uvicorn, in a thread, on a free 127.0.0.1 port."""
    from example_apps.asgi_app import create_app

    with serving(create_app(example_config)) as url:
        yield url


@pytest.fixture
def browser(live_url: str) -> Iterator[Callable[[], httpx.Client]]:
    """Make httpx clients, one cookie jar each (one per device), all closed afterwards."""
    with browsers(live_url) as make:
        yield make

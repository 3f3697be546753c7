"""Helpers for the FastAPI and Flask shop examples' tests (the same pages, `example_apps._pages`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from redis_sessions import SessionIdSigner
from tests.conftest import SECRET

SIGNER = SessionIdSigner([SECRET])
Browser = Callable[[], httpx.Client]


def session_id(client: httpx.Client) -> str | None:
    """The raw session id behind a client's cookie (None without one, or with a forged one)."""
    value = client.cookies.get("session")
    return SIGNER.unsign(value) if value else None


def rows(page: httpx.Response) -> int:
    """Sessions listed on the "your active sessions" page."""
    return page.text.count("<tr><td>")


def served_by(page: httpx.Response) -> str | None:
    """The framework a page of the examples says it is served by."""
    match = re.search(r'<p class="served">Served by <b>([^<]+)</b></p>', page.text)
    return match[1] if match else None


def log_in(client: httpx.Client, name: str) -> httpx.Response:
    return client.post("/login", data={"username": name})


@contextmanager
def browsers(base_url: str) -> Iterator[Browser]:
    """Make httpx clients on `base_url`, one cookie jar each (one per device), closed afterwards."""
    clients: list[httpx.Client] = []

    def make() -> httpx.Client:
        clients.append(httpx.Client(base_url=base_url, follow_redirects=True, timeout=5))
        return clients[-1]

    try:
        yield make
    finally:
        for client in clients:
            client.close()

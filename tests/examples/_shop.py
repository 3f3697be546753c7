"""Helpers for the FastAPI and Flask shop examples' tests (the same pages, `example_apps._pages`)."""

from __future__ import annotations

from collections.abc import Callable

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


def log_in(client: httpx.Client, name: str) -> httpx.Response:
    return client.post("/login", data={"username": name})

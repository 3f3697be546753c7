"""memory:// only: stores built with the same URL in one process share data; other URLs do not."""

from __future__ import annotations

import pytest

from redis_sessions import AsyncSessionStore, SessionConfig, SessionStore
from tests.conftest import SECRET

pytestmark = pytest.mark.anyio


def config(url: str, key_prefix: str) -> SessionConfig:
    return SessionConfig(url=url, secret_keys=[SECRET], key_prefix=key_prefix)


async def test_same_memory_url_shares_across_stores(key_prefix: str) -> None:
    url = f"memory://shared-{key_prefix.rstrip(':')}"
    with SessionStore(config(url, key_prefix)) as first, SessionStore(config(url, key_prefix)) as second:
        session = first.create({"a": 1}, user_id="u1")
        copy = second.get(session.id)
        assert copy is not None
        assert dict(copy) == {"a": 1}
        async with AsyncSessionStore(config(url, key_prefix)) as third:
            assert [s.id for s in await third.sessions_for_user("u1")] == [session.id]
            assert await third.delete(session.id)
        assert first.exists(session.id) is False


async def test_different_memory_urls_are_separate(key_prefix: str) -> None:
    tag = key_prefix.rstrip(":")
    with (
        SessionStore(config(f"memory://one-{tag}", key_prefix)) as one,
        SessionStore(config(f"memory://two-{tag}", key_prefix)) as two,
    ):
        session = one.create({"a": 1})
        assert two.get(session.id) is None
        assert two.count() == 0
        assert one.count() == 1

"""Interleaved requests on one session, for real: httpx.AsyncClient over ASGITransport in one loop.

``POST /slow/{name}`` holds its handler after the middleware loaded the session, so a test can have
several requests loaded before any of them saves, then let them finish in the order it wants.
The client's cookie jar plays the browser: whatever a response sets is what the next request sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest

from redis_sessions import AsyncSessionStore, SessionConfig, SessionIdSigner, SessionStore
from tests.http.asgi_site import Gates, build_app
from tests.http.driver import SetCookie
from tests.http.redis_tools import load_scripts

pytestmark = pytest.mark.anyio

WAIT = 5.0  # seconds: a bound for a stuck interleaving, never a speed assertion


@dataclass
class AsyncSite:
    client: httpx.AsyncClient
    gates: Gates
    config: SessionConfig
    inspector: SessionStore
    signer: SessionIdSigner
    replies: dict[str, httpx.Response] = field(default_factory=dict)

    @property
    def cookie_name(self) -> str:
        return self.config.cookie_name

    def jar_cookie(self) -> str | None:
        values = [c.value for c in self.client.cookies.jar if c.name == self.cookie_name]
        assert len(values) <= 1
        return values[0] if values else None

    def jar_id(self) -> str | None:
        value = self.jar_cookie()
        return None if value is None else self.signer.unsign(value)

    def set_cookie(self, response: httpx.Response) -> SetCookie | None:
        found = [SetCookie.parse(h) for h in response.headers.get_list("set-cookie")]
        found = [c for c in found if c.name == self.cookie_name]
        assert len(found) <= 1
        return found[0] if found else None

    def stored_data(self, session_id: str) -> dict[str, Any] | None:
        page = self.inspector.list_sessions(limit=100)
        matches = [dict(s) for s in page.sessions if s.id == session_id]
        return matches[0] if matches else None

    async def start_slow(self, task_group: anyio.abc.TaskGroup, name: str, body: dict[str, Any]) -> None:
        """Send ``/slow/{name}`` with the jar's current cookie; return once its session is loaded."""

        async def run() -> None:
            self.replies[name] = await self.client.post(f"/slow/{name}", json=body)

        task_group.start_soon(run)
        with anyio.fail_after(WAIT):
            await self.gates.arrived(name).wait()

    async def finish(self, name: str) -> httpx.Response:
        """Let ``/slow/{name}`` go on and return its response."""
        self.gates.release(name).set()
        with anyio.fail_after(WAIT):
            while name not in self.replies:
                await anyio.sleep(0.001)
        return self.replies[name]


@pytest.fixture
def open_async_site(
    make_config: Callable[..., SessionConfig],
) -> Callable[..., Any]:
    @asynccontextmanager
    async def open_site(**overrides: Any) -> AsyncIterator[AsyncSite]:
        config = make_config(**overrides)
        load_scripts(config)
        store = AsyncSessionStore(config)
        gates = Gates()
        app = build_app("starlette", store, gates)
        transport = httpx.ASGITransport(app=app)
        try:
            with SessionStore(config) as inspector:
                async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                    yield AsyncSite(client, gates, config, inspector, SessionIdSigner(config.secret_keys))
        finally:
            await store.close()

    return open_site


async def _seed(site: AsyncSite, data: dict[str, Any]) -> str:
    response = await site.client.post("/write", json=data)
    assert response.status_code == 200
    session_id = site.jar_id()
    assert session_id is not None
    return session_id


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ({"write": {"a": 1}}, {"write": {"b": 2}}, {"seed": 0, "keep": 0, "a": 1, "b": 2}),
        ({"write": {"a": 1}}, {"remove": ["seed"]}, {"keep": 0, "a": 1}),
        ({"remove": ["seed"]}, {"write": {"b": 2}}, {"keep": 0, "b": 2}),
        ({"write": {"seed": 1}}, {"write": {"keep": 2}}, {"seed": 1, "keep": 2}),
    ],
    ids=["set-set", "set-remove", "remove-set", "overwrite-overwrite"],
)
async def test_concurrent_requests_changing_different_keys_both_keep_their_change(
    open_async_site: Callable[..., Any],
    first: dict[str, Any],
    second: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    async with open_async_site() as site:
        session_id = await _seed(site, {"seed": 0, "keep": 0})
        async with anyio.create_task_group() as tg:
            await site.start_slow(tg, "first", first)
            await site.start_slow(tg, "second", second)  # both have loaded; neither has saved
            one = await site.finish("first")
            two = await site.finish("second")
        assert (one.status_code, two.status_code) == (200, 200)
        assert site.stored_data(session_id) == expected
        for response in (one, two):
            cookie = site.set_cookie(response)
            assert cookie is not None and site.signer.unsign(cookie.value) == session_id


@pytest.mark.parametrize("remover_first", [True, False], ids=["remover-saves-first", "writer-saves-first"])
async def test_removing_the_last_key_keeps_a_key_another_request_added(
    open_async_site: Callable[..., Any], remover_first: bool
) -> None:
    async with open_async_site() as site:
        session_id = await _seed(site, {"cart": ["apple"]})
        async with anyio.create_task_group() as tg:
            await site.start_slow(tg, "remover", {"remove": ["cart"]})
            await site.start_slow(tg, "writer", {"write": {"flash": "hello"}})
            order = ["remover", "writer"] if remover_first else ["writer", "remover"]
            replies = [await site.finish(name) for name in order]
        assert [r.status_code for r in replies] == [200, 200]
        if remover_first:
            # Emptied, hence deleted, before the writer saved: the slower save brings nothing back.
            assert site.stored_data(session_id) is None
        else:
            # The remover's save sees the writer's key (atomically) and keeps the session.
            assert site.stored_data(session_id) == {"flash": "hello"}


@pytest.mark.parametrize("how", ["logout", "empty", "out-of-band delete", "regenerate", "login"])
async def test_session_gone_meanwhile_is_not_brought_back_by_a_slower_save(
    open_async_site: Callable[..., Any], how: str
) -> None:
    async with open_async_site() as site:
        old_id = await _seed(site, {"seed": 0})
        old_cookie = site.jar_cookie()
        async with anyio.create_task_group() as tg:
            await site.start_slow(tg, "slow", {"write": {"late": True}})
            if how == "out-of-band delete":
                assert site.inspector.delete(old_id)
            else:
                done = await site.client.post(f"/{how}", json={"user": "alice"})
                assert done.status_code == 200
            slow = await site.finish("slow")

        assert slow.status_code == 200
        assert site.stored_data(old_id) is None
        assert not site.inspector.exists(old_id)
        # No Set-Cookie at all: neither a refresh of the gone id nor an expiry that would undo the
        # cookie another response (a login) has just set.
        assert site.set_cookie(slow) is None, (slow.headers, old_cookie)
        if how in ("regenerate", "login"):
            sessions = site.inspector.list_sessions(limit=100).sessions
            assert [dict(s) for s in sessions] == [{"seed": 0}]  # the late write went nowhere
        else:
            assert site.inspector.count() == 0


@pytest.mark.parametrize("slow_body", [{}, {"write": {"late": True}}], ids=["read-only", "writer"])
async def test_logout_survives_a_slower_request_in_flight(
    open_async_site: Callable[..., Any], slow_body: dict[str, Any]
) -> None:
    async with open_async_site() as site:
        old_id = await _seed(site, {"seed": 0})
        async with anyio.create_task_group() as tg:
            await site.start_slow(tg, "slow", slow_body)
            assert (await site.client.post("/logout")).status_code == 200
            assert (await site.finish("slow")).status_code == 200
        whoami = (await site.client.get("/whoami")).json()
        assert whoami["is_new"] is True and whoami["user_id"] is None
        assert (await site.client.get("/read")).json() == {"data": {}}
        assert not site.inspector.exists(old_id)
        assert site.inspector.count() == 0


@pytest.mark.parametrize(
    "slow_body",
    [
        {},  # a read-only request sends no cookie while the browser's copy is fresh
        {"write": {"late": True}},
    ],
    ids=["read-only", "writer"],
)
async def test_login_survives_a_slower_request_in_flight(
    open_async_site: Callable[..., Any], slow_body: dict[str, Any]
) -> None:
    async with open_async_site() as site:
        await _seed(site, {"seed": 0})
        async with anyio.create_task_group() as tg:
            await site.start_slow(tg, "slow", slow_body)
            login = await site.client.post("/login", json={"user": "alice"})
            assert login.status_code == 200
            new_id = site.jar_id()
            slow = await site.finish("slow")
        assert slow.status_code == 200
        # A browser keeps what the last response set: the login must still be there.
        assert site.jar_id() == new_id
        whoami = (await site.client.get("/whoami")).json()
        assert whoami["user_id"] == "alice"

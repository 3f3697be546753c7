"""A revoked session stays revoked: `cycle_key` (login, `update_session_auth_hash`) on a session
deleted meanwhile leaves it empty and keyless, as `flush` does, and stores nothing of it; an id
collision is another case (a fresh id is tried). Engine level, sync and async, and whole requests."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from redis_sessions import SessionError, _ids, _plan
from tests.django_engine._engine import core
from tests.django_engine.conftest import needs_async_sessions
from tests.django_engine.test_engine import raw_id, saved

pytestmark = pytest.mark.anyio
COOKIE = "sessionid"


@pytest.mark.parametrize("revoke", ["log out everywhere", "deleted"])
async def test_cycle_key_of_a_session_revoked_meanwhile_leaves_it_empty_as_flush_does(
    kind: str, revoke: str
) -> None:
    engine = (await saved(kind, cart=[1], _auth_user_id="31")).reopen()
    assert await engine.get("cart") == [1]  # loaded: this request holds the data and the user
    old_id = raw_id(engine)
    await engine.set("late", 1)  # a change this request made: gone too
    if revoke == "log out everywhere":
        assert core().delete_user_sessions("31") == 1
    else:
        assert core().delete(old_id)

    await engine.cycle_key()

    assert engine.session_key is None
    assert await engine.items() == []
    assert await engine.get("_auth_user_id") is None
    assert not core().exists(old_id)
    assert core().sessions_for_user("31") == []
    assert core().count() == 0  # nothing stored under any id


async def test_cycle_key_tries_another_id_when_the_fresh_one_is_taken(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = (await saved(kind, a=1, _auth_user_id="32")).reopen()
    assert await engine.get("a") == 1
    old_id = raw_id(engine)
    taken = raw_id(await saved(kind, other=2))
    real = _ids.new_session_id
    offered = iter([taken])  # the first fresh id is another session's: a collision

    def fresh_id(tag: str | None = None, *, own_expiry: bool = False) -> str:
        return next(offered, None) or real(tag, own_expiry=own_expiry)

    monkeypatch.setattr(_plan, "new_session_id", fresh_id)  # what the regenerate draws
    await engine.cycle_key()

    assert raw_id(engine) not in (old_id, taken)
    assert not core().exists(old_id)
    assert sorted(await engine.reopen().items()) == [("_auth_user_id", "32"), ("a", 1)]
    other = core().get(taken)
    assert other is not None and dict(other) == {"other": 2}  # the other session is untouched


async def test_cycle_key_never_empties_a_session_when_every_fresh_id_is_taken(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = (await saved(kind, a=1)).reopen()
    assert await engine.get("a") == 1
    key = engine.session_key
    taken = raw_id(await saved(kind, other=2))

    def always_taken(tag: str | None = None, *, own_expiry: bool = False) -> str:
        return taken

    monkeypatch.setattr(_plan, "new_session_id", always_taken)
    with pytest.raises(SessionError):
        await engine.cycle_key()

    assert engine.session_key == key  # a collision is not "gone": nothing was emptied
    assert await engine.get("a") == 1
    assert core().exists(raw_id(engine))


# -- whole requests: django.contrib.auth on a session revoked while the request ran ----------------
def _log_in(client: Client, username: str) -> str:
    client.get("/write/cart/3")
    client.get(f"/login/{username}")
    assert client.get("/whoami").json() == {"user": username}
    return client.cookies[COOKIE].value


def _user_pk(username: str) -> str:
    from django.contrib.auth import get_user_model

    return str(get_user_model().objects.get(username=username).pk)


@pytest.mark.parametrize("prefix", ["", pytest.param("async/", marks=needs_async_sessions)])
def test_update_session_auth_hash_on_a_revoked_session_leaves_the_user_logged_out(
    client: Client, prefix: str
) -> None:
    old_id = core().signer.unsign(_log_in(client, "erin"))
    assert old_id is not None

    assert client.get(f"/{prefix}revoked-then-rehash").status_code == 200

    assert not core().exists(old_id)
    assert core().sessions_for_user(_user_pk("erin")) == []  # no session of the user brought back
    assert client.get("/whoami").json() == {"user": None}
    assert client.get("/read/cart").json() == {"value": None}


@pytest.mark.parametrize("prefix", ["", pytest.param("async/", marks=needs_async_sessions)])
def test_login_on_an_anonymous_session_deleted_meanwhile_brings_none_of_it_back(
    client: Client, prefix: str
) -> None:
    client.get("/write/cart/3")
    old_id = core().signer.unsign(client.cookies[COOKIE].value)
    assert old_id is not None

    assert client.get(f"/{prefix}revoked-then-login/fay").status_code == 200

    assert not core().exists(old_id)
    assert client.get("/read/cart").json() == {"value": None}  # the deleted session's data: gone
    # login() authenticated in this request, so its fresh session (and only that) holds the user.
    sessions = core().sessions_for_user(_user_pk("fay"))
    assert [s.id for s in sessions] == [core().signer.unsign(client.cookies[COOKIE].value)]
    assert sorted(sessions[0]) == ["_auth_user_backend", "_auth_user_hash", "_auth_user_id"]


@pytest.mark.parametrize("prefix", ["", pytest.param("async/", marks=needs_async_sessions)])
def test_login_again_on_a_session_revoked_meanwhile_is_interrupted_and_stores_nothing(
    client: Client, prefix: str
) -> None:
    old_id = core().signer.unsign(_log_in(client, "gus"))
    assert old_id is not None

    response: Any = client.get(f"/{prefix}revoked-then-login/gus")  # the same user: no cycle_key

    assert response.status_code == 400  # Django's SessionInterrupted
    assert not core().exists(old_id)
    assert core().sessions_for_user(_user_pk("gus")) == []
    assert client.get("/whoami").json() == {"user": None}

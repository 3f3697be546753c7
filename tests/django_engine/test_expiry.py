"""Past expiry expires: `set_expiry` with a past datetime, a negative timedelta or negative seconds
ends the session at once, as Django's own engines do; sync and async, and through a request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.django_engine._engine import Engine, core, round_trips
from tests.django_engine.test_engine import raw_id, saved

pytestmark = pytest.mark.anyio
COOKIE = "sessionid"
PAST = ["datetime", "timedelta", "seconds"]


def past(how: str) -> Any:
    return {
        "datetime": timezone.now() - timedelta(minutes=5),
        "timedelta": timedelta(seconds=-30),
        "seconds": -30,
    }[how]


@pytest.mark.parametrize("how", PAST)
async def test_a_past_expiry_ends_a_stored_session_at_once(kind: str, how: str) -> None:
    engine = (await saved(kind, a=1, _auth_user_id="61")).reopen()
    assert await engine.get("a") == 1
    key, session_id = engine.session_key, raw_id(engine)

    await engine.set_expiry(past(how))
    await engine.save()

    assert await Engine(kind, key).load() == {}  # the next request sees nothing
    assert not core().exists(session_id)
    assert core().sessions_for_user("61") == []  # its user index entry went with it
    assert await engine.get_expiry_age() <= 0  # the cookie Django sets expires at once


@pytest.mark.parametrize("how", PAST)
async def test_a_new_session_with_a_past_expiry_is_never_stored(kind: str, how: str) -> None:
    engine = Engine(kind)
    await engine.set("a", 1)
    await engine.set_expiry(past(how))
    await engine.save()

    assert engine.session_key is not None
    assert await Engine(kind, engine.session_key).load() == {}
    assert core().count() == 0


async def test_a_session_expired_at_once_can_be_given_a_future_expiry_again(kind: str) -> None:
    engine = (await saved(kind, a=1)).reopen()
    await engine.set_expiry(-1)
    await engine.save()
    before = round_trips()
    await engine.save()  # SESSION_SAVE_EVERY_REQUEST: nothing left to delete, no round trip
    assert round_trips() == before
    await engine.set_expiry(None)
    await engine.save()  # this request's data, stored again under a fresh key

    assert await engine.reopen().get("a") == 1


def test_a_past_expiry_through_a_request_logs_the_session_out(client: Client) -> None:
    client.get("/login/hal")
    client.get("/write/cart/3")
    session_id = core().signer.unsign(client.cookies[COOKIE].value)
    assert session_id is not None

    response = client.get("/expire-now")

    assert int(response.cookies[COOKIE]["max-age"]) <= 0
    assert not core().exists(session_id)
    client.cookies[COOKIE] = core().signer.sign(session_id)  # a browser that kept the cookie
    assert client.get("/whoami").json() == {"user": None}
    assert client.get("/read/cart").json() == {"value": None}

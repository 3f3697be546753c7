"""Whole requests through Django's middleware and test client: auth, messages, async views, the
cookie, round trips per request, outages."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import django
import pytest
from django.test import Client

from tests._backends import backend_url_of
from tests._observer import Recorder
from tests.django_engine._engine import core, round_trips
from tests.django_engine.conftest import Settings, needs_async_sessions


@pytest.fixture(params=["memory", "redis", "cluster"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """These scenarios run once more on a local Redis Cluster (3 primaries): through Django's engine."""
    return backend_url_of(request, request.param)


COOKIE = "sessionid"


def cookie_of(client: Client) -> str:
    return client.cookies[COOKIE].value


def test_a_request_that_writes_nothing_creates_nothing(client: Client) -> None:
    before = round_trips()
    response = client.get("/read/a")
    assert response.json() == {"value": None}
    assert COOKIE not in response.cookies
    assert round_trips() == before


def test_the_cookie_is_signed_httponly_lax_and_lives_as_long_as_the_session(client: Client) -> None:
    response = client.get("/write/a/1")
    morsel = response.cookies[COOKIE]
    assert core().signer.unsign(morsel.value) is not None
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert int(morsel["max-age"]) == core().config.ttl


def test_login_regenerates_the_id_and_binds_the_user(client: Client) -> None:
    client.get("/write/cart/3")
    anonymous = cookie_of(client)
    body = client.get("/login/alice").json()
    assert cookie_of(client) != anonymous
    assert not core().exists(core().signer.unsign(anonymous) or "")
    assert client.get("/whoami").json() == {"user": "alice"}
    assert client.get("/read/cart").json() == {"value": 3}
    listed = client.get("/sessions").json()
    assert listed["ids"] == [body["session_id"]] == [listed["current"]]


def test_logout_deletes_the_session_and_expires_the_cookie(client: Client) -> None:
    client.get("/login/bob")
    session_id = core().signer.unsign(cookie_of(client))
    assert session_id is not None
    response = client.get("/logout")
    assert response.cookies[COOKIE].value == ""
    assert not core().exists(session_id)
    assert client.get("/whoami").json() == {"user": None}


def test_log_out_everywhere_else(configured: None) -> None:
    laptop, phone = Client(), Client()
    laptop.get("/login/carol")
    phone.get("/login/carol")
    assert len(laptop.get("/sessions").json()["ids"]) == 2
    keep = core().signer.unsign(cookie_of(laptop))
    assert core().delete_user_sessions(str(_user_pk("carol")), except_id=keep) == 1
    assert phone.get("/whoami").json() == {"user": None}
    assert laptop.get("/whoami").json() == {"user": "carol"}


def _user_pk(username: str) -> int:
    from django.contrib.auth import get_user_model

    return int(get_user_model().objects.get(username=username).pk)


def test_messages_survive_to_the_next_request(client: Client) -> None:
    client.get("/messages/add/hello")
    assert client.get("/messages").json() == {"messages": ["hello"]}
    assert client.get("/messages").json() == {"messages": []}


@needs_async_sessions
def test_async_views_read_write_and_cycle(client: Client) -> None:
    client.get("/async/write/a/5")
    first = cookie_of(client)
    assert client.get("/async/read/a").json() == {"value": 5}
    client.get("/async/cycle")
    assert cookie_of(client) != first
    assert client.get("/read/a").json() == {"value": 5}


def test_a_nested_change_marked_modified_is_kept(client: Client) -> None:
    client.get("/append/cart/x")
    client.get("/append/cart/y")
    assert client.get("/read/cart").json() == {"value": ["x", "y"]}


@pytest.mark.parametrize("value", ["garbage", "", "a" * 4000, "x.y.z", "%FF%FE"])
def test_garbage_cookies_are_no_session_never_a_500(client: Client, value: str) -> None:
    client.cookies[COOKIE] = value
    response = client.get("/read/a")
    assert response.status_code == 200
    assert response.json() == {"value": None}
    response = client.get("/write/a/1")
    assert core().signer.unsign(response.cookies[COOKIE].value) is not None


def test_round_trips_per_request(engine_settings: Settings, built_stores: object) -> None:
    with engine_settings(SESSION_SAVE_EVERY_REQUEST=True):
        client = Client()
        assert _trips(client, "/untouched") == 0  # no cookie, nothing written
        Client().get("/write/a/1")
        before = round_trips()
        client.get("/write/a/1")
        assert round_trips() - before == 1  # new session: one SET
        assert _trips(client, "/read/a") == 1  # load and slide; the save has nothing to send
        assert _trips(client, "/untouched") == 1  # still activity: loaded (and slid) once
        assert _trips(client, "/write/a/2") == 2  # load, then the changed key
        if django.VERSION >= (5, 0):
            assert _trips(client, "/async/read/a") == 1


def _trips(client: Client, path: str) -> int:
    client.get(path)  # the first call may load the Lua scripts: count the second one
    before = round_trips()
    assert client.get(path).status_code == 200
    return round_trips() - before


def test_a_request_that_never_touches_the_session_still_slides_it(
    engine_settings: Settings, built_stores: object
) -> None:
    with engine_settings(TTL=5):
        client = Client()
        client.get("/write/a/1")
        session_id = core().signer.unsign(cookie_of(client)) or ""
    with engine_settings(TTL=600):
        left = core().ttl(session_id)
        assert left is not None and left <= 5
        client.get("/untouched")  # the view never reads the session: loading it slides it
        left = core().ttl(session_id)
        assert left is not None and left > 590


def test_old_secret_keys_still_verify_cookies(engine_settings: Settings, built_stores: object) -> None:
    with engine_settings(SECRET_KEY="old-key-0123456789abcdef0123456789"):
        client = Client()
        client.get("/write/a/1")
    with engine_settings(
        SECRET_KEY="new-key-0123456789abcdef0123456789",
        SECRET_KEY_FALLBACKS=["old-key-0123456789abcdef0123456789"],
    ):
        assert client.get("/read/a").json() == {"value": 1}
    with engine_settings(SECRET_KEY="new-key-0123456789abcdef0123456789"):
        assert client.get("/read/a").json() == {"value": None}


@pytest.fixture
def refused_url() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


def test_an_unreachable_redis_is_a_503_never_a_500(
    engine_settings: Settings, built_stores: object, refused_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with engine_settings(SECRET_KEY="k" * 40):
        client = Client()
        client.get("/write/a/1")
        cookie = cookie_of(client)
    with engine_settings(SECRET_KEY="k" * 40, URL=refused_url, CONNECT_TIMEOUT=0.5, COMMAND_TIMEOUT=0.5):
        client = Client(raise_request_exception=False)
        client.cookies[COOKIE] = cookie
        with caplog.at_level(logging.ERROR, logger="redis_sessions"):
            for path in ("/read/a", "/untouched", "/write/b/2", "/whoami"):
                response = client.get(path)
                assert response.status_code == 503, path
                assert response["Retry-After"] == "1"
        outage_lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(outage_lines) == 1


def test_the_observer_sees_what_the_other_integrations_report(
    engine_settings: Settings, built_stores: object
) -> None:
    recorder = Recorder()
    with engine_settings(OBSERVER=recorder):
        client = Client()
        client.cookies[COOKIE] = "garbage"
        client.get("/read/a")
        assert recorder.take() == [("rejected", "tampered")]
        client.cookies.clear()
        client.get("/write/cart/3")
        client.get("/login/alice")
        client.get("/logout")
        events = recorder.take()
        assert events[0] == ("created",) and ("regenerated",) in events, events
        assert events[-1] == ("destroyed", "logout", 1), events

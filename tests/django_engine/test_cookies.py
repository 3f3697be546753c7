"""The session cookie is read by the rule every integration shares (`_http.verified_cookie`): of
the values of the cookie's name in the ``Cookie`` header, the first whose signature verifies,
quoted or not. Legacy keys of ``FALLBACK_ENGINE`` still reach the old engine."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.test import Client
from django.test.utils import override_settings

from tests.django_engine.conftest import Settings

COOKIE = "sessionid"


def session_cookie(value: int) -> str:
    """The cookie value of a stored session holding ``a = value``."""
    client = Client()
    client.get(f"/write/a/{value}")
    return client.cookies[COOKIE].value


def read_a(header: str) -> object:
    return Client().get("/read/a", HTTP_COOKIE=header).json()["value"]


def test_a_quoted_value_is_accepted(configured: None) -> None:
    assert read_a(f'{COOKIE}="{session_cookie(1)}"') == 1


@pytest.mark.parametrize(
    "header",
    [
        "{name}=garbage; {name}={one}",
        "{name}={one}; {name}=garbage",  # Django's own parsing takes the last: no session
        "other=x; {name}=; {name}={one}; {name}=garbage",
        '{name}="{one}"; {name}={two}',
    ],
)
def test_the_first_value_that_verifies_is_the_session(configured: None, header: str) -> None:
    one, two = session_cookie(1), session_cookie(2)
    assert read_a(header.format(name=COOKIE, one=one, two=two)) == 1


def test_of_two_valid_values_the_first_wins(configured: None) -> None:
    one, two = session_cookie(1), session_cookie(2)
    assert read_a(f"{COOKIE}={one}; {COOKIE}={two}") == 1
    assert read_a(f"{COOKIE}={two}; {COOKIE}={one}") == 2


def test_a_cookie_that_never_verifies_is_no_session(configured: None) -> None:
    tampered = session_cookie(1)[:-2] + "xx"
    assert read_a(f"{COOKIE}={tampered}; {COOKIE}=garbage") is None


def test_a_fallback_engine_key_still_reaches_the_old_engine(
    engine_settings: Settings, built_stores: object
) -> None:
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"):
        old = DbSessionStore()
        old["a"] = 7
        old.create()
    with engine_settings(FALLBACK_ENGINE="django.contrib.sessions.backends.db"):
        assert read_a(f"{COOKIE}=garbage; {COOKIE}={old.session_key}") == 7
        # A value of ours that verifies comes first, wherever it is.
        assert read_a(f"{COOKIE}={old.session_key}; {COOKIE}={session_cookie(1)}") == 1


def test_with_another_session_engine_the_middleware_reads_cookies_as_django_does(
    configured: None,
) -> None:
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"):
        client = Client()
        client.get("/write/a/5")
        assert client.get("/read/a").json() == {"value": 5}

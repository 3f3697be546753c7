"""The Django engine's settings: errors name the Django setting to fix and never quote a secret, and
a missing ``REDIS_SESSIONS["URL"]`` is one WARNING naming it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings

from redis_sessions.integrations.django import _settings
from tests.django_engine import conftest as _django  # configures Django once, as the engine tests do

PASSWORD = "dj-Pa55-word"
assert _django.DJANGO_SECRET


@pytest.fixture
def build() -> Iterator[Any]:
    """`_settings.build` under given settings; the stores it builds are closed after the test."""
    built: list[_settings.EngineSettings] = []

    def run(**settings: Any) -> _settings.EngineSettings:
        with override_settings(**settings):
            built.append(_settings.build())
        return built[-1]

    yield run
    for engine in built:
        engine.store.close()
        asyncio.run(engine.async_store.close())


def refused(build: Any, **settings: Any) -> str:
    with pytest.raises(ImproperlyConfigured) as raised:
        build(**settings)
    assert raised.value.__cause__ is not None
    assert PASSWORD not in str(raised.value.__cause__)
    return str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        f"http://app:{PASSWORD}@cache:6379/0",
        f"redis://:{PASSWORD}@cache:99999/0",
        f"redis://:{PASSWORD}@cache:6379/sessions",
    ],
)
def test_a_bad_url_names_the_setting_and_hides_the_password(build: Any, url: str) -> None:
    message = refused(build, REDIS_SESSIONS={"URL": url})
    assert message.startswith("REDIS_SESSIONS['URL']: ")
    assert PASSWORD not in message
    assert ":***@cache" in message


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({"SESSION_COOKIE_NAME": "bad name"}, "SESSION_COOKIE_NAME"),
        ({"SESSION_COOKIE_NAME": "sessionid;"}, "SESSION_COOKIE_NAME"),
        ({"SESSION_COOKIE_NAME": "__Host-sessionid"}, "SESSION_COOKIE_SECURE"),
        ({"SESSION_COOKIE_NAME": "__Secure-sessionid"}, "SESSION_COOKIE_SECURE"),
        (
            {
                "SESSION_COOKIE_NAME": "__Host-sessionid",
                "SESSION_COOKIE_SECURE": True,
                "SESSION_COOKIE_PATH": "/a",
            },
            "SESSION_COOKIE_PATH",
        ),
        (
            {
                "SESSION_COOKIE_NAME": "__Host-id",
                "SESSION_COOKIE_SECURE": True,
                "SESSION_COOKIE_DOMAIN": ".x.test",
            },
            "SESSION_COOKIE_DOMAIN",
        ),
    ],
)
def test_cookie_errors_name_djangos_setting(build: Any, settings: dict[str, Any], setting: str) -> None:
    message = refused(build, REDIS_SESSIONS={"URL": "memory://django-config"}, **settings)
    assert message.startswith(f"{setting}: ")


@pytest.mark.parametrize("name", ["__Host-sessionid", "__Secure-sessionid", "my-session"])
def test_token_and_prefixed_cookie_names_are_accepted(build: Any, name: str) -> None:
    engine = build(
        REDIS_SESSIONS={"URL": "memory://django-config"}, SESSION_COOKIE_NAME=name, SESSION_COOKIE_SECURE=True
    )
    assert engine.config.cookie_name == name


def test_a_secret_key_is_never_in_an_error(build: Any) -> None:
    message = refused(build, REDIS_SESSIONS={"URL": "memory://django-config"}, SECRET_KEY_FALLBACKS=[""])
    assert message.startswith("SECRET_KEY / SECRET_KEY_FALLBACKS: ")
    assert _django.DJANGO_SECRET not in message


def test_without_a_url_one_warning_names_redis_sessions_url(
    build: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    engine = build(REDIS_SESSIONS={"KEY_PREFIX": "django-config:"})
    assert engine.config.url == "memory://"
    (record,) = caplog.records
    assert "REDIS_SESSIONS['URL'] is not set" in record.getMessage()


def test_an_explicit_memory_url_is_quiet(build: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    build(REDIS_SESSIONS={"URL": "memory://"})
    assert caplog.records == []

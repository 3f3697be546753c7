"""`replica_acks` and `replica_ack_timeout` (durable writes with Redis WAIT): checked at construction,
read from the environment, and from Django's and Flask's settings with no change to them."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings
from flask import Flask

from redis_sessions import ConfigError, SessionConfig
from redis_sessions.integrations.django import _settings
from redis_sessions.integrations.flask._settings import config_from_app
from tests.django_engine import conftest as _django  # configures Django once, as the engine tests do

URL = "redis://cache:6379/0"
assert _django.DJANGO_SECRET


def make(**fields: Any) -> SessionConfig:
    return SessionConfig(**{"url": URL, "secret_keys": ["k"], **fields})


def test_defaults_are_plain_redis() -> None:
    config = make()
    assert (config.replica_acks, config.replica_ack_timeout) == (0, 0.5)
    assert "replica_acks=0, replica_ack_timeout=0.5" in repr(config)


@pytest.mark.parametrize(
    "fields",
    [
        {"replica_acks": 1},
        {"replica_acks": 2, "replica_ack_timeout": 0.25},
        {"replica_acks": 1, "replica_ack_timeout": 2, "command_timeout": 3},
        {"url": "redis+cluster://h1:7000", "replica_acks": 1},
        {"url": "redis+sentinel://s1/mymaster", "replica_acks": 1},
        # without acks the timeout is not used: an existing short command_timeout stays valid
        {"command_timeout": 0.2},
        {"url": "memory://", "replica_acks": 0},
    ],
)
def test_accepted(fields: dict[str, Any]) -> None:
    config = make(**fields)
    for name, value in fields.items():
        assert getattr(config, name) == value


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"replica_acks": -1}, "replica_acks", "must be a whole number of replicas, 0 or more, got -1"),
        ({"replica_acks": 1.0}, "replica_acks", "whole number"),
        ({"replica_acks": True}, "replica_acks", "whole number"),
        ({"replica_acks": "1"}, "replica_acks", "whole number"),
        ({"replica_acks": None}, "replica_acks", "whole number"),
        ({"replica_ack_timeout": 0}, "replica_ack_timeout", "must be a positive number of seconds"),
        ({"replica_ack_timeout": -0.5}, "replica_ack_timeout", "positive"),
        ({"replica_ack_timeout": math.nan}, "replica_ack_timeout", "positive"),
        ({"replica_ack_timeout": math.inf}, "replica_ack_timeout", "positive"),
        ({"replica_ack_timeout": True}, "replica_ack_timeout", "positive"),
        ({"replica_ack_timeout": "0.5"}, "replica_ack_timeout", "positive"),
        (
            {"replica_acks": 1, "replica_ack_timeout": 1.0},
            "replica_ack_timeout",
            "must be less than command_timeout (1.0 s), got 1.0",
        ),
        (
            {"replica_acks": 1, "command_timeout": 0.3},
            "replica_ack_timeout",
            "must be less than command_timeout (0.3 s), got 0.5",
        ),
        ({"url": "memory://", "replica_acks": 1}, "replica_acks", "memory:// has no replicas"),
    ],
)
def test_refused(fields: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        make(**fields)
    assert raised.value.field == field
    assert words in str(raised.value)


def test_no_url_is_memory_and_has_no_replicas() -> None:
    with pytest.raises(ConfigError, match="memory:// has no replicas") as raised:
        SessionConfig(secret_keys=["k"], replica_acks=1)
    assert raised.value.field == "replica_acks"


def test_from_env_reads_both() -> None:
    config = SessionConfig.from_env(
        {
            "SESSION_SECRET_KEYS": "k",
            "REDIS_URL": URL,
            "SESSION_REPLICA_ACKS": " 2 ",
            "SESSION_REPLICA_ACK_TIMEOUT": "0.25",
        }
    )
    assert (config.replica_acks, config.replica_ack_timeout) == (2, 0.25)


@pytest.mark.parametrize(
    ("env", "variable", "words"),
    [
        ({"SESSION_REPLICA_ACKS": "two"}, "SESSION_REPLICA_ACKS", "must be a whole number, got 'two'"),
        ({"SESSION_REPLICA_ACKS": "-1"}, "SESSION_REPLICA_ACKS", "0 or more"),
        ({"SESSION_REPLICA_ACK_TIMEOUT": "soon"}, "SESSION_REPLICA_ACK_TIMEOUT", "number of seconds"),
        ({"SESSION_REPLICA_ACK_TIMEOUT": "0"}, "SESSION_REPLICA_ACK_TIMEOUT", "positive"),
        (
            {"SESSION_REPLICA_ACKS": "1", "SESSION_REPLICA_ACK_TIMEOUT": "5"},
            "SESSION_REPLICA_ACK_TIMEOUT",
            "less than command_timeout",
        ),
        ({"SESSION_REPLICA_ACKS": "1", "USE_REDIS_SESSIONS": "false"}, "SESSION_REPLICA_ACKS", "no replicas"),
    ],
)
def test_from_env_names_the_variable(env: dict[str, str], variable: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        SessionConfig.from_env({"SESSION_SECRET_KEYS": "k", "REDIS_URL": URL, **env})
    assert raised.value.field == variable
    assert words in str(raised.value)


def test_flask_reads_them_as_any_field() -> None:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="k",
        REDIS_SESSIONS_URL=URL,
        REDIS_SESSIONS_REPLICA_ACKS=1,
        REDIS_SESSIONS_REPLICA_ACK_TIMEOUT=0.2,
    )
    config = config_from_app(app)
    assert (config.replica_acks, config.replica_ack_timeout) == (1, 0.2)
    app.config["REDIS_SESSIONS_REPLICA_ACKS"] = -1
    with pytest.raises(ConfigError) as raised:
        config_from_app(app)
    assert raised.value.field == "REDIS_SESSIONS_REPLICA_ACKS"


def test_django_names_the_setting() -> None:
    settings = {"URL": URL, "REPLICA_ACKS": 1, "REPLICA_ACK_TIMEOUT": 2}
    with override_settings(REDIS_SESSIONS=settings), pytest.raises(ImproperlyConfigured) as raised:
        _settings.build()
    assert str(raised.value).startswith("REDIS_SESSIONS['REPLICA_ACK_TIMEOUT']: must be less than")

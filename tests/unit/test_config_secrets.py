"""No secret key and no Redis password in a config's repr, a `ConfigError` or a log line: the URL is
shown redacted (`redact_url`) wherever a config or URL is printed."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask

from redis_sessions import ConfigError, SessionConfig
from redis_sessions.config import redact_url
from redis_sessions.integrations.flask import RedisSessions

PASSWORD = "hunter2-Pa55"
KEYS = ["sk-first-0123456789", "sk-second-9876543210"]


def assert_no_secret(text: str) -> None:
    assert PASSWORD not in text
    for key in KEYS:
        assert key not in text


def test_repr_shows_neither_the_secret_keys_nor_the_url_password() -> None:
    config = SessionConfig(url=f"redis://app:{PASSWORD}@cache:6379/0", secret_keys=KEYS)
    for text in (repr(config), str(config), f"{config}", repr([config]), repr({"config": config})):
        assert_no_secret(text)
        assert "redis://app:***@cache:6379/0" in text
        assert "secret_keys=<2 secret keys>" in text
    assert config.url == f"redis://app:{PASSWORD}@cache:6379/0"  # the value itself is intact
    assert config.secret_keys == tuple(KEYS)


def test_repr_keeps_the_other_fields() -> None:
    config = SessionConfig(url="memory://", secret_keys=["k"], ttl=60, cookie_name="sid")
    assert repr(config).startswith("SessionConfig(url='memory://', secret_keys=<1 secret key>, ttl=60,")
    assert "cookie_name='sid'" in repr(config)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://app:pw@cache:6379/0", "redis://app:***@cache:6379/0"),
        ("rediss://:pw@cache:6380/1", "rediss://:***@cache:6380/1"),
        ("redis://pw@cache/0", "redis://***@cache/0"),  # a bare password where the user goes
        ("redis://u:p@ss/w@rd@cache:1/0", "redis://u:***@cache:1/0"),  # unescaped '@' and '/'
        ("unix://:pw@/run/redis.sock?db=1", "unix://:***@/run/redis.sock?db=1"),
        ("rediss://cache/0?password=pw&db=1", "rediss://cache/0?password=***&db=1"),
        ("rediss://cache/0?ssl_password=pw", "rediss://cache/0?ssl_password=***"),
        ("http://u:pw@cache", "http://u:***@cache"),
        ("u:pw@cache:6379", "u:***@cache:6379"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("memory://", "memory://"),
        ("", ""),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_url_of_a_non_string_names_its_type() -> None:
    assert redact_url(None) == "<NoneType>"
    assert redact_url(b"redis://:pw@h") == "<bytes>"


BAD_URLS = [
    f"http://app:{PASSWORD}@cache:6379/0",  # scheme
    f"REDIS://:{PASSWORD}@cache:6379/0",  # redis-py reads only lower-case schemes
    f"redis://:{PASSWORD}@cache:99999/0",  # port
    f"redis://:{PASSWORD}@cache:6379/zero",  # database
    f"redis://:{PASSWORD}@cache:6379/0?no_such_option=1",
    f"redis://:{PASSWORD}@cache:6379/0?ssl_cert_reqs=none",  # TLS option without rediss://
    f"rediss://:{PASSWORD}@cache:6379/0?ssl_cert_reqs=off",
    f"rediss://cache:6379/0?password={PASSWORD}&ssl_ca_certs=/no/such/ca.pem",
    f"redis://:{PASSWORD}@[::1:6379/0",  # unparsable
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_url_is_named_and_shown_redacted(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        SessionConfig(url=url, secret_keys=KEYS)
    assert raised.value.field == "url"
    assert_no_secret(str(raised.value))
    assert "***" in str(raised.value)


@pytest.mark.parametrize("url", BAD_URLS)
def test_from_env_names_redis_url_and_redacts_it(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        SessionConfig.from_env({"REDIS_URL": url, "SESSION_SECRET_KEYS": ",".join(KEYS)})
    assert raised.value.field == "REDIS_URL"
    assert str(raised.value).startswith("REDIS_URL: ")
    assert_no_secret(str(raised.value))
    assert_no_secret(str(raised.value.__context__))  # the field's error it was made from


@pytest.mark.parametrize("url", BAD_URLS[:3])
def test_flask_names_its_key_and_redacts_the_url(url: str) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=KEYS[0], REDIS_SESSIONS_URL=url)
    with pytest.raises(ConfigError) as raised:
        RedisSessions(app)
    assert raised.value.field == "REDIS_SESSIONS_URL"
    assert_no_secret(str(raised.value))
    assert_no_secret(str(raised.value.__cause__))


@pytest.mark.parametrize(
    "values",
    [
        {"secret_keys": [KEYS[0], ""]},
        {"secret_keys": [KEYS[0], 5]},
        {"secret_keys": KEYS[0]},
        {"secret_keys": KEYS, "ttl": 0},
    ],
    ids=repr,
)
def test_errors_about_other_fields_never_quote_a_key(values: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as raised:
        SessionConfig(url=f"redis://:{PASSWORD}@cache/0", **values)
    assert_no_secret(str(raised.value))


def test_the_tls_warning_shows_the_url_redacted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="redis_sessions"):
        SessionConfig(url=f"rediss://app:{PASSWORD}@cache/0?ssl_cert_reqs=none", secret_keys=KEYS)
    (record,) = caplog.records
    assert "rediss://app:***@cache/0" in record.getMessage()
    assert_no_secret(record.getMessage())

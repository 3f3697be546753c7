"""SessionConfig: validation in one place (ConfigError names the field) and from_env."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from redis_sessions import ConfigError, SessionConfig, SessionError

KEYS = ["k1"]


def make(**values: Any) -> SessionConfig:
    values.setdefault("secret_keys", KEYS)
    return SessionConfig(**values)


def test_defaults() -> None:
    config = make()
    assert config.url == "memory://"
    assert config.secret_keys == ("k1",)
    assert config.ttl > 0
    assert config.absolute_ttl is None
    assert config.cookie_httponly is True
    assert config.cookie_samesite == "lax"
    assert config.serializer == "json"
    assert config.on_backend_error == "raise"
    assert config.max_size > 0


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost:6379/0",
        "rediss://user:pw@example.com:6380/1",
        "rediss://example.com:6380/1?ssl_cert_reqs=required",
        "unix:///var/run/redis.sock",
        "memory://",
        "memory://named",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert make(url=url).url == url


BAD_FIELDS: list[tuple[str, Any]] = [
    ("url", "http://localhost"),
    ("url", "localhost:6379"),
    ("url", ""),
    ("url", None),
    ("url", "redis://localhost:99999/0"),
    ("url", "redis://localhost:6379/abc"),
    ("url", "redis://localhost:6379/0?no_such_option=1"),
    ("secret_keys", []),
    ("secret_keys", ()),
    ("secret_keys", "a-single-string"),
    ("secret_keys", b"bytes"),
    ("secret_keys", [""]),
    ("secret_keys", ["ok", ""]),
    ("secret_keys", [1]),
    ("secret_keys", None),
    ("ttl", 0),
    ("ttl", -1),
    ("ttl", 1.5),
    ("ttl", "60"),
    ("ttl", True),
    ("ttl", None),
    ("absolute_ttl", 0),
    ("absolute_ttl", -5),
    ("absolute_ttl", 2.5),
    ("absolute_ttl", False),
    ("max_size", 0),
    ("max_size", -1),
    ("max_size", "1k"),
    ("key_prefix", "bad{prefix"),
    ("key_prefix", None),
    ("key_prefix", 5),
    ("cookie_name", ""),
    ("cookie_name", "has space"),
    ("cookie_name", "semi;colon"),
    ("cookie_name", None),
    ("cookie_name", "a=b"),
    ("cookie_domain", "example.com; Secure"),
    ("cookie_path", "/; HttpOnly"),
    ("cookie_path", "relative"),
    ("cookie_path", ""),
    ("cookie_samesite", "sometimes"),
    ("cookie_samesite", None),
    ("serializer", "pickle"),
    ("serializer", "yaml"),
    ("on_backend_error", "ignore"),
    ("connect_timeout", 0),
    ("connect_timeout", -1),
    ("connect_timeout", "1"),
    ("connect_timeout", True),
    ("command_timeout", 0),
    ("command_timeout", None),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS, ids=lambda v: repr(v))
def test_bad_field_raises_config_error_naming_it(field: str, value: Any) -> None:
    values: dict[str, Any] = {"secret_keys": KEYS, field: value}
    with pytest.raises(ConfigError) as caught:
        SessionConfig(**values)
    assert caught.value.field == field
    assert field in str(caught.value)
    assert isinstance(caught.value, SessionError)
    assert isinstance(caught.value, ValueError)


def test_secret_keys_are_required() -> None:
    with pytest.raises(ConfigError) as caught:
        SessionConfig()
    assert caught.value.field == "secret_keys"


def test_samesite_none_needs_secure_cookies() -> None:
    with pytest.raises(ConfigError) as caught:
        make(cookie_samesite="none")
    assert caught.value.field == "cookie_samesite"
    assert make(cookie_samesite="none", cookie_secure=True).cookie_samesite == "none"


def test_samesite_is_case_insensitive() -> None:
    assert make(cookie_samesite="Strict").cookie_samesite == "strict"


def test_secret_keys_keep_their_order() -> None:
    config = make(secret_keys=["new", "old"])
    assert tuple(config.secret_keys) == ("new", "old")


def test_secret_keys_cannot_be_changed_through_the_list_given() -> None:
    keys = ["k1"]
    config = make(secret_keys=keys)
    keys.append("sneaky")
    assert tuple(config.secret_keys) == ("k1",)


def test_valid_optional_fields() -> None:
    config = make(
        absolute_ttl=3600,
        key_prefix="",
        cookie_domain="example.com",
        cookie_secure=True,
        cookie_httponly=False,
        serializer="msgpack",
        connect_timeout=0.25,
        command_timeout=2,
    )
    assert config.absolute_ttl == 3600
    assert config.key_prefix == ""
    assert config.serializer == "msgpack"
    assert config.connect_timeout == 0.25


def test_fallback_policy_is_accepted() -> None:
    assert make(on_backend_error="fallback").on_backend_error == "fallback"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("on_backend_error", "ignore"),
        ("fallback_max_sessions", 0),
        ("fallback_max_bytes", -1),
        ("fallback_max_staleness", 0),
        ("fallback_max_staleness", float("inf")),
        ("circuit_breaker_threshold", -1),
        ("circuit_breaker_cooldown", 0),
    ],
)
def test_outage_settings_are_checked(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as refused:
        make(**{field: value})
    assert refused.value.field == field


def test_config_is_frozen() -> None:
    config = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.ttl = 5  # type: ignore[misc]


def test_replace_validates() -> None:
    config = make(ttl=60)
    assert config.replace(ttl=120).ttl == 120
    assert config.ttl == 60
    with pytest.raises(ConfigError) as caught:
        config.replace(ttl=0)
    assert caught.value.field == "ttl"


# -- from_env ------------------------------------------------------------------------------------


def test_from_env_reads_every_variable() -> None:
    config = SessionConfig.from_env(
        {
            "REDIS_URL": "redis://cache:6379/2",
            "SESSION_SECRET_KEYS": "new, old ,,",
            "SESSION_TTL": " 600 ",
            "SESSION_ABSOLUTE_TTL": "86400",
            "SESSION_KEY_PREFIX": "app:",
            "SESSION_MAX_SIZE": "2048",
            "SESSION_COOKIE_NAME": "sid",
            "SESSION_COOKIE_PATH": "/app",
            "SESSION_COOKIE_DOMAIN": "example.com",
            "SESSION_COOKIE_SECURE": "true",
            "SESSION_COOKIE_HTTPONLY": "false",
            "SESSION_COOKIE_SAMESITE": "Strict",
        }
    )
    assert config.url == "redis://cache:6379/2"
    assert tuple(config.secret_keys) == ("new", "old")
    assert config.ttl == 600
    assert config.absolute_ttl == 86400
    assert config.key_prefix == "app:"
    assert config.max_size == 2048
    assert config.cookie_name == "sid"
    assert config.cookie_path == "/app"
    assert config.cookie_domain == "example.com"
    assert config.cookie_secure is True
    assert config.cookie_httponly is False
    assert config.cookie_samesite == "strict"


def test_from_env_defaults_for_missing_variables() -> None:
    config = SessionConfig.from_env({"SESSION_SECRET_KEYS": "k"})
    assert config == make(secret_keys=["k"])


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "off"])
def test_use_redis_sessions_false_selects_memory(value: str) -> None:
    env = {"REDIS_URL": "redis://cache:6379/0", "USE_REDIS_SESSIONS": value, "SESSION_SECRET_KEYS": "k"}
    assert SessionConfig.from_env(env).url == "memory://"


@pytest.mark.parametrize("value", ["true", "1", "yes", "on", "TRUE"])
def test_use_redis_sessions_true_keeps_redis_url(value: str) -> None:
    env = {"REDIS_URL": "redis://cache:6379/0", "USE_REDIS_SESSIONS": value, "SESSION_SECRET_KEYS": "k"}
    assert SessionConfig.from_env(env).url == "redis://cache:6379/0"


@pytest.mark.parametrize("value", ["", "none", "None"])
def test_absolute_ttl_can_be_unset_from_env(value: str) -> None:
    env = {"SESSION_SECRET_KEYS": "k", "SESSION_ABSOLUTE_TTL": value}
    assert SessionConfig.from_env(env).absolute_ttl is None


def test_empty_cookie_domain_means_none() -> None:
    env = {"SESSION_SECRET_KEYS": "k", "SESSION_COOKIE_DOMAIN": ""}
    assert SessionConfig.from_env(env).cookie_domain is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SESSION_TTL", "ten"),
        ("SESSION_TTL", "1.5"),
        ("SESSION_TTL", ""),
        ("SESSION_MAX_SIZE", "64k"),
        ("SESSION_ABSOLUTE_TTL", "soon"),
        ("USE_REDIS_SESSIONS", "maybe"),
        ("SESSION_COOKIE_SECURE", "sure"),
        ("SESSION_COOKIE_HTTPONLY", "2"),
    ],
)
def test_unparsable_variable_is_named(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SessionConfig.from_env({"SESSION_SECRET_KEYS": "k", variable: value})
    assert caught.value.field == variable
    assert variable in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SESSION_TTL", "0"),
        ("SESSION_TTL", "-60"),
        ("SESSION_MAX_SIZE", "0"),
        ("REDIS_URL", "http://cache"),
        ("REDIS_URL", "redis://cache:99999/0"),
        ("SESSION_COOKIE_SAMESITE", "sometimes"),
        ("SESSION_KEY_PREFIX", "a{b"),
    ],
)
def test_invalid_value_from_env_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SessionConfig.from_env({"SESSION_SECRET_KEYS": "k", variable: value})
    assert caught.value.field == variable
    assert str(caught.value).startswith(f"{variable}: ")


def test_from_env_without_keys_names_session_secret_keys() -> None:
    for env in ({}, {"SESSION_SECRET_KEYS": " , "}, {"SESSION_SECRET_KEYS": ""}):
        with pytest.raises(ConfigError) as caught:
            SessionConfig.from_env(env)
        assert caught.value.field == "SESSION_SECRET_KEYS"


def test_from_env_overrides_win() -> None:
    env = {"SESSION_SECRET_KEYS": "k", "SESSION_TTL": "60"}
    config = SessionConfig.from_env(env, ttl=120, key_prefix="x:")
    assert config.ttl == 120
    assert config.key_prefix == "x:"


def test_from_env_unknown_override_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        SessionConfig.from_env({"SESSION_SECRET_KEYS": "k"}, no_such_field=1)
    assert caught.value.field == "no_such_field"


def test_from_env_ignores_unrelated_variables() -> None:
    config = SessionConfig.from_env({"SESSION_SECRET_KEYS": "k", "PATH": "/bin", "SESSION_X": "1"})
    assert config == make(secret_keys=["k"])


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEYS", "from-os")
    monkeypatch.setenv("SESSION_TTL", "77")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("USE_REDIS_SESSIONS", raising=False)
    config = SessionConfig.from_env()
    assert tuple(config.secret_keys) == ("from-os",)
    assert config.ttl == 77

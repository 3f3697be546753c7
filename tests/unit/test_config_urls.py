"""A URL redis-py would refuse or misread fails at construction with ConfigError("url", ...), not on
the first request: ports, databases, query options (redis-py's names) and the TLS options of
``rediss://``. `from_env` names the environment variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from redis_sessions import ConfigError, SessionConfig


def make(url: str) -> SessionConfig:
    return SessionConfig(url=url, secret_keys=["k"])


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, Path]:
    """Files at the paths TLS options name (their content is read by redis-py, on connecting)."""
    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    for path in files.values():
        path.write_text("-----BEGIN CERTIFICATE-----\n")
    return files


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost",
        "redis://localhost:6379",
        "redis://localhost:6379/",
        "redis://localhost:6379/15",
        "redis:///0",
        "redis://user:pw@localhost:1/0",
        "redis://[::1]:6379/0",
        "redis://cache/0?db=3",
        "redis://cache/0?client_name=web&max_connections=20&health_check_interval=30",
        "redis://cache/0?socket_keepalive=true&socket_read_size=65536&username=app&password=pw",
        "rediss://cache:6380/0",
        "rediss://cache:6380/0?ssl_cert_reqs=required&ssl_check_hostname=true&ssl_min_version=771",
        "rediss://cache:6380/0?ssl_ciphers=ECDHE+AESGCM&ssl_include_verify_flags=VERIFY_X509_STRICT",
        "unix:///run/redis.sock",
        "unix:///run/redis.sock?db=2&password=pw",
    ],
)
def test_accepted(url: str) -> None:
    assert make(url).url == url


def test_tls_files_that_exist_are_accepted(pem: dict[str, Path]) -> None:
    url = (
        f"rediss://cache:6380/0?ssl_ca_certs={pem['ca']}&ssl_certfile={pem['cert']}&ssl_keyfile={pem['key']}"
    )
    assert make(url).url == url
    assert make(f"rediss://cache/0?ssl_ca_path={pem['ca'].parent}").url.endswith(str(pem["ca"].parent))


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("redis://cache:99999/0", "port"),
        ("redis://cache:65536/0", "port"),
        ("redis://cache:0/0", "port"),
        ("redis://cache:-1/0", "port"),
        ("redis://cache:port/0", "port"),
        ("redis://cache:6379/abc", "database"),
        ("redis://cache:6379/-1", "database"),
        ("redis://cache:6379/1.5", "database"),
        ("redis://cache:6379/\u0661", "database"),  # a digit to str.isdigit, not to Redis
        ("redis://cache:6379/0?db=abc", "database"),
        ("redis://cache/0?db=", "'db' has no value"),
        ("rediss://cache/0?ssl_ca_certs=", "'ssl_ca_certs' has no value"),  # e.g. an unset variable
        ("unix://", "path"),
        ("unix://?db=1", "path"),
        ("redis://cache/0?no_such_option=1", "unknown query option 'no_such_option'"),
        ("redis://cache/0?decode_responses=true", "unknown query option"),
        ("redis://cache/0?retry_on_timeout=true", "unknown query option"),  # would replay writes
        ("redis://cache/0?socket_timeout=5", "command_timeout"),
        ("redis://cache/0?socket_connect_timeout=5", "connect_timeout"),
        ("redis://cache/0?max_connections=many", "max_connections"),
        ("redis://cache/0?ssl_ca_certs=/etc/hostname", "needs a rediss:// URL"),
        ("unix:///run/redis.sock?ssl_cert_reqs=required", "needs a rediss:// URL"),
        ("rediss://cache/0?ssl_cert_reqs=NONE", "ssl_cert_reqs must be one of none, optional, required"),
        ("rediss://cache/0?ssl_check_hostname=off", "ssl_check_hostname must be true or false"),
        ("rediss://cache/0?ssl_ca_certs=/no/such/ca.pem", "ssl_ca_certs is not a readable file"),
        ("rediss://cache/0?ssl_certfile=/no/such/cert.pem", "ssl_certfile is not a readable file"),
        ("rediss://cache/0?ssl_ca_path=/no/such/dir", "ssl_ca_path is not a directory"),
        (
            "rediss://cache/0?ssl_include_verify_flags=NOT_A_FLAG",
            "Invalid value for 'ssl_include_verify_flags'",
        ),
        ("rediss://cache/0?ssl_min_version=tls1.2", "ssl_min_version"),
        ("Redis://cache/0", "scheme"),
        (" redis://cache/0", "scheme"),
        ("memory:", "scheme"),
    ],
)
def test_refused_at_construction(url: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        make(url)
    assert raised.value.field == "url"
    assert words in str(raised.value)


def test_a_key_file_needs_its_certificate(pem: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="ssl_keyfile needs ssl_certfile") as raised:
        make(f"rediss://cache/0?ssl_keyfile={pem['key']}")
    assert raised.value.field == "url"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"REDIS_URL": "redis://cache:99999/0"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://cache:6379/abc"}, "REDIS_URL"),
        ({"SESSION_TTL": "0"}, "SESSION_TTL"),
        ({"SESSION_TTL": "-60"}, "SESSION_TTL"),
        ({"SESSION_ABSOLUTE_TTL": "0"}, "SESSION_ABSOLUTE_TTL"),
        ({"SESSION_MAX_SIZE": "0"}, "SESSION_MAX_SIZE"),
        ({"SESSION_KEY_PREFIX": "a{b"}, "SESSION_KEY_PREFIX"),
        ({"SESSION_COOKIE_NAME": "a b"}, "SESSION_COOKIE_NAME"),
        ({"SESSION_COOKIE_PATH": "relative"}, "SESSION_COOKIE_PATH"),
        ({"SESSION_COOKIE_DOMAIN": "a;b"}, "SESSION_COOKIE_DOMAIN"),
        ({"SESSION_COOKIE_SAMESITE": "sometimes"}, "SESSION_COOKIE_SAMESITE"),
        ({"SESSION_COOKIE_SAMESITE": "none"}, "SESSION_COOKIE_SAMESITE"),
        ({"SESSION_COOKIE_NAME": "__Secure-sid"}, "SESSION_COOKIE_SECURE"),
    ],
)
def test_from_env_names_the_variable_not_the_field(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        SessionConfig.from_env({"SESSION_SECRET_KEYS": "k", **env})
    assert raised.value.field == variable
    assert str(raised.value).startswith(f"{variable}: ")


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({}, "SESSION_SECRET_KEYS: is not set"),
        ({"SESSION_SECRET_KEYS": " , ,"}, "SESSION_SECRET_KEYS: is empty"),
    ],
)
def test_from_env_without_keys_names_session_secret_keys(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        SessionConfig.from_env({"REDIS_URL": "redis://cache:6379/0", **env})
    assert raised.value.field == "SESSION_SECRET_KEYS"
    assert str(raised.value).startswith(words)


def test_from_env_names_the_field_of_an_override() -> None:
    with pytest.raises(ConfigError) as raised:
        SessionConfig.from_env({"SESSION_SECRET_KEYS": "k", "SESSION_TTL": "60"}, ttl=0)
    assert raised.value.field == "ttl"
    with pytest.raises(ConfigError) as raised:
        SessionConfig.from_env({}, secret_keys=[])
    assert raised.value.field == "secret_keys"
    with pytest.raises(ConfigError) as raised:
        SessionConfig.from_env({"SESSION_SECRET_KEYS": "k"}, command_timeout=0)  # no variable for it
    assert raised.value.field == "command_timeout"

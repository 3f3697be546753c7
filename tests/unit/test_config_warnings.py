"""Never silent: a config that keeps sessions in the process because no Redis URL was given logs one
WARNING naming the setting to set (for each entry point its own), and so does a ``rediss://`` URL
that turns certificate checks off. An explicit ``memory://`` and full TLS checks stay quiet."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from starlette.applications import Starlette

from redis_sessions import SessionConfig
from redis_sessions.integrations.asgi import SessionMiddleware
from redis_sessions.integrations.flask import RedisSessions


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """`caplog`, capturing the ``redis_sessions`` logger from WARNING up for the whole test."""
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    return caplog


def only_warning(records: list[logging.LogRecord]) -> str:
    (record,) = [r for r in records if r.name == "redis_sessions"]
    assert record.levelno == logging.WARNING
    return record.getMessage()


def test_session_config_without_url_warns_naming_url(log: pytest.LogCaptureFixture) -> None:
    config = SessionConfig(secret_keys=["k"])
    assert config.url == "memory://"
    assert type(config.url) is str
    message = only_warning(log.records)
    assert "SessionConfig.url is not set" in message
    assert "logged out" in message


def test_from_env_without_redis_url_warns_naming_redis_url(log: pytest.LogCaptureFixture) -> None:
    SessionConfig.from_env({"SESSION_SECRET_KEYS": "k"})
    assert "REDIS_URL is not set" in only_warning(log.records)


def test_flask_without_its_url_key_warns_naming_it(log: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k")
    RedisSessions(app)
    assert "REDIS_SESSIONS_URL is not set" in only_warning(log.records)


def test_asgi_without_url_or_redis_url_warns_naming_redis_url(
    log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("USE_REDIS_SESSIONS", raising=False)
    SessionMiddleware(Starlette(), secret_key="k")
    assert "REDIS_URL is not set" in only_warning(log.records)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SessionConfig(url="memory://", secret_keys=["k"]),
        lambda: SessionConfig(url="memory://named", secret_keys=["k"]),
        lambda: SessionConfig.from_env({"SESSION_SECRET_KEYS": "k", "REDIS_URL": "memory://"}),
        lambda: SessionConfig.from_env({"SESSION_SECRET_KEYS": "k", "USE_REDIS_SESSIONS": "false"}),
        lambda: SessionConfig.from_env({"SESSION_SECRET_KEYS": "k"}, url="memory://"),
        lambda: SessionConfig.from_env({"SESSION_SECRET_KEYS": "k", "REDIS_URL": "redis://cache:6379/0"}),
    ],
    ids=["memory", "named", "env-memory", "use-redis-false", "override", "redis"],
)
def test_an_explicit_url_is_quiet(log: pytest.LogCaptureFixture, make: object) -> None:
    assert callable(make)
    make()
    assert log.records == []


def test_flask_with_an_explicit_memory_url_is_quiet(log: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", REDIS_SESSIONS_URL="memory://")
    RedisSessions(app)
    assert log.records == []


def test_copies_of_a_config_do_not_warn_again(log: pytest.LogCaptureFixture) -> None:
    config = SessionConfig(secret_keys=["k"])
    config.replace(ttl=60)
    config.replace(secret_keys=["other"])
    assert len(log.records) == 1


def test_an_invalid_config_logs_nothing(log: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ValueError):
        SessionConfig(secret_keys=["k"], ttl=0)
    with pytest.raises(ValueError):
        SessionConfig(url="rediss://cache/0?ssl_cert_reqs=none", secret_keys=["k"], ttl=0)
    assert log.records == []


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("ssl_cert_reqs=none", "certificate checks are off (ssl_cert_reqs=none)"),
        ("ssl_cert_reqs=none&ssl_check_hostname=false", "certificate checks are off (ssl_cert_reqs=none)"),
        ("ssl_check_hostname=false", "host name checks are off (ssl_check_hostname=false)"),
        ("ssl_check_hostname=FALSE", "host name checks are off"),
        ("ssl_check_hostname=0", "host name checks are off"),
    ],
)
def test_tls_checks_turned_off_warn_once(log: pytest.LogCaptureFixture, query: str, words: str) -> None:
    config = SessionConfig(url=f"rediss://cache:6380/0?{query}", secret_keys=["k"])
    assert words in only_warning(log.records)
    config.replace(ttl=60)  # a copy with the same URL says nothing new
    assert len(log.records) == 1
    config.replace(url=config.url + "&db=1")  # a new URL is a new decision
    assert len(log.records) == 2


@pytest.mark.parametrize(
    "query",
    ["", "ssl_cert_reqs=required", "ssl_cert_reqs=optional", "ssl_check_hostname=true", "ssl_ca_certs={ca}"],
)
def test_tls_with_its_checks_is_quiet(log: pytest.LogCaptureFixture, query: str, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read at construction\n")
    SessionConfig(url=f"rediss://cache:6380/0?{query.format(ca=ca)}", secret_keys=["k"])
    assert log.records == []

"""The extension's settings: Flask's own config keys, ``REDIS_SESSIONS_*`` for the rest, and a
clear `ConfigError` naming the key at start-up (never on the first request)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from redis_sessions import ConfigError
from redis_sessions.integrations.flask import RedisSessions, get_store

SECRET = "flask-settings-test-secret"


def configured(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(REDIS_SESSIONS_URL="memory://flask-settings", **config)
    return app


def test_defaults_come_from_flask() -> None:
    app = configured(SECRET_KEY=SECRET)
    RedisSessions(app)
    config = get_store(app).config
    assert config.ttl == 31 * 24 * 3600  # PERMANENT_SESSION_LIFETIME's default
    assert config.secret_keys == (SECRET,)
    assert (config.cookie_name, config.cookie_path, config.cookie_domain) == ("session", "/", None)
    assert (config.cookie_httponly, config.cookie_secure) == (True, False)
    assert config.cookie_samesite == "lax"  # Flask leaves SameSite unset: ours is secure by default


def test_flask_keys_and_ours_are_read() -> None:
    app = configured(
        SECRET_KEY="new",
        SECRET_KEY_FALLBACKS=["old", b"older"],
        PERMANENT_SESSION_LIFETIME=timedelta(hours=2),
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.test",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Strict",
        APPLICATION_ROOT="/app",
        REDIS_SESSIONS_KEY_PREFIX="flask:",
        REDIS_SESSIONS_ABSOLUTE_TTL=86400,
    )
    RedisSessions(app)
    config = get_store(app).config
    assert config.ttl == 7200
    assert config.secret_keys == ("new", "old", "older")  # the first signs, all verify
    assert (config.cookie_name, config.cookie_domain, config.cookie_path) == ("sid", "example.test", "/app")
    assert (config.cookie_secure, config.cookie_samesite) == (True, "strict")
    assert (config.key_prefix, config.absolute_ttl) == ("flask:", 86400)


def test_redis_sessions_ttl_wins_over_the_permanent_lifetime() -> None:
    app = configured(SECRET_KEY=SECRET, PERMANENT_SESSION_LIFETIME=3600, REDIS_SESSIONS_TTL=600)
    RedisSessions(app)
    assert get_store(app).config.ttl == 600


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": SECRET, "REDIS_SESSIONS_TTL": 0}, "REDIS_SESSIONS_TTL"),
        ({"SECRET_KEY": SECRET, "PERMANENT_SESSION_LIFETIME": timedelta(0)}, "PERMANENT_SESSION_LIFETIME"),
        ({"SECRET_KEY": SECRET, "REDIS_SESSIONS_URL": "http://x"}, "REDIS_SESSIONS_URL"),
        ({"SECRET_KEY": SECRET, "REDIS_SESSIONS_TLL": 60}, "REDIS_SESSIONS_TLL"),
        ({"SECRET_KEY": SECRET, "REDIS_SESSIONS_COOKIE_NAME": "x"}, "REDIS_SESSIONS_COOKIE_NAME"),
        ({"SECRET_KEY": SECRET, "REDIS_SESSIONS_PERMANENT": "yes"}, "REDIS_SESSIONS_PERMANENT"),
        ({"SECRET_KEY": SECRET, "SESSION_COOKIE_SAMESITE": "Sometimes"}, "SESSION_COOKIE_SAMESITE"),
        ({"SECRET_KEY": SECRET, "SESSION_COOKIE_NAME": "bad name"}, "SESSION_COOKIE_NAME"),
    ],
)
def test_a_bad_setting_fails_at_start_up_naming_the_key(config: dict[str, Any], key: str) -> None:
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(ConfigError) as raised:
        RedisSessions(app)
    assert raised.value.field == key
    assert str(raised.value).startswith(f"{key}: ")
    assert "redis_sessions" not in app.extensions  # nothing half-installed


def test_the_cookie_keys_point_to_flasks_own() -> None:
    app = configured(SECRET_KEY=SECRET, REDIS_SESSIONS_COOKIE_SECURE=True)
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        RedisSessions(app)


def test_app_factory_one_extension_many_apps() -> None:
    sessions = RedisSessions()
    first, second = configured(SECRET_KEY="a"), configured(SECRET_KEY="b", REDIS_SESSIONS_KEY_PREFIX="two:")
    sessions.init_app(first)
    sessions.init_app(second)
    assert get_store(first) is not get_store(second)
    assert get_store(second).config.key_prefix == "two:"
    with second.app_context():
        assert sessions.store() is get_store(second)


def test_get_store_without_the_extension_says_so() -> None:
    with pytest.raises(RuntimeError, match="RedisSessions"):
        get_store(Flask(__name__))

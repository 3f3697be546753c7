"""Cookie names are RFC 6265 tokens (``__Host-session``, ``my-session``), and the ``__Host-`` and
``__Secure-`` prefixes' rules (RFC 6265bis 4.1.3) are checked at construction, the error naming the
field (or the framework's setting) to fix. Such cookies work end to end in ASGI and Flask."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from redis_sessions import ConfigError, SessionConfig
from redis_sessions.integrations.asgi import SessionMiddleware
from redis_sessions.integrations.flask import RedisSessions

SECURE = {"cookie_secure": True}


def make(**values: Any) -> SessionConfig:
    return SessionConfig(**{"url": "memory://", "secret_keys": ["k"], **values})


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("__Host-session", SECURE),
        ("__Secure-sid", SECURE),
        ("__Secure-sid", {**SECURE, "cookie_path": "/app", "cookie_domain": "example.com"}),
        ("my-session", {}),
        ("sid.v2", {}),
        ("SESSION_ID", {}),
        ("a!#$%&'*+-.^_`|~z", {}),  # every token character that is not a letter or digit
        ("__Hostile", {}),  # no prefix: the dash is part of it
    ],
)
def test_rfc_6265_token_names_are_accepted(name: str, values: dict[str, Any]) -> None:
    assert make(cookie_name=name, **values).cookie_name == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "has space",
        "semi;colon",
        "a=b",
        'quo"te',
        "comma,",
        "(x)",
        "a/b",
        "x:y",
        "[x]",
        "x?",
        "tab\t",
        "caf\u00e9",
        "new\nline",
        None,
        5,
        b"session",
    ],
)
def test_other_names_are_refused_naming_cookie_name(name: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        make(cookie_name=name)
    assert raised.value.field == "cookie_name"
    assert "RFC 6265 token" in str(raised.value)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"cookie_name": "__Host-session"}, "cookie_secure"),
        ({"cookie_name": "__Host-session", **SECURE, "cookie_path": "/app"}, "cookie_path"),
        ({"cookie_name": "__Host-session", **SECURE, "cookie_domain": "example.com"}, "cookie_domain"),
        ({"cookie_name": "__HOST-session", **SECURE, "cookie_domain": "example.com"}, "cookie_domain"),
        ({"cookie_name": "__Secure-sid"}, "cookie_secure"),
        ({"cookie_name": "__secure-sid"}, "cookie_secure"),  # browsers match prefixes in any case
    ],
)
def test_prefix_rules_name_the_field_to_fix(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        make(**values)
    assert raised.value.field == field
    assert values["cookie_name"] in str(raised.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cookie_path", "/; Domain=evil.example"),
        ("cookie_path", "/a\r\nX: y"),
        ("cookie_domain", "example.com; Secure"),
        ("cookie_domain", 5),
    ],
)
def test_path_and_domain_cannot_add_cookie_attributes(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        make(**{field: value})
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SESSION_COOKIE_NAME": "bad name"}, "SESSION_COOKIE_NAME"),
        ({"SESSION_COOKIE_NAME": "__Host-sid"}, "SESSION_COOKIE_SECURE"),
        (
            {"SESSION_COOKIE_NAME": "__Host-sid", "SESSION_COOKIE_SECURE": "1", "SESSION_COOKIE_PATH": "/a"},
            "SESSION_COOKIE_PATH",
        ),
    ],
)
def test_from_env_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        SessionConfig.from_env({"USE_REDIS_SESSIONS": "false", "SESSION_SECRET_KEYS": "k", **env})
    assert raised.value.field == variable
    assert str(raised.value).startswith(f"{variable}: ")


def flask_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="flask-cookie-test-key", REDIS_SESSIONS_URL="memory://cookie-names", **config
    )
    return app


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"SESSION_COOKIE_NAME": "bad name"}, "SESSION_COOKIE_NAME"),
        ({"SESSION_COOKIE_NAME": "__Host-session"}, "SESSION_COOKIE_SECURE"),
        ({"SESSION_COOKIE_NAME": "__Secure-session"}, "SESSION_COOKIE_SECURE"),
        (
            {
                "SESSION_COOKIE_NAME": "__Host-session",
                "SESSION_COOKIE_SECURE": True,
                "APPLICATION_ROOT": "/app",
            },
            "SESSION_COOKIE_PATH",
        ),
        (
            {
                "SESSION_COOKIE_NAME": "__Host-session",
                "SESSION_COOKIE_SECURE": True,
                "SESSION_COOKIE_DOMAIN": "example.com",
            },
            "SESSION_COOKIE_DOMAIN",
        ),
    ],
)
def test_flask_names_its_own_key(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        RedisSessions(flask_app(**config))
    assert raised.value.field == key
    assert str(raised.value).startswith(f"{key}: ")


@pytest.mark.parametrize("name", ["__Host-session", "my-session"])
def test_flask_session_lives_in_a_prefixed_or_dashed_cookie(name: str) -> None:
    app = flask_app(SESSION_COOKIE_NAME=name, SESSION_COOKIE_SECURE=True)
    RedisSessions(app)

    @app.post("/count")
    def count() -> dict[str, int]:
        session["n"] = session.get("n", 0) + 1
        return {"n": session["n"]}

    client = app.test_client()
    first = client.post("/count", base_url="https://localhost")
    assert first.headers["Set-Cookie"].startswith(f"{name}=")
    assert "Secure" in first.headers["Set-Cookie"]
    assert client.post("/count", base_url="https://localhost").json == {"n": 2}


@pytest.mark.parametrize("name", ["__Host-session", "my-session"])
def test_asgi_session_lives_in_a_prefixed_or_dashed_cookie(name: str) -> None:
    async def count(request: Request) -> JSONResponse:
        request.session["n"] = request.session.get("n", 0) + 1
        return JSONResponse({"n": request.session["n"]})

    app = Starlette(routes=[Route("/count", count, methods=["POST"])])
    config = make(url="memory://cookie-names", cookie_name=name, **SECURE)
    app.add_middleware(SessionMiddleware, config=config)
    with TestClient(app, base_url="https://testserver") as client:
        first = client.post("/count")
        assert first.headers["set-cookie"].startswith(f"{name}=")
        assert "Path=/" in first.headers["set-cookie"] and "Domain" not in first.headers["set-cookie"]
        assert client.post("/count").json() == {"n": 2}

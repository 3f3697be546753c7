"""One ASGI app serving the same small session API from three frameworks on one store, for the
cross-framework test (run with uvicorn in a subprocess: Django's settings are process-wide).

``/asgi/...`` is Starlette with our `SessionMiddleware`, ``/flask/...`` a Flask app with
`RedisSessions` (through a2wsgi), ``/django/...`` Django with our engine (its own ASGI handler).
Each serves ``GET read``, ``POST write`` (a JSON object merged in), ``POST login`` (``{"user"}``:
a fresh id, the user bound) and ``POST logout``. Settings from the environment: CROSS_REDIS_URL,
CROSS_KEY_PREFIX, CROSS_SECRET.
"""

from __future__ import annotations

import json
import os
from typing import Any

import django
from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path
from flask import Flask, jsonify, request, session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from redis_sessions import Session, SessionConfig
from redis_sessions.integrations import asgi
from redis_sessions.integrations import flask as flask_sessions

URL = os.environ["CROSS_REDIS_URL"]
PREFIX = os.environ["CROSS_KEY_PREFIX"]
SECRET = os.environ["CROSS_SECRET"]
TTL = 3600  # one idle timeout everywhere (each framework would otherwise default its own)


def _view(current: Session, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": current.id, "user_id": current.user_id, "data": data}


# -- ASGI (Starlette) ---------------------------------------------------------------------------------
async def asgi_read(request: Request) -> JSONResponse:
    current = asgi.get_session(request)
    return JSONResponse(_view(current, dict(current)))


async def asgi_write(request: Request) -> JSONResponse:
    request.session.update(await request.json())
    return await asgi_read(request)


async def asgi_login(request: Request) -> JSONResponse:
    asgi.regenerate_session(request).user_id = (await request.json())["user"]
    return JSONResponse({"ok": True})


async def asgi_logout(request: Request) -> JSONResponse:
    asgi.clear_session(request)
    return JSONResponse({"ok": True})


asgi_app = Starlette(
    routes=[
        Route("/read", asgi_read),
        Route("/write", asgi_write, methods=["POST"]),
        Route("/login", asgi_login, methods=["POST"]),
        Route("/logout", asgi_logout, methods=["POST"]),
    ]
)
asgi_app.add_middleware(
    asgi.SessionMiddleware, config=SessionConfig(url=URL, secret_keys=[SECRET], key_prefix=PREFIX, ttl=TTL)
)

# -- Flask --------------------------------------------------------------------------------------------
flask_app = Flask(__name__)
flask_app.config.update(
    SECRET_KEY=SECRET,
    REDIS_SESSIONS_URL=URL,
    REDIS_SESSIONS_KEY_PREFIX=PREFIX,
    REDIS_SESSIONS_TTL=TTL,
    REDIS_SESSIONS_PERMANENT=True,  # cookies with Max-Age, as the other two send
)
flask_sessions.RedisSessions(flask_app)


@flask_app.get("/read")
def flask_read() -> Any:
    current = flask_sessions.get_session()
    return jsonify(_view(current, dict(current)))


@flask_app.post("/write")
def flask_write() -> Any:
    session.update(request.get_json())
    return flask_read()


@flask_app.post("/login")
def flask_login() -> Any:
    flask_sessions.regenerate_session().user_id = request.get_json()["user"]
    return jsonify(ok=True)


@flask_app.post("/logout")
def flask_logout() -> Any:
    flask_sessions.clear_session()
    return jsonify(ok=True)


# -- Django ---------------------------------------------------------------------------------------------
def django_read(request: HttpRequest) -> JsonResponse:
    from redis_sessions.integrations.django import get_session

    return JsonResponse(_view(get_session(request), dict(request.session.items())))


def django_write(request: HttpRequest) -> JsonResponse:
    request.session.update(json.loads(request.body))
    return django_read(request)


def django_login(request: HttpRequest) -> JsonResponse:
    from redis_sessions.integrations.django import get_session

    request.session.cycle_key()  # what django.contrib.auth.login does
    get_session(request).user_id = json.loads(request.body)["user"]
    request.session.modified = True
    return JsonResponse({"ok": True})


def django_logout(request: HttpRequest) -> JsonResponse:
    request.session.flush()  # what django.contrib.auth.logout does
    return JsonResponse({"ok": True})


urlpatterns = [
    path("read", django_read),
    path("write", django_write),
    path("login", django_login),
    path("logout", django_logout),
]

settings.configure(
    SECRET_KEY=SECRET,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["redis_sessions.integrations.django"],
    MIDDLEWARE=["redis_sessions.integrations.django.SessionMiddleware"],
    SESSION_ENGINE="redis_sessions.integrations.django",
    SESSION_COOKIE_NAME="session",  # the name the other two use by default
    SESSION_COOKIE_AGE=TTL,
    REDIS_SESSIONS={"URL": URL, "KEY_PREFIX": PREFIX},
    USE_TZ=True,
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402  (after settings)

app = Starlette(
    routes=[
        Mount("/flask", app=WSGIMiddleware(flask_app)),  # type: ignore[arg-type]
        Mount("/django", app=get_asgi_application()),  # type: ignore[arg-type]
        Mount("/asgi", app=asgi_app),
    ]
)

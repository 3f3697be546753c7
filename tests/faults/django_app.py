"""`tests.faults.app`'s routes on Django with our session engine and middleware, settings from
`tests.faults._config`; served by a threaded WSGI server in a subprocess (`tests.served.wsgi_process`)."""

from __future__ import annotations

import json

import django
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path

from tests.faults._config import CONFIG, COOKIE, described, framework_settings


def hit(request: HttpRequest) -> JsonResponse:
    token = json.loads(request.body)["client"]
    session = request.session
    before = {"n": session.get("n", 0), "owner": session.get("owner")}
    session["n"] = int(before["n"]) + 1
    session["owner"] = token
    return JsonResponse({"before": before, "n": session["n"], "owner": session["owner"]})


def read(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"n": request.session.get("n", 0), "owner": request.session.get("owner")})


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse(described())


urlpatterns = [path("hit", hit), path("read", read), path("ping", ping)]

settings.configure(
    SECRET_KEY=CONFIG.secret_keys[0],
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["redis_sessions.integrations.django"],
    MIDDLEWARE=["redis_sessions.integrations.django.SessionMiddleware"],
    SESSION_ENGINE="redis_sessions.integrations.django",
    SESSION_COOKIE_NAME=COOKIE,
    REDIS_SESSIONS=framework_settings(),
    USE_TZ=True,
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402  (after settings)

application = get_wsgi_application()

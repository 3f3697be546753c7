"""The engine closes its clients when the process exits: a subprocess configures Django, serves a
sync and an async request that store a session, and exits; its connections are closed before the
interpreter ends, with no ResourceWarning."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from tests.exit_check import serve_once_and_exit

pytestmark = pytest.mark.slow

# After tests.exit_check.PRELUDE: configure Django, serve a sync and an async request, exit.
SCRIPT = """
import django
from django.conf import settings

settings.configure(
    SECRET_KEY="k" * 40,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["redis_sessions.integrations.django"],
    MIDDLEWARE=["redis_sessions.integrations.django.SessionMiddleware"],
    SESSION_ENGINE="redis_sessions.integrations.django",
    REDIS_SESSIONS={"URL": URL},
)
django.setup()

from django.http import HttpResponse
from django.test import Client
from django.urls import path


def write(request):
    request.session["a"] = 1
    return HttpResponse("ok")


async def async_write(request):
    await request.session.aset("b", 2)
    return HttpResponse("ok")


urlpatterns = [path("write", write), path("async-write", async_write)]

client = Client()
for url in ("/write", "/async-write" if django.VERSION >= (5, 0) else "/write"):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
print("served", flush=True)
"""


def test_the_engine_closes_its_clients_when_the_process_exits(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    serve_once_and_exit(SCRIPT, redis_url, redis_client, tmp_path, "django")

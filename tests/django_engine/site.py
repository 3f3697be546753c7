"""The Django test site: views that exercise the engine through Django's own middleware."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout, update_session_auth_hash
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from redis_sessions.integrations.django import current_session_id, get_async_store, get_store, views


def _ok(**extra: Any) -> JsonResponse:
    return JsonResponse({"ok": True, **extra})


def read(request: HttpRequest, key: str) -> JsonResponse:
    return JsonResponse({"value": request.session.get(key)})


def write(request: HttpRequest, key: str, value: str) -> JsonResponse:
    request.session[key] = json.loads(value)
    return _ok()


def append(request: HttpRequest, key: str, value: str) -> JsonResponse:
    request.session.setdefault(key, []).append(value)  # in place, as Django's docs show
    request.session.modified = True
    return _ok()


def untouched(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def sign_in(request: HttpRequest, username: str) -> JsonResponse:
    user, _ = get_user_model().objects.get_or_create(username=username)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return _ok(session_id=current_session_id(request))


def sign_out(request: HttpRequest) -> JsonResponse:
    logout(request)
    return _ok()


def whoami(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse({"user": user.get_username() if user.is_authenticated else None})


def my_sessions(request: HttpRequest) -> JsonResponse:
    sessions = get_store().sessions_for_user(str(request.user.pk))
    return JsonResponse({"ids": [s.id for s in sessions], "current": current_session_id(request)})


def add_message(request: HttpRequest, text: str) -> JsonResponse:
    messages.info(request, text)
    return _ok()


def show_messages(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"messages": [m.message for m in messages.get_messages(request)]})


def set_expiry(request: HttpRequest, seconds: int) -> JsonResponse:
    request.session.set_expiry(seconds)
    return _ok()


def flush(request: HttpRequest) -> JsonResponse:
    request.session.flush()
    return _ok()


def expire_now(request: HttpRequest) -> JsonResponse:
    request.session.set_expiry(timedelta(seconds=-1))
    return _ok()


# "Meanwhile": the session is revoked between loading it and the auth call, as when "log out
# everywhere" runs on another device while this request is in flight.
def revoked_then_rehash(request: HttpRequest) -> JsonResponse:
    user = request.user  # loads the session
    assert user.is_authenticated
    get_store().delete_user_sessions(str(user.pk))
    update_session_auth_hash(request, user)  # after a password change
    return _ok()


def revoked_then_login(request: HttpRequest, username: str) -> JsonResponse:
    request.session.get("cart")  # loads the session
    session_id = current_session_id(request)
    assert session_id is not None
    get_store().delete(session_id)  # a logout in another tab, say
    user, _ = get_user_model().objects.get_or_create(username=username)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return _ok()


async def async_revoked_then_rehash(request: HttpRequest) -> JsonResponse:
    from django.contrib.auth import aupdate_session_auth_hash  # Django 5.0+

    user = await request.auser()
    assert user.is_authenticated
    await get_async_store().delete_user_sessions(str(user.pk))
    await aupdate_session_auth_hash(request, user)
    return _ok()


async def async_revoked_then_login(request: HttpRequest, username: str) -> JsonResponse:
    from django.contrib.auth import alogin  # Django 5.0+

    await request.session.aget("cart")
    session_id = current_session_id(request)
    assert session_id is not None
    await get_async_store().delete(session_id)
    user, _ = await get_user_model().objects.aget_or_create(username=username)
    await alogin(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return _ok()


async def async_read(request: HttpRequest, key: str) -> JsonResponse:
    return JsonResponse({"value": await request.session.aget(key)})


async def async_write(request: HttpRequest, key: str, value: str) -> JsonResponse:
    await request.session.aset(key, json.loads(value))
    return _ok()


async def async_cycle(request: HttpRequest) -> JsonResponse:
    await request.session.acycle_key()
    return _ok()


urlpatterns = [
    path("read/<str:key>", read),
    path("write/<str:key>/<str:value>", write),
    path("append/<str:key>/<str:value>", append),
    path("untouched", untouched),
    path("login/<str:username>", sign_in),
    path("logout", sign_out),
    path("whoami", whoami),
    path("sessions", my_sessions),
    path("messages/add/<str:text>", add_message),
    path("messages", show_messages),
    path("expiry/<int:seconds>", set_expiry),
    path("flush", flush),
    path("expire-now", expire_now),
    path("revoked-then-rehash", revoked_then_rehash),
    path("revoked-then-login/<str:username>", revoked_then_login),
    path("async/revoked-then-rehash", async_revoked_then_rehash),
    path("async/revoked-then-login/<str:username>", async_revoked_then_login),
    path("async/read/<str:key>", async_read),
    path("async/write/<str:key>/<str:value>", async_write),
    path("async/cycle", async_cycle),
    path("healthz", views.health),
]

"""One login for the three example apps when the demo serves them together.

The ASGI and Flask examples log a person in by binding the session to a username (no password: they
are demos). This middleware, after Django's `AuthenticationMiddleware`, logs that person in here too:
a session bound to a user id that Django does not consider logged in gets that user (created on first
sight, with no usable password). Never a staff user: a password-less login elsewhere must not open
the admin. Installed only when ``DJANGO_SITE_SHARED_LOGIN=1`` (``scripts/demo.sh`` sets it).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse

from example_apps.django_site.models import User
from redis_sessions.integrations.django import get_session

BACKEND = "django.contrib.auth.backends.ModelBackend"


class SharedLoginMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and request.COOKIES:
            user_id = get_session(request).user_id  # loaded once per request anyway
            if user_id is not None:
                user = User.objects.filter(pk=user_id).first()
                if user is None:
                    user = User(pk=user_id)
                    user.set_unusable_password()
                    user.save()
                if not user.is_staff and user.is_active:
                    login(request, user, backend=BACKEND)
                    if get_session(request).is_new:  # revoked meanwhile: cycle_key found it gone
                        logout(request)  # a revocation elsewhere is never undone here
        return self.get_response(request)


def shared_login(request: HttpRequest) -> dict[str, bool]:
    """Template context: ``shared_login`` is on when the three apps are served together."""
    return {"shared_login": bool(getattr(settings, "SHARED_LOGIN", False))}

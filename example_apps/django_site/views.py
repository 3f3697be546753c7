"""The pages: notes kept in the session, sign up / log in / log out, and the user's sessions (with
the words and columns of the FastAPI and Flask examples' page: `example_apps._pages`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from example_apps import _pages
from example_apps.django_site.models import User
from redis_sessions import Session
from redis_sessions.integrations.django import current_session_id, get_store

HANDLE_LENGTH = _pages.HANDLE_LENGTH  # what a page shows of a session id, and what a revoke form posts
MAX_NOTES = 20
MAX_NOTE_LENGTH = 200


def _posted(request: HttpRequest) -> QueryDict | None:
    return request.POST if request.method == "POST" else None  # None: an unbound form


def home(request: HttpRequest) -> HttpResponse:
    cart = request.session.get("cart")  # the FastAPI and Flask examples' cart, in the shared demo
    context = {
        "notes": request.session.get("notes", []),
        "cart": sorted(cart.items()) if isinstance(cart, dict) else [],
    }
    return render(request, "home.html", context)


@require_POST
def add_note(request: HttpRequest) -> HttpResponse:
    text = request.POST.get("text", "").strip()[:MAX_NOTE_LENGTH]
    notes = request.session.get("notes", [])
    if not text:
        messages.error(request, "Write something first.")
    elif len(notes) >= MAX_NOTES:
        messages.error(request, f"{MAX_NOTES} notes at most: clear some first.")
    else:
        request.session["notes"] = [*notes, text]  # reassigned: the session sees the change
    return redirect("home")


@require_POST
def clear_notes(request: HttpRequest) -> HttpResponse:
    request.session.pop("notes", None)
    messages.info(request, "Notes cleared.")
    return redirect("home")


def _log_in(request: HttpRequest, user: AbstractBaseUser, greeting: str) -> HttpResponse:
    login(request, user)  # a new session id (session fixation defence), the notes kept
    request.session["device"] = request.headers.get("user-agent", "unknown")[:80]
    messages.success(request, greeting)
    return redirect("home")


class SignUpForm(UserCreationForm):  # type: ignore[type-arg]  # generic for mypy only
    class Meta(UserCreationForm.Meta):
        model = User


def signup(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(_posted(request))
    if form.is_valid():
        user = form.save()
        return _log_in(request, user, f"Welcome, {user.get_username()}: your account is ready.")
    return render(request, "form.html", {"form": form, "title": "Sign up", "button": "Create account"})


def log_in(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, data=_posted(request))
    if form.is_valid():
        return _log_in(request, form.get_user(), "You are logged in.")
    return render(request, "form.html", {"form": form, "title": "Log in", "button": "Log in"})


@require_POST
def log_out(request: HttpRequest) -> HttpResponse:
    logout(request)  # deletes the session in Redis
    messages.info(request, "You are logged out.")
    return redirect("home")


def _user_sessions(request: HttpRequest) -> list[Session]:
    return get_store().sessions_for_user(str(request.user.pk))


@login_required
def sessions(request: HttpRequest) -> HttpResponse:
    current = current_session_id(request)
    rows = [
        {
            "handle": s.id[:HANDLE_LENGTH],  # never the whole id in a page
            "device": s.get("device", "?"),
            "times": [_pages.when(s.created_at), _pages.when(s.last_accessed), _pages.when(s.expires_at)],
            "current": s.id == current,
        }
        for s in _user_sessions(request)
    ]
    words = {
        "columns": _pages.SESSION_COLUMNS,
        "this_device": _pages.THIS_DEVICE,
        "log_out_here": _pages.LOG_OUT_HERE,
        "revoke": _pages.REVOKE,
        "revoke_others": _pages.REVOKE_OTHERS,
    }
    return render(request, "sessions.html", {"rows": rows, "title": _pages.SESSIONS_TITLE, **words})


@login_required
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    handle = request.POST.get("session", "")
    # Only the user's own sessions; a prefix matching more than one revokes nothing.
    found = [s for s in _user_sessions(request) if s.id[:HANDLE_LENGTH] == handle]
    if len(handle) != HANDLE_LENGTH or len(found) != 1:
        raise Http404("No such session.")
    if found[0].id == current_session_id(request):
        return log_out(request)
    get_store().delete(found[0])  # its next request finds no session: logged out there
    messages.success(request, _pages.revoked(1))
    return redirect("sessions")


@login_required
@require_POST
def revoke_others(request: HttpRequest) -> HttpResponse:
    count = get_store().delete_user_sessions(str(request.user.pk), except_id=current_session_id(request))
    messages.success(request, _pages.revoked(count))
    return redirect("sessions")

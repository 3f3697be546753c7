"""The store behind the engine, for what `SessionBase` has no words for: a user's sessions."""

from __future__ import annotations

from django.http import HttpRequest

from redis_sessions import AsyncSessionStore, Session, SessionStore
from redis_sessions.integrations.django import _settings
from redis_sessions.integrations.django.engine import SessionStore as EngineSessionStore


def get_store() -> SessionStore:
    """The engine's `SessionStore` (sync), built from the settings: list or revoke a user's
    sessions with ``sessions_for_user(str(user.pk))`` and ``delete_user_sessions(...)``."""
    return _settings.current().store


def get_async_store() -> AsyncSessionStore:
    """The engine's `AsyncSessionStore`, for async views."""
    return _settings.current().async_store


def current_session_id(request: HttpRequest) -> str | None:
    """The raw id of the request's session (for ``except_id``: "log out everywhere else");
    None while it has none."""
    return get_store().signer.unsign(request.session.session_key)


def get_session(request: HttpRequest) -> Session:
    """The request's session as a `redis_sessions.Session` (``id``, ``user_id``, ``expires_at``,
    ...), loaded if the request has not loaded it yet; as the ASGI and Flask `get_session`. Raises
    `LookupError` when ``request.session`` is not this engine's."""
    engine = getattr(request, "session", None)
    if not isinstance(engine, EngineSessionStore):
        raise LookupError("request.session is not redis_sessions': is SESSION_ENGINE set to it?")
    return engine._get_session()

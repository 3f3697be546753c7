"""`SessionMiddleware`: Django's own, answering 503 (never 500) while Redis is unreachable, and
reading the session cookie by the rule every integration shares."""

from __future__ import annotations

import hashlib
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse

from redis_sessions import _http
from redis_sessions.errors import BackendUnavailable
from redis_sessions.integrations.django import _legacy, _settings
from redis_sessions.integrations.django.engine import SessionStore as EngineSessionStore

_outage = _http.OutageLog()
_FAILED = "_redis_sessions_failed"  # request attribute: this request got a 503 from us


def _unavailable(request: HttpRequest, exc: BackendUnavailable) -> HttpResponse:
    _outage.failed(exc)
    setattr(request, _FAILED, True)
    response = HttpResponse(
        b"Service Unavailable: session store unreachable",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


def _session_key(request: HttpRequest) -> str | None:
    """The session key a request carries, by the cookie rule of every integration
    (`redis_sessions._http.verified_cookie`): of the values of the session cookie in the raw
    ``Cookie`` header, the first whose signature verifies (a quoted value unquoted). With
    ``FALLBACK_ENGINE`` set and no value ours, the value Django's own parsing gives (the last of
    that name), for the old engine's lookup. None when there is no usable value."""
    engine = _settings.current()
    name = settings.SESSION_COOKIE_NAME
    key = _http.verified_cookie(
        engine.store.signer, request.META.get("HTTP_COOKIE"), name, engine.store.config.observer
    )
    if key is None and engine.fallback_engine is not None:
        return request.COOKIES.get(name)
    return key


def _old_engine_for(key: str | None) -> Any:
    """The fallback engine's module when `key` is one of its sessions left to it by
    ``REDIS_SESSIONS["MIGRATE_SHARE"]`` (a gradual roll-out: only that percentage of old sessions,
    chosen by a hash of the key, moves on first use; the others stay with the old engine)."""
    engine = _settings.current()
    if key is None or engine.fallback_engine is None or engine.migrate_share >= 100:
        return None
    if engine.store.signer.unsign(key) is not None or not _legacy.plausible_key(key):
        return None  # one of ours, or not an old engine's key
    if int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100 < engine.migrate_share:
        return None
    return import_module(engine.fallback_engine)


class SessionMiddleware(DjangoSessionMiddleware):
    """Put in ``MIDDLEWARE`` in place of ``django.contrib.sessions.middleware.SessionMiddleware``.

    The same behaviour, plus:

    - a `BackendUnavailable` from a view (``request.user`` and ``request.session`` load lazily, so
      that is where an outage shows) or from saving the session becomes a 503 with ``Retry-After``
      (1 s, or what an open circuit breaker still waits) and one log line per outage, not Django's
      500 page; "session store reachable again" is logged once, when a round trip of a request's
      session gets an answer;
    - the session cookie is read as the ASGI and Flask integrations read it: the first value
      whose signature verifies, quoted or not (Django's own parsing takes the last of a name).
    """

    def process_request(self, request: HttpRequest) -> None:
        if not issubclass(self.SessionStore, EngineSessionStore):  # SESSION_ENGINE is another one
            super().process_request(request)
            return
        key = _session_key(request)
        old_engine = _old_engine_for(key)
        request.session = old_engine.SessionStore(key) if old_engine else self.SessionStore(key)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, BackendUnavailable):
            return _unavailable(request, exception)
        return None

    def process_response(self, request: HttpRequest, response: Any) -> Any:
        try:
            response = super().process_response(request, response)
        except BackendUnavailable as exc:
            return _unavailable(request, exc)
        if (
            _outage.down
            and getattr(getattr(request, "session", None), "_store_answered", False)
            and not getattr(request, _FAILED, False)
        ):
            _outage.succeeded()  # only an answer from Redis says it is back
        return response

"""`SessionMiddleware`: Django's own, answering 503 (never 500) while Redis is unreachable."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse

from redis_sessions import _http
from redis_sessions.errors import BackendUnavailable

_outage = _http.OutageLog()


def _unavailable(exc: BackendUnavailable) -> HttpResponse:
    _outage.failed(exc)
    response = HttpResponse(
        b"Service Unavailable: session store unreachable",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "1"
    return response


class SessionMiddleware(DjangoSessionMiddleware):
    """Put in ``MIDDLEWARE`` in place of ``django.contrib.sessions.middleware.SessionMiddleware``.

    The same behaviour, plus: a `BackendUnavailable` from a view (``request.user`` and
    ``request.session`` load lazily, so that is where an outage shows) or from saving the session
    becomes a 503 with ``Retry-After: 1`` and one log line per outage, not Django's 500 page.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, BackendUnavailable):
            return _unavailable(exception)
        return None

    def process_response(self, request: HttpRequest, response: Any) -> Any:
        try:
            response = super().process_response(request, response)
        except BackendUnavailable as exc:
            return _unavailable(exc)
        if _outage.down and getattr(request.session, "accessed", False):
            _outage.succeeded()
        return response

"""Views for a Django project's URLconf.

``path("healthz", redis_sessions.integrations.django.views.health)``: the store's readiness for
Kubernetes probes and load balancers.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from redis_sessions import _http
from redis_sessions.integrations.django import _settings


def health(request: HttpRequest) -> HttpResponse:
    """The engine's store's readiness (`SessionStore.health`, one round trip): 200 while it serves
    sessions, 503 while it cannot, with a small JSON body (`redis_sessions._http.readiness`:
    status, backend, latency in ms, circuit breaker state). Reads no session."""
    status, body = _http.readiness(_settings.current().store.health())
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response

"""`SessionObserver`: what a store tells metrics, tracing or logging about its work.

A store with ``SessionConfig(observer=...)`` calls its observer after every operation and at each
session event; without one it calls nothing and times nothing. The Prometheus and OpenTelemetry
exporters (`redis_sessions.metrics`) are two observers; statsd, Datadog or a log line are a subclass
away. Observers are called on the request path, from any thread or task: keep them quick, and never
let them raise (an exception would reach the caller). No call carries a session id or a user id.
"""

from __future__ import annotations

from collections.abc import Sequence

# The values each call may carry (labels: a closed set, so metrics stay bounded).
OUTCOMES = ("ok", "unavailable", "error")
DESTROY_REASONS = ("logout", "revoked", "emptied", "expired")
COOKIE_REJECTIONS = ("tampered", "unknown", "expired")


class SessionObserver:
    """Base class with a no-op for every call; override the ones you need."""

    def operation(self, name: str, outcome: str, start_ns: int, end_ns: int) -> None:
        """A store operation that needed the backend ended (one that sent nothing, such as the end
        of a request that changed nothing, is not reported unless it failed).

        `name`: the `SessionStore` method (``"get"``, ``"create"``, ``"save"``, ``"delete"``,
        ``"regenerate"``, ``"count"``...), or for the integrations' requests ``"request_start"`` and
        ``"request_end"`` (ASGI, Flask; Django's engine: ``"request_start"``, ``"save"``, ``"delete"``).
        `outcome`: one of `OUTCOMES`, ``"unavailable"`` for `BackendUnavailable`, ``"error"`` for
        another error (`SessionTooLarge`, `SerializationError`...). `start_ns` and `end_ns` are epoch
        nanoseconds (`time.time_ns`), so a tracer can place a span after the fact.
        """

    def session_created(self) -> None:
        """A new session was stored."""

    def session_regenerated(self) -> None:
        """A session moved to a fresh id (login, `regenerate`, Django's `cycle_key`)."""

    def session_destroyed(self, reason: str, count: int = 1) -> None:
        """`count` sessions ended, for `reason` (one of `DESTROY_REASONS`): ``"logout"`` (cleared
        by the app: `clear_session`, Django's `flush`), ``"revoked"`` (deleted through the store:
        `delete`, `delete_many`, `delete_user_sessions`), ``"emptied"`` (the handler removed every
        key), ``"expired"`` (found expired: by the active-session gauge's pruning)."""

    def cookie_rejected(self, reason: str) -> None:
        """A request's session cookie was not honoured (one of `COOKIE_REJECTIONS`): ``"tampered"``
        (no valid signature: forged, truncated, an unknown key, garbage), ``"unknown"`` (signed by
        us, but no such session: revoked, logged out, evicted), ``"expired"`` (the same, for a
        cookie older than the session's ``ttl``: kept past its ``Max-Age``)."""

    def backend_error(self, kind: str) -> None:
        """Redis could not serve a call: `kind` is `BackendUnavailable.kind` (``"timeout"``,
        ``"connection"``, ``"circuit open"``, ``"READONLY"``...). With the fallback on, called once
        when an outage starts."""

    def fallback_changed(self, active: bool) -> None:
        """The fallback (``on_backend_error="fallback"``) started (True) or stopped serving."""


class ObserverGroup(SessionObserver):
    """Several observers as one (say Prometheus and a log), called in order."""

    def __init__(self, observers: Sequence[SessionObserver]) -> None:
        self.observers = tuple(observers)

    def operation(self, name: str, outcome: str, start_ns: int, end_ns: int) -> None:
        for observer in self.observers:
            observer.operation(name, outcome, start_ns, end_ns)

    def session_created(self) -> None:
        for observer in self.observers:
            observer.session_created()

    def session_regenerated(self) -> None:
        for observer in self.observers:
            observer.session_regenerated()

    def session_destroyed(self, reason: str, count: int = 1) -> None:
        for observer in self.observers:
            observer.session_destroyed(reason, count)

    def cookie_rejected(self, reason: str) -> None:
        for observer in self.observers:
            observer.cookie_rejected(reason)

    def backend_error(self, kind: str) -> None:
        for observer in self.observers:
            observer.backend_error(kind)

    def fallback_changed(self, active: bool) -> None:
        for observer in self.observers:
            observer.fallback_changed(active)

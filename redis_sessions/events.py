"""Session events through Redis pub/sub (``publish_events=True``): sessions created, regenerated and
destroyed, and a user's sessions revoked, for every process of an app to react to (close a logged-out
user's WebSockets, drop a cache).

The store publishes each event on the channel ``<key_prefix>events`` with the write that causes it,
in the same round trip (a request that writes nothing publishes nothing). No keyspace notifications:
managed Redis services refuse the ``CONFIG SET`` they need. Pub/sub delivers at most once: a
subscriber that is disconnected (a restart, a failover) misses what was published meanwhile, so treat
events as prompts to act, not as a log. An event is published with its write, before Redis says
whether that write succeeded, so a write refused because its session was deleted meanwhile can still
publish one: act on events in ways that are harmless when the session is already gone.

Events name sessions by handle (`redis_sessions.session_handle`), never by id: a subscriber learns
nothing it could use as a cookie.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

EVENT_TYPES = ("created", "regenerated", "destroyed", "user_revoked")


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One event.

    - `type`: ``"created"``, ``"regenerated"`` (moved to a fresh id: login, `regenerate`, Django's
      `cycle_key`), ``"destroyed"`` or ``"user_revoked"`` (`delete_user_sessions`: "log out
      everywhere");
    - `session`: the session's handle (the new one for ``regenerated``); None for ``user_revoked``;
    - `previous`: for ``regenerated``, the handle before;
    - `user_id`: the session's user when known (always for ``user_revoked``);
    - `reason`: for ``destroyed``, as `SessionObserver.session_destroyed` names it (``logout``,
      ``revoked``, ``emptied``, ``expired``);
    - `count`: for ``user_revoked``, how many sessions were deleted; `kept`: the handle of the one
      kept (``except_id``), if any;
    - `at`: when the store published it (aware UTC).
    """

    type: str
    session: str | None = None
    previous: str | None = None
    user_id: str | None = None
    reason: str | None = None
    count: int | None = None
    kept: str | None = None
    at: datetime | None = None


def encode(event_type: str, at_ms: int, **fields: Any) -> bytes:
    """The message published for an event (compact JSON; None fields left out)."""
    body = {"type": event_type, "at": at_ms, **{k: v for k, v in fields.items() if v is not None}}
    return json.dumps(body, separators=(",", ":")).encode()


def decode(message: bytes | str) -> SessionEvent | None:
    """The event a message carries; None for a message that is not one of ours."""
    try:
        body = json.loads(message)
        event_type = body.pop("type")
        at_ms = body.pop("at")
        if event_type not in EVENT_TYPES or not isinstance(at_ms, int):
            return None
        known = {
            k: body[k] for k in ("session", "previous", "user_id", "reason", "count", "kept") if k in body
        }
        return SessionEvent(event_type, at=datetime.fromtimestamp(at_ms / 1000, timezone.utc), **known)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def __getattr__(name: str) -> Any:
    # The subscriptions need redis-py; imported on first use so this module stays light.
    if name in ("EventSubscription", "AsyncEventSubscription"):
        from redis_sessions import _subscription

        return getattr(_subscription, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The store settings every fault-test app reads from its environment (`SessionConfig.from_env`:
REDIS_URL, SESSION_SECRET_KEYS, SESSION_KEY_PREFIX, SESSION_REPLICA_ACKS, SESSION_ON_BACKEND_ERROR,
SESSION_CIRCUIT_BREAKER_*), with short timeouts, and the same settings in Flask's and Django's terms."""

from __future__ import annotations

from typing import Any

from redis_sessions import SessionConfig

# Short timeouts: a request during a switch answers 503 within about a second (WAIT's own
# replica_ack_timeout must stay below command_timeout).
CONFIG = SessionConfig.from_env(connect_timeout=0.5, command_timeout=1.0)
COOKIE = "session"  # the load clients' cookie, in every framework
_PASSED = (
    "url",
    "key_prefix",
    "connect_timeout",
    "command_timeout",
    "replica_acks",
    "replica_ack_timeout",
    "on_backend_error",
    "circuit_breaker_threshold",
    "circuit_breaker_cooldown",
)


def framework_settings() -> dict[str, Any]:
    """`CONFIG`'s fields as upper-case keys (Flask adds ``REDIS_SESSIONS_``; Django's dict has them)."""
    return {name.upper(): getattr(CONFIG, name) for name in _PASSED}


def described() -> dict[str, Any]:
    """What ``GET /ping`` answers: the settings in force, for the test to check."""
    return {"ok": True, "replica_acks": CONFIG.replica_acks, "on_backend_error": CONFIG.on_backend_error}

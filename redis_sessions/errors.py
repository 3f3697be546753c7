"""The error tree: every error this package raises derives from `SessionError`."""

from __future__ import annotations


class SessionError(Exception):
    """Base class of all redis_sessions errors."""


class ConfigError(SessionError, ValueError):
    """A setting is invalid; `field` names it (a `SessionConfig` field or environment variable)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class SessionTooLarge(SessionError):
    """The serialized session exceeds `SessionConfig.max_size`; nothing was stored."""

    def __init__(self, size: int, max_size: int) -> None:
        super().__init__(f"serialized session is {size} bytes, over max_size={max_size} bytes")
        self.size = size
        self.max_size = max_size


class SerializationError(SessionError, TypeError):
    """A value cannot be serialized (or stored data cannot be decoded); nothing was stored."""


class BackendUnavailable(SessionError, ConnectionError):
    """Redis cannot be reached (connection refused, timed out, or failing over)."""

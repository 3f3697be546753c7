"""Server-side web sessions in Redis: one session store for ASGI, Django and Flask."""

from ._ids import session_handle
from .config import SessionConfig
from .errors import (
    BackendMisconfigured,
    BackendUnavailable,
    ConfigError,
    SerializationError,
    SessionError,
    SessionTooLarge,
)
from .results import HealthReport, SessionPage
from .session import Session
from .signing import SessionIdSigner
from .store import AsyncSessionStore, SessionStore

__version__ = "0.1.0"

__all__ = [
    "AsyncSessionStore",
    "BackendMisconfigured",
    "BackendUnavailable",
    "ConfigError",
    "HealthReport",
    "SerializationError",
    "Session",
    "SessionConfig",
    "SessionError",
    "SessionIdSigner",
    "SessionPage",
    "SessionStore",
    "SessionTooLarge",
    "__version__",
    "session_handle",
]

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
    """Redis cannot answer now: unreachable, timed out, or replying "not now".

    `kind` names why: ``"connection"``, ``"timeout"``, ``"pool timeout"`` (no free connection under the
    URL's ``max_connections`` within ``connect_timeout``), ``"max clients"`` (the server's
    ``maxclients``), or the code of Redis' error reply: ``"LOADING"``, ``"READONLY"``, ``"MASTERDOWN"``,
    ``"CLUSTERDOWN"``, ``"TRYAGAIN"``, ``"BUSY"``, ``"OOM"``, ``"MISCONF"``, ``"NOREPLICAS"``, or another
    code Redis sent; ``"circuit open"`` when the circuit breaker refused the call without trying
    (`SessionConfig.circuit_breaker_threshold`). The integrations answer 503 with ``Retry-After:
    retry_after``. After a timeout or a dropped connection the command may still have been applied
    by Redis; the drivers never send it twice.
    """

    retry_after: int = 1
    """Seconds after which a client may try again (the integrations' ``Retry-After``): how long an
    open circuit breaker still refuses calls, else 1."""

    def __init__(self, message: str, kind: str = "connection") -> None:
        super().__init__(message)
        self.kind = kind


class BackendMisconfigured(BackendUnavailable):
    """Redis refuses the store's commands because of its set-up, not for now: the ACL user lacks a
    permission (`kind` ``"NOPERM"``; `command` names the refused command, lower-case, such as
    ``"evalsha"``), the credentials are wrong (``"auth"``) or the server does not know a command
    (``"unknown command"``: Redis older than 6.2), or what answers is not Redis (``"protocol"``: a TLS
    port without ``rediss://``, a proxy). A `BackendUnavailable` too, so a request still gets
    a 503; `SessionStore.health` names every missing permission.
    """

    def __init__(self, message: str, kind: str, command: str | None = None) -> None:
        super().__init__(message, kind)
        self.command = command

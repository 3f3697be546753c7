"""How redis-py's exceptions and Redis' error replies become our errors: the one table (`translate`,
over `_CLASS_CODES`, `_NOT_NOW` and `_MISCONFIGURED`)."""

from __future__ import annotations

import asyncio
import re

import redis
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    InvalidResponse,
    MasterDownError,
    MaxConnectionsError,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)

from redis_sessions._health import script_calls
from redis_sessions._plan import Call, Command, Script, Wait
from redis_sessions.errors import BackendMisconfigured, BackendUnavailable

# --- The error table ------------------------------------------------------------------------------
# Replies that mean "not now": the request gets a 503 and may succeed later.
_NOT_NOW = frozenset(
    {"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "OOM", "MISCONF", "NOREPLICAS"}
)
# Replies that mean "not with this set-up": a configuration error, still a 503 for the request.
_MISCONFIGURED = frozenset({"NOPERM", "auth", "unknown command", "protocol"})
# redis-py turns these replies into classes and strips the code from the message: the code again.
_CLASS_CODES: tuple[tuple[type[Exception], str], ...] = (
    (BusyLoadingError, "LOADING"),
    (ReadOnlyError, "READONLY"),
    (MasterDownError, "MASTERDOWN"),  # before ClusterDownError, its base
    (ClusterDownError, "CLUSTERDOWN"),
    (TryAgainError, "TRYAGAIN"),
    (OutOfMemoryError, "OOM"),
    (NoPermissionError, "NOPERM"),
    (AuthenticationError, "auth"),  # WRONGPASS, NOAUTH, invalid password
    (NoScriptError, "NOSCRIPT"),
    (InvalidResponse, "protocol"),  # not a Redis server at that address (a TLS port, an HTTP proxy)
)
# Connection-level failures, by what redis-py says; anything else unreachable is "connection".
_CONNECTION_KINDS = (
    ("max number of clients reached", "max clients"),  # the server's maxclients
    ("No connection available", "pool timeout"),  # BlockingConnectionPool waited `connect_timeout`
)
# What a round trip can raise: connection failures, and error replies to the connection handshake
# (HELLO, AUTH, SELECT, CLIENT SETNAME answered LOADING, BUSY, NOPERM...).
RAISED = (
    redis.ConnectionError,
    redis.TimeoutError,
    ResponseError,
    InvalidResponse,
    OSError,
    asyncio.TimeoutError,
)
_REFUSED = re.compile(r"'([\w|.-]+)' command")  # NOPERM ... to run the 'evalsha' command
_IN_SCRIPT = re.compile(r"-([A-Z]{3,}) ")  # Redis 6.2 wraps a script's failed call: "... -OOM command ..."


def _code(exc: BaseException) -> str:
    """The code of Redis' error reply behind `exc` (``"OOM"``, ``"BUSY"``...), or its kind."""
    for cls, code in _CLASS_CODES:
        if isinstance(exc, cls):
            return code
    text = str(exc)
    if "can't run this command" in text:  # a script's call refused by the ACL (Redis 7.0: no code)
        return "NOPERM"
    if text.startswith("unknown command"):
        return "unknown command"
    found = _IN_SCRIPT.search(text) if text.startswith("Error running script") else None
    if found:
        return found.group(1)
    word = text.split(" ", 1)[0]
    return word if word.isalpha() and word.isupper() else "ERR"  # redis-py strips a leading "ERR "


def _describe(call: Call | None) -> str:
    if isinstance(call, Script):
        calls = ", ".join(script_calls(call.name))
        return f"EVALSHA of script {call.name!r} (which calls {calls})"
    if isinstance(call, Command):
        return str(call.args[0])
    return "WAIT" if isinstance(call, Wait) else "the connection handshake"


def translate(exc: BaseException, call: Call | None = None, prefix: str = "") -> BackendUnavailable:
    """Our error for a redis-py exception or error reply (`call`: the call it answered, if any).

    Unreachable, timed out or "not now" replies give `BackendUnavailable`, configuration errors
    `BackendMisconfigured`, each with `kind` named; any other reply `BackendUnavailable` with the
    reply's code as `kind`, so the integrations answer 503, never 500. Messages carry Redis' own text,
    which names no key, value or password.
    """
    if isinstance(exc, BackendUnavailable):
        return exc
    if isinstance(exc, (redis.TimeoutError, asyncio.TimeoutError)):
        return BackendUnavailable(f"Redis unreachable (timeout): {type(exc).__name__}: {exc}", "timeout")
    code = _code(exc)
    if code == "NOPERM":
        found = _REFUSED.search(str(exc))
        command = found.group(1) if found else None
        if command is None and isinstance(call, Command):
            command = str(call.args[0]).lower()
        if "keys" in str(exc):
            hint = f"the ACL user may not use keys under the prefix: grant ~{prefix}*"
        elif found:
            hint = f"the ACL user lacks +{command}"
        else:
            hint = "the ACL user lacks a command the script calls"
        return BackendMisconfigured(
            f"Redis refused {_describe(call)} (NOPERM): {hint}; store.health() names every missing "
            f"permission. Redis said: {exc}",
            "NOPERM",
            command,
        )
    if code in _MISCONFIGURED:
        return BackendMisconfigured(f"Redis refused {_describe(call)} ({code}): {exc}", code)
    if code in _NOT_NOW or isinstance(exc, ResponseError):
        return BackendUnavailable(f"Redis answered {code} to {_describe(call)}: {exc}", code)
    if isinstance(exc, MaxConnectionsError):
        kind = "max connections"
    else:
        kind = next((k for text, k in _CONNECTION_KINDS if text in str(exc)), "connection")
    return BackendUnavailable(f"Redis unreachable ({kind}): {type(exc).__name__}: {exc}", kind)

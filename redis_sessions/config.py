"""`SessionConfig`: every setting in one frozen object, validated in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import ConfigError

Serializer = Literal["json", "msgpack"]
BackendErrorPolicy = Literal["raise", "fallback"]
SameSite = Literal["lax", "strict", "none"]

URL_SCHEMES = ("redis", "rediss", "unix", "memory")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class SessionConfig:
    """Settings of a session store and of the cookies that carry its ids.

    Times are in seconds, sizes in bytes. Construction validates every field and raises
    `ConfigError` naming the first bad one.
    """

    url: str = "memory://"
    secret_keys: Sequence[str] = field(default=())
    """Signing keys: the first signs, all verify (key rotation). Required."""
    ttl: int = 14 * 24 * 3600
    """Idle timeout in seconds; every access slides the expiry this far ahead."""
    absolute_ttl: int | None = None
    """Cap on a session's whole life in seconds, whatever its activity (OWASP's absolute timeout)."""
    key_prefix: str = "session:"
    cookie_name: str = "session"
    cookie_path: str = "/"
    cookie_domain: str | None = None
    cookie_secure: bool = False
    cookie_httponly: bool = True
    cookie_samesite: SameSite = "lax"
    max_size: int = 64 * 1024
    """Largest serialized session (keys and values) in bytes; larger saves raise `SessionTooLarge`."""
    serializer: Serializer = "json"
    on_backend_error: BackendErrorPolicy = "raise"
    connect_timeout: float = 1.0
    """Seconds to wait for a Redis connection before `BackendUnavailable`."""
    command_timeout: float = 1.0
    """Seconds to wait for a Redis reply before `BackendUnavailable`."""

    def __post_init__(self) -> None:
        keys = self.secret_keys
        if isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence):
            raise ConfigError("secret_keys", "must be a list of strings, the first one signing")
        keys = tuple(keys)
        if not keys:
            raise ConfigError("secret_keys", "at least one secret key is required")
        if not all(isinstance(k, str) and k for k in keys):
            raise ConfigError("secret_keys", "every key must be a non-empty string")
        object.__setattr__(self, "secret_keys", keys)

        scheme = urlsplit(self.url).scheme if isinstance(self.url, str) else ""
        if scheme not in URL_SCHEMES:
            raise ConfigError("url", f"scheme must be one of {', '.join(URL_SCHEMES)}: {self.url!r}")
        _positive_int("ttl", self.ttl)
        if self.absolute_ttl is not None:
            _positive_int("absolute_ttl", self.absolute_ttl)
        _positive_int("max_size", self.max_size)
        if not isinstance(self.key_prefix, str) or "{" in self.key_prefix:
            raise ConfigError("key_prefix", "must be a string without '{' (hash tags are ours)")
        if not isinstance(self.cookie_name, str) or not self.cookie_name.isidentifier():
            raise ConfigError("cookie_name", "must be a plain token such as 'session'")
        if not isinstance(self.cookie_path, str) or not self.cookie_path.startswith("/"):
            raise ConfigError("cookie_path", "must start with '/'")
        samesite = self.cookie_samesite
        if not isinstance(samesite, str) or samesite.lower() not in ("lax", "strict", "none"):
            raise ConfigError("cookie_samesite", "must be 'lax', 'strict' or 'none'")
        object.__setattr__(self, "cookie_samesite", samesite.lower())
        if self.cookie_samesite == "none" and not self.cookie_secure:
            raise ConfigError("cookie_samesite", "'none' requires cookie_secure=True (browsers say so)")
        if self.serializer not in ("json", "msgpack"):
            raise ConfigError("serializer", "must be 'json' or 'msgpack' (pickle is never offered)")
        if self.on_backend_error == "fallback":
            raise ConfigError("on_backend_error", "'fallback' is not available yet; use 'raise'")
        if self.on_backend_error != "raise":
            raise ConfigError("on_backend_error", "must be 'raise' or 'fallback'")
        for name in ("connect_timeout", "command_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(name, "must be a positive number of seconds")

    def replace(self, **changes: Any) -> SessionConfig:
        """Return a copy with `changes` applied (and validated)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> SessionConfig:
        """Build a config from environment variables (`os.environ` unless `environ` is given).

        Reads REDIS_URL, SESSION_SECRET_KEYS (comma-separated), SESSION_TTL, SESSION_ABSOLUTE_TTL,
        SESSION_KEY_PREFIX, SESSION_MAX_SIZE, SESSION_COOKIE_NAME|PATH|DOMAIN|SECURE|HTTPONLY|SAMESITE
        and USE_REDIS_SESSIONS (false selects ``memory://``). `overrides` win over the environment.
        Raises `ConfigError` naming the variable for unparsable values.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if "REDIS_URL" in env:
            values["url"] = env["REDIS_URL"]
        if "USE_REDIS_SESSIONS" in env and not _bool("USE_REDIS_SESSIONS", env["USE_REDIS_SESSIONS"]):
            values["url"] = "memory://"
        if "SESSION_SECRET_KEYS" in env:
            values["secret_keys"] = [k.strip() for k in env["SESSION_SECRET_KEYS"].split(",") if k.strip()]
        for var, name in (("SESSION_TTL", "ttl"), ("SESSION_MAX_SIZE", "max_size")):
            if var in env:
                values[name] = _int(var, env[var])
        if "SESSION_ABSOLUTE_TTL" in env:
            raw = env["SESSION_ABSOLUTE_TTL"].strip()
            values["absolute_ttl"] = (
                None if raw.lower() in ("", "none") else _int("SESSION_ABSOLUTE_TTL", raw)
            )
        if "SESSION_KEY_PREFIX" in env:
            values["key_prefix"] = env["SESSION_KEY_PREFIX"]
        for part in ("name", "path", "domain", "samesite"):
            var = f"SESSION_COOKIE_{part.upper()}"
            if var in env:
                values[f"cookie_{part}"] = env[var] or None if part == "domain" else env[var]
        for part in ("secure", "httponly"):
            var = f"SESSION_COOKIE_{part.upper()}"
            if var in env:
                values[f"cookie_{part}"] = _bool(var, env[var])
        values.update(overrides)
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(sorted(unknown)[0], "is not a SessionConfig field")
        return cls(**values)


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(name, f"must be a positive whole number, got {value!r}")


def _int(var: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(var, f"must be a whole number, got {raw!r}") from None


def _bool(var: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(var, f"must be true or false, got {raw!r}")

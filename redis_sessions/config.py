"""`SessionConfig`: every setting in one frozen object, validated in one place.

Also `redact_url`, for printing a Redis URL without its password.
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from . import _urls

# The URL forms and their options live in `_urls` (the drivers read URLs with it); named here too.
from ._urls import TLS_URL_OPTIONS as TLS_URL_OPTIONS
from ._urls import URL_OPTIONS as URL_OPTIONS
from ._urls import URL_SCHEMES as URL_SCHEMES
from ._urls import redact_url as redact_url
from .errors import ConfigError
from .observer import SessionObserver

Serializer = Literal["json", "msgpack"]
BackendErrorPolicy = Literal["raise", "fallback"]
MigrationSource = Literal["flask-session", "starsessions"]
SameSite = Literal["lax", "strict", "none"]

logger = logging.getLogger("redis_sessions")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# redis-py's own reading of a boolean URL option (redis.connection.to_bool); others are refused.
_URL_TRUE = {"1", "t", "true", "y", "yes"}
_URL_FALSE = {"0", "f", "false", "n", "no"}
_CERT_REQS = ("none", "optional", "required")
_KEYS_HINT = "give one or more signing keys, comma-separated (the first signs, all verify)"

# RFC 6265 cookie-name = token: visible ASCII except separators.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CTL_OR_SEMICOLON = re.compile(r"[\x00-\x1f\x7f;]")
_NOT_IN_DOMAIN = re.compile(r"[\s;,\x00-\x1f\x7f]")

# Set by `SessionConfig.replace` for a copy that keeps its url: it warned when it was made.
_quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("redis_sessions_config_quiet", default=False)


class _ImplicitURL(str):
    """``memory://`` standing for "no URL was given": `setting` names where to give one."""

    setting: str


def implicit_memory_url(setting: str) -> str:
    """The url to pass when the user gave none: it is ``memory://``, and a `SessionConfig` built
    with it logs one WARNING (logger ``redis_sessions``) naming `setting` (e.g. ``REDIS_URL``),
    since an in-process store logs users out at random under several workers. An explicit
    ``memory://`` is quiet."""
    url = _ImplicitURL("memory://")
    url.setting = setting
    return url


_IMPLICIT_MEMORY = implicit_memory_url("SessionConfig.url")


@dataclass(frozen=True)
class SessionConfig:
    """Settings of a session store and of the cookies that carry its ids.

    Times are in seconds, sizes in bytes. Construction validates every field and raises
    `ConfigError` naming the first bad one; no message and no repr ever shows a secret key or
    the URL's password. Construction also logs one WARNING (logger ``redis_sessions``) when no
    URL was given (sessions then live in this process only) and when a ``rediss://`` URL turns
    certificate checks off.
    """

    url: str = _IMPLICIT_MEMORY
    """Where sessions live; default ``memory://`` (this process only). One of:

    - ``redis://[user:password@]host[:6379][/db]``, ``rediss://`` (TLS), ``unix:///run/redis.sock``;
    - Redis Cluster: ``redis+cluster://[user:password@]host1:7000,host2:7001[,...]`` or
      ``rediss+cluster://`` (TLS); start-up nodes, 6379 when a port is left out; database 0 only;
    - Redis Sentinel: ``redis+sentinel://[user:password@]host1:26379,host2:26379/service_name[/db]``
      or ``rediss+sentinel://`` (TLS to the data nodes and the sentinels); 26379 when a port is left
      out. ``user:password@`` are the data nodes' credentials; the sentinels' are the query options
      ``sentinel_username`` and ``sentinel_password``;
    - ``memory://``.

    Query options (redis-py's names): `URL_OPTIONS`, and `TLS_URL_OPTIONS` with a ``rediss``
    scheme; ``max_connections`` is per node with Cluster. IPv6 hosts go in brackets
    (``[::1]:7000``). Checked at construction (`redis_sessions._urls.parse_url`): `ConfigError`
    naming ``url``, the URL shown without its passwords."""
    secret_keys: Sequence[str] = field(default=())
    """Signing keys: the first signs, all verify (key rotation). Required."""
    ttl: int = 14 * 24 * 3600
    """Idle timeout in seconds; every access slides the expiry this far ahead."""
    absolute_ttl: int | None = None
    """Cap on a session's whole life in seconds, whatever its activity (OWASP's absolute timeout)."""
    key_prefix: str = "session:"
    cookie_name: str = "session"
    """An RFC 6265 token. ``__Host-`` names need `cookie_secure`, `cookie_path` "/" and no
    `cookie_domain`; ``__Secure-`` names need `cookie_secure` (RFC 6265bis cookie prefixes)."""
    cookie_path: str = "/"
    cookie_domain: str | None = None
    cookie_secure: bool = False
    cookie_httponly: bool = True
    cookie_samesite: SameSite = "lax"
    max_size: int = 64 * 1024
    """Largest serialized session (keys and values) in bytes; larger saves raise `SessionTooLarge`."""
    serializer: Serializer = "json"
    on_backend_error: BackendErrorPolicy = "raise"
    """What happens while Redis cannot serve (unreachable, timing out, loading, failing over):
    ``"raise"``, `BackendUnavailable` (a 503 in the integrations); ``"fallback"``, sessions this
    process served recently keep being served from memory, and what changes meanwhile is written
    back when Redis returns (`redis_sessions._drivers.fallback`). Not used with ``memory://``."""
    fallback_max_sessions: int = 10_000
    """With ``"fallback"``: sessions this process keeps for an outage (least recently used first
    out), and that it serves during one (beyond it, new sessions answer 503)."""
    fallback_max_bytes: int = 64 * 1024 * 1024
    """With ``"fallback"``: bytes of cached records, and of writes made during an outage waiting to
    be written back (beyond it, writes answer 503; reads are still served)."""
    fallback_max_staleness: float = 300.0
    """With ``"fallback"``: seconds after Redis last confirmed a session that the fallback still
    serves it; a session revoked in Redis just before an outage lives on at most this long."""
    connect_timeout: float = 1.0
    """Seconds to wait for a Redis connection before `BackendUnavailable`."""
    command_timeout: float = 1.0
    """Seconds to wait for a Redis reply before `BackendUnavailable`."""
    circuit_breaker_threshold: int = 5
    """Timeouts in a row (connecting or waiting for a reply) after which the store stops calling
    Redis for `circuit_breaker_cooldown` seconds, answering `BackendUnavailable` (``kind == "circuit
    open"``) at once instead of after a timeout; then one call probes
    (`redis_sessions._drivers.breaker`). 0 turns the circuit breaker off. Not used with
    ``memory://``."""
    circuit_breaker_cooldown: float = 2.0
    """Seconds the open circuit breaker refuses calls before it lets one probe through."""
    replica_acks: int = 0
    """Number of replicas that must confirm each create, save, regenerate and delete (Redis ``WAIT``,
    sent in the same round trip) before it counts as done; 0: none, as plain Redis. Not with
    ``memory://`` (it has no replicas)."""
    replica_ack_timeout: float = 0.5
    """Seconds ``WAIT`` waits for the `replica_acks` confirmations; positive, and less than
    `command_timeout` when `replica_acks` is set (the reply must come before the read times out)."""

    observer: SessionObserver | None = field(default=None, compare=False, repr=False)
    """Told about every operation and session event (`redis_sessions.observer`): metrics through
    `redis_sessions.metrics.PrometheusObserver` or `OpenTelemetryObserver`, or your own. None (the
    default): nothing is timed or counted."""
    track_active_sessions: bool = False
    """Keep the active-session gauge (`SessionStore.active_count`): each write, and a read at most
    once a minute per session and process, also notes the session's expiry in a sorted set, in the
    same round trip. Costs about 120 bytes of Redis memory per session."""
    publish_events: bool = False
    """Publish session events (created, regenerated, destroyed, a user's sessions revoked) on the
    Redis channel ``<key_prefix>events``, with the writes that cause them, in their round trips
    (`redis_sessions.events`; subscribe with `SessionStore.events`)."""
    migrate_from: MigrationSource | None = None
    """Move sessions of another library in, lazily: a request whose cookie is not ours but names a
    live session of ``"flask-session"`` (Flask-Session's Redis backend) or ``"starsessions"``
    (starsessions' RedisStore) in the same Redis gets that session's data under a fresh id of ours
    and our cookie, once; the old store is only read (`redis_sessions._legacy_formats`)."""
    migrate_from_prefix: str | None = None
    """The other library's key prefix (default: its own default, ``session:`` / ``starsessions.``)."""
    migrate_from_cookie: str | None = None
    """The other library's cookie name (default: `cookie_name`)."""
    migrate_pickle: bool = False
    """Also read Flask-Session values stored with pickle (before Flask-Session 0.7). Unpickling runs
    code chosen by whoever could write those keys: only for a Redis that only your app writes."""

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

        warnings = _check_url(self.url)
        _positive_int("ttl", self.ttl)
        if self.absolute_ttl is not None:
            _positive_int("absolute_ttl", self.absolute_ttl)
        _positive_int("max_size", self.max_size)
        if not isinstance(self.key_prefix, str) or "{" in self.key_prefix:
            raise ConfigError("key_prefix", "must be a string without '{' (hash tags are ours)")
        self._check_cookie()
        if self.serializer not in ("json", "msgpack"):
            raise ConfigError("serializer", "must be 'json' or 'msgpack' (pickle is never offered)")
        if self.on_backend_error not in ("raise", "fallback"):
            raise ConfigError("on_backend_error", "must be 'raise' or 'fallback'")
        for name in ("fallback_max_sessions", "fallback_max_bytes"):
            _positive_int(name, getattr(self, name))
        staleness = self.fallback_max_staleness
        if (
            isinstance(staleness, bool)
            or not isinstance(staleness, (int, float))
            or not 0 < staleness < math.inf
        ):
            raise ConfigError(
                "fallback_max_staleness", f"must be a positive number of seconds, got {staleness!r}"
            )
        for name in ("connect_timeout", "command_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(name, "must be a positive number of seconds")
        self._check_replicas()
        if self.observer is not None and not isinstance(self.observer, SessionObserver):
            raise ConfigError("observer", "must be a redis_sessions.observer.SessionObserver, or None")
        for flag in ("track_active_sessions", "publish_events", "migrate_pickle"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(flag, "must be True or False")
        self._check_migration()
        threshold, cooldown = self.circuit_breaker_threshold, self.circuit_breaker_cooldown
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ConfigError(
                "circuit_breaker_threshold", f"must be a whole number, 0 (off) or more, got {threshold!r}"
            )
        number = not isinstance(cooldown, bool) and isinstance(cooldown, (int, float))
        if not number or not math.isfinite(cooldown) or cooldown <= 0:
            raise ConfigError(
                "circuit_breaker_cooldown", f"must be a positive number of seconds, got {cooldown!r}"
            )

        if isinstance(self.url, _ImplicitURL):
            setting = self.url.setting
            object.__setattr__(self, "url", str(self.url))  # a plain str: copies are explicit
            logger.warning(
                "no Redis URL was given (%s is not set): sessions are kept in this process only, so "
                "with several worker processes or servers users are logged out at random; set %s to "
                "your redis:// URL, or to memory:// to keep sessions in the process on purpose",
                setting,
                setting,
            )
        if not _quiet.get():
            for warning in warnings:
                logger.warning("%s", warning)

    def _check_migration(self) -> None:
        if self.migrate_from not in (None, "flask-session", "starsessions"):
            raise ConfigError("migrate_from", "must be 'flask-session', 'starsessions' or None")
        for name in ("migrate_from_prefix", "migrate_from_cookie"):
            value = getattr(self, name)
            if value is not None and (self.migrate_from is None or not isinstance(value, str)):
                raise ConfigError(name, "is a string, and only used with migrate_from")
        if self.migrate_pickle:
            if self.migrate_from != "flask-session":
                raise ConfigError("migrate_pickle", "only reads Flask-Session's old values: set migrate_from")
            if not _quiet.get():
                logger.warning(
                    "migrate_pickle=True: old Flask-Session values stored with pickle are unpickled, which "
                    "runs code chosen by whoever can write those Redis keys"
                )

    def _check_replicas(self) -> None:
        acks, timeout = self.replica_acks, self.replica_ack_timeout
        if isinstance(acks, bool) or not isinstance(acks, int) or acks < 0:
            raise ConfigError("replica_acks", f"must be a whole number of replicas, 0 or more, got {acks!r}")
        # WAIT with a timeout of 0 waits for ever
        number = not isinstance(timeout, bool) and isinstance(timeout, (int, float))
        if not number or not math.isfinite(timeout) or timeout <= 0:
            raise ConfigError("replica_ack_timeout", f"must be a positive number of seconds, got {timeout!r}")
        if acks and self.url.startswith("memory:"):
            raise ConfigError("replica_acks", "memory:// has no replicas: leave replica_acks at 0")
        if acks and timeout >= self.command_timeout:
            raise ConfigError(
                "replica_ack_timeout",
                f"must be less than command_timeout ({self.command_timeout!r} s), got {timeout!r}: "
                "the reply to WAIT must come before the read times out",
            )

    def _check_cookie(self) -> None:
        name = self.cookie_name
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ConfigError(
                "cookie_name",
                f"must be a cookie name (an RFC 6265 token: letters, digits and !#$%&'*+-.^_`|~, "
                f"e.g. 'session' or '__Host-session'), got {name!r}",
            )
        path = self.cookie_path
        if not isinstance(path, str) or not path.startswith("/") or _CTL_OR_SEMICOLON.search(path):
            raise ConfigError("cookie_path", "must start with '/' and hold no ';' or control character")
        domain = self.cookie_domain
        if domain is not None and (not isinstance(domain, str) or _NOT_IN_DOMAIN.search(domain)):
            raise ConfigError("cookie_domain", "must be None or a domain name such as 'example.com'")
        samesite = self.cookie_samesite
        if not isinstance(samesite, str) or samesite.lower() not in ("lax", "strict", "none"):
            raise ConfigError("cookie_samesite", "must be 'lax', 'strict' or 'none'")
        object.__setattr__(self, "cookie_samesite", samesite.lower())
        if self.cookie_samesite == "none" and not self.cookie_secure:
            raise ConfigError("cookie_samesite", "'none' requires cookie_secure=True (browsers say so)")
        # Cookie prefixes (RFC 6265bis 4.1.3): browsers drop a cookie that breaks their rules, which
        # would lose every session silently; browsers match the prefix case-insensitively.
        prefix = next((p for p in ("__Host-", "__Secure-") if name.lower().startswith(p.lower())), None)
        if prefix is None:
            return
        why = f"for the cookie name {name!r}: browsers drop a {prefix} cookie otherwise"
        if not self.cookie_secure:
            raise ConfigError("cookie_secure", f"must be True {why}")
        if prefix == "__Host-" and path != "/":
            raise ConfigError("cookie_path", f"must be '/' (not {path!r}) {why}")
        if prefix == "__Host-" and domain:
            raise ConfigError("cookie_domain", f"must be unset (not {domain!r}) {why}")

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "url":
                text = repr(redact_url(value))
            elif f.name == "secret_keys":
                text = f"<{len(value)} secret key{'s' if len(value) != 1 else ''}>"
            else:
                text = repr(value)
            shown.append(f"{f.name}={text}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def replace(self, **changes: Any) -> SessionConfig:
        """Return a copy with `changes` applied (and validated). A copy that keeps the url logs
        no warning about it again."""
        token = _quiet.set(changes.get("url", self.url) == self.url)
        try:
            return replace(self, **changes)
        finally:
            _quiet.reset(token)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> SessionConfig:
        """Build a config from environment variables (`os.environ` unless `environ` is given).

        Reads REDIS_URL, SESSION_SECRET_KEYS (comma-separated), SESSION_TTL, SESSION_ABSOLUTE_TTL,
        SESSION_KEY_PREFIX, SESSION_MAX_SIZE, SESSION_COOKIE_NAME|PATH|DOMAIN|SECURE|HTTPONLY|SAMESITE,
        SESSION_TRACK_ACTIVE_SESSIONS, SESSION_PUBLISH_EVENTS, SESSION_MIGRATE_FROM,
        SESSION_MIGRATE_FROM_PREFIX, SESSION_MIGRATE_FROM_COOKIE, SESSION_MIGRATE_PICKLE,
        SESSION_REPLICA_ACKS, SESSION_REPLICA_ACK_TIMEOUT (seconds), SESSION_CIRCUIT_BREAKER_THRESHOLD,
        SESSION_CIRCUIT_BREAKER_COOLDOWN (seconds), SESSION_ON_BACKEND_ERROR
        and USE_REDIS_SESSIONS (false selects ``memory://``; without it or REDIS_URL, ``memory://``
        with a WARNING naming REDIS_URL). `overrides` (field names) win over the environment.
        Raises `ConfigError` whose `field` is the environment variable to fix (or the override's
        field name), never quoting a secret.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {"url": implicit_memory_url("REDIS_URL")}
        if "REDIS_URL" in env:
            values["url"] = env["REDIS_URL"]
        if "USE_REDIS_SESSIONS" in env and not _bool("USE_REDIS_SESSIONS", env["USE_REDIS_SESSIONS"]):
            values["url"] = "memory://"
        if "secret_keys" not in overrides:
            raw_keys = env.get("SESSION_SECRET_KEYS")
            if raw_keys is None:
                raise ConfigError("SESSION_SECRET_KEYS", f"is not set: {_KEYS_HINT}")
            values["secret_keys"] = [k.strip() for k in raw_keys.split(",") if k.strip()]
            if not values["secret_keys"]:
                raise ConfigError("SESSION_SECRET_KEYS", f"is empty: {_KEYS_HINT}")
        for var, name in (
            ("SESSION_TTL", "ttl"),
            ("SESSION_MAX_SIZE", "max_size"),
            ("SESSION_REPLICA_ACKS", "replica_acks"),
            ("SESSION_CIRCUIT_BREAKER_THRESHOLD", "circuit_breaker_threshold"),
        ):
            if var in env:
                values[name] = _int(var, env[var])
        for var, name in (
            ("SESSION_REPLICA_ACK_TIMEOUT", "replica_ack_timeout"),
            ("SESSION_CIRCUIT_BREAKER_COOLDOWN", "circuit_breaker_cooldown"),
        ):
            if var in env:
                values[name] = _float(var, env[var])
        if "SESSION_ABSOLUTE_TTL" in env:
            raw = env["SESSION_ABSOLUTE_TTL"].strip()
            values["absolute_ttl"] = (
                None if raw.lower() in ("", "none") else _int("SESSION_ABSOLUTE_TTL", raw)
            )
        if "SESSION_ON_BACKEND_ERROR" in env:
            values["on_backend_error"] = env["SESSION_ON_BACKEND_ERROR"]
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
        for var, name in (
            ("SESSION_TRACK_ACTIVE_SESSIONS", "track_active_sessions"),
            ("SESSION_PUBLISH_EVENTS", "publish_events"),
            ("SESSION_MIGRATE_PICKLE", "migrate_pickle"),
        ):
            if var in env:
                values[name] = _bool(var, env[var])
        for var, name in (
            ("SESSION_MIGRATE_FROM", "migrate_from"),
            ("SESSION_MIGRATE_FROM_PREFIX", "migrate_from_prefix"),
            ("SESSION_MIGRATE_FROM_COOKIE", "migrate_from_cookie"),
        ):
            if env.get(var):
                values[name] = env[var]
        values.update(overrides)
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(sorted(unknown)[0], "is not a SessionConfig field")
        try:
            return cls(**values)
        except ConfigError as exc:
            variable = ENV_VARIABLES.get(exc.field)
            if variable is None or exc.field in overrides:
                raise
            raise ConfigError(variable, error_message(exc)) from None


# SessionConfig field -> the environment variable `from_env` reads it from.
ENV_VARIABLES = {
    "url": "REDIS_URL",
    "secret_keys": "SESSION_SECRET_KEYS",
    "ttl": "SESSION_TTL",
    "absolute_ttl": "SESSION_ABSOLUTE_TTL",
    "key_prefix": "SESSION_KEY_PREFIX",
    "max_size": "SESSION_MAX_SIZE",
    "replica_acks": "SESSION_REPLICA_ACKS",
    "track_active_sessions": "SESSION_TRACK_ACTIVE_SESSIONS",
    "publish_events": "SESSION_PUBLISH_EVENTS",
    "migrate_from": "SESSION_MIGRATE_FROM",
    "migrate_from_prefix": "SESSION_MIGRATE_FROM_PREFIX",
    "migrate_from_cookie": "SESSION_MIGRATE_FROM_COOKIE",
    "migrate_pickle": "SESSION_MIGRATE_PICKLE",
    "replica_ack_timeout": "SESSION_REPLICA_ACK_TIMEOUT",
    "on_backend_error": "SESSION_ON_BACKEND_ERROR",
    "circuit_breaker_threshold": "SESSION_CIRCUIT_BREAKER_THRESHOLD",
    "circuit_breaker_cooldown": "SESSION_CIRCUIT_BREAKER_COOLDOWN",
    **{
        f"cookie_{part}": f"SESSION_COOKIE_{part.upper()}"
        for part in ("name", "path", "domain", "secure", "httponly", "samesite")
    },
}


def error_message(exc: ConfigError) -> str:
    """The message of `exc` without its ``field: `` lead, to re-raise it under another name."""
    text = str(exc)
    lead = f"{exc.field}: "
    return text[len(lead) :] if text.startswith(lead) else text


def _check_url(url: object) -> list[str]:
    """Raise `ConfigError("url", ...)` for a URL redis-py would refuse or misread later (on the
    first request, or silently: a non-numeric database is db 0 to redis-py); return the warnings
    to log. Messages show the URL redacted. The forms and the checks: `_urls.parse_url`."""
    endpoint, given = _urls.parse(url)
    if not endpoint.tls:
        return []
    return _check_tls(given, repr(redact_url(url)))


def _check_tls(given: dict[str, str], shown: str) -> list[str]:
    """Check the TLS options of a ``rediss://`` URL; warn when certificate checks are off."""
    for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
        path = given.get(name)
        if path is not None and not (os.path.isfile(path) and os.access(path, os.R_OK)):
            raise ConfigError("url", f"{name} is not a readable file: {path!r} in {shown}")
    if "ssl_ca_path" in given and not os.path.isdir(given["ssl_ca_path"]):
        raise ConfigError("url", f"ssl_ca_path is not a directory: {given['ssl_ca_path']!r} in {shown}")
    if "ssl_keyfile" in given and "ssl_certfile" not in given:
        raise ConfigError("url", f"ssl_keyfile needs ssl_certfile (the client certificate): {shown}")
    cert_reqs = given.get("ssl_cert_reqs", "required")
    if cert_reqs not in _CERT_REQS:
        raise ConfigError("url", f"ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}: {shown}")
    check_hostname = given.get("ssl_check_hostname", "true").lower()
    if check_hostname not in _URL_TRUE | _URL_FALSE:
        raise ConfigError("url", f"ssl_check_hostname must be true or false: {shown}")
    if cert_reqs == "none":
        return [
            f"TLS certificate checks are off (ssl_cert_reqs=none) for {shown}: anyone on the network "
            "path can pose as Redis and read every session; give the server's CA with ssl_ca_certs"
        ]
    if check_hostname in _URL_FALSE:
        return [
            f"TLS host name checks are off (ssl_check_hostname=false) for {shown}: any server with a "
            "certificate from a trusted CA can pose as Redis; use a certificate naming the host"
        ]
    return []


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(name, f"must be a positive whole number, got {value!r}")


def _int(var: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(var, f"must be a whole number, got {raw!r}") from None


def _float(var: str, raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ConfigError(var, f"must be a number of seconds, got {raw!r}") from None


def _bool(var: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(var, f"must be true or false, got {raw!r}")

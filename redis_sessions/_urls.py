"""Redis URLs: check one and turn it into what redis-py needs to connect (pure: no I/O).

The forms (query options: `URL_OPTIONS`; with a ``rediss`` scheme also `TLS_URL_OPTIONS`):

- ``redis://[user:password@]host[:6379][/db]``, ``rediss://`` (TLS), ``unix:///path/redis.sock[?db=N]``:
  one server, as redis-py reads them (``redis.Redis.from_url``).
- ``redis+cluster://[user:password@]host1:7000,host2:7001[,...][/][?options]`` and ``rediss+cluster://``:
  Redis Cluster; the hosts are start-up nodes (one reachable is enough, the rest is discovered), a
  host without a port gets 6379. No database: Cluster has db 0 only, so a path other than ``/`` or
  ``/0`` and a ``db`` option other than 0 are refused. ``max_connections`` applies to each node.
  Options redis-py's RedisCluster would not pass on to the nodes are refused (with redis-py 8.1:
  ``health_check_interval``, ``ssl_ca_path``, ``ssl_ciphers``, ``ssl_min_version``, ``ssl_password``).
- ``redis+sentinel://[user:password@]host1:26379,host2:26379,host3:26379/service_name[/db][?options]``
  and ``rediss+sentinel://`` (TLS to the data nodes and to the sentinels): Redis Sentinel; the form
  ``limits``, RedisVL and Prefect read. A host without a port gets 26379; ``service_name`` (the
  master's name in the sentinels' configuration) is required. ``user:password@`` are the credentials
  of the data nodes (the master); the sentinels' own are the query options ``sentinel_username`` and
  ``sentinel_password``, e.g. ``redis+sentinel://app:PW@s1,s2,s3/mymaster/0?sentinel_password=SPW``.
- ``memory://``: the in-process store.

IPv6 addresses go in brackets: ``redis+cluster://[::1]:7000,[::1]:7001``. Percent-encode ``@``, ``:``,
``/``, ``,``, ``?`` and ``#`` in a password (``urllib.parse.quote(password, safe="")``).
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import redis.asyncio.cluster
import redis.asyncio.connection
import redis.cluster
import redis.connection

from .errors import ConfigError

Kind = Literal["single", "cluster", "sentinel", "memory"]

SINGLE_SCHEMES = ("redis", "rediss", "unix")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
URL_SCHEMES = (*SINGLE_SCHEMES, *CLUSTER_SCHEMES, *SENTINEL_SCHEMES, "memory")

# Options a Redis URL's query may carry: redis-py's connection options that both of its clients
# (sync and asyncio) take and that are safe for this package. Retries (they could replay a write),
# RESP3 and decoding change what the store relies on, so they are refused.
URL_OPTIONS = frozenset(
    {
        "db",
        "username",
        "password",
        "client_name",
        "lib_name",
        "lib_version",
        "max_connections",
        "health_check_interval",
        "socket_keepalive",
        "socket_read_size",
    }
)
# TLS options (``rediss`` schemes only), passed to redis-py's SSLConnection as they are.
TLS_URL_OPTIONS = frozenset(
    {
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
        "ssl_cert_reqs",
        "ssl_check_hostname",
        "ssl_min_version",
        "ssl_ciphers",
        "ssl_include_verify_flags",
        "ssl_exclude_verify_flags",
    }
)
# The sentinels' own credentials (sentinel schemes only); the URL's user:password are the data nodes'.
SENTINEL_URL_OPTIONS = frozenset({"sentinel_username", "sentinel_password"})
# Options that are SessionConfig fields instead.
FIELD_OPTIONS = {"socket_timeout": "command_timeout", "socket_connect_timeout": "connect_timeout"}

_DEFAULT_PORT = {"cluster": 6379, "sentinel": 26379}
_SECRET_OPTION = re.compile(r"(?i)([?&;][^=&;#]*(?:password|secret|token)[^=&;#]*=)[^&;#]*")
_NOT_IN_HOST = re.compile(r"[\s/?#@\[\],\x00-\x1f\x7f]")


def redact_url(url: object) -> str:
    """`url` fit for a log line, repr or error message: the password (everything before the last
    ``@``, but a username) and any query option whose name holds ``password``, ``secret`` or
    ``token`` (``password``, ``ssl_password``, ``sentinel_password``) become ``***``.
    ``redis://app:s3cret@cache:6379/0`` gives ``redis://app:***@cache:6379/0``.
    A non-string gives its type name in angle brackets. Never raises."""
    if not isinstance(url, str):
        return f"<{type(url).__name__}>"
    scheme, sep, rest = url.partition("://")
    head = scheme + sep if sep else ""
    if not sep:
        rest = url
    userinfo, at, tail = rest.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        # A bare ``secret@host`` is a password given in the wrong place as often as a user name.
        rest = f"{user}:***@{tail}" if colon else f"***@{tail}"
    return head + _SECRET_OPTION.sub(r"\1***", rest)


def _hidden(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: "***" if "password" in k else v for k, v in kwargs.items()}


@dataclass(frozen=True, repr=False)
class Endpoint:
    """Where a URL points and how to connect there, in redis-py's terms. Its repr hides passwords.

    - `kind`: ``"single"`` (``redis://``, ``rediss://``, ``unix://``), ``"cluster"``, ``"sentinel"``
      or ``"memory"``.
    - `tls`: a ``rediss`` scheme.
    - `nodes`: ``(host, port)`` pairs: the server (single over TCP), the start-up nodes (cluster) or
      the sentinels (sentinel); empty for ``unix://`` and ``memory://``. Hosts as redis-py reads them
      (percent-decoded, lower-case, IPv6 without brackets).
    - `service`: the sentinel service (master) name; None for the other kinds.
    - `connection_kwargs`: keyword arguments for the data nodes, in the form redis-py's clients take:
      ``redis.Redis(**nodes-as-host/port, **kw)``, ``RedisCluster(startup_nodes=..., **kw)``,
      ``Sentinel(..., **kw).master_for(service)``, sync and asyncio alike. ``username``,
      ``password``, ``db`` (single and sentinel; never for cluster), ``client_name``, ... as
      redis-py's URL parser gives them; TLS is ``ssl=True`` plus the ``ssl_*`` options (not a
      ``connection_class``: Sentinel picks its own TLS class from ``ssl``, and asyncio's
      ``RedisCluster`` takes no ``connection_class``); ``unix://`` gives ``unix_socket_path``. No
      address (see `nodes`), no ``max_connections`` (see below), no timeouts (the config's).
      `pool_kwargs` gives the ``ConnectionPool`` form.
    - `sentinel_kwargs`: for ``Sentinel(nodes, sentinel_kwargs=...)``: the sentinels' credentials
      (``sentinel_username`` / ``sentinel_password`` options) and, with ``rediss+sentinel://``,
      ``ssl=True`` and the same ``ssl_*`` options as the data nodes. Empty for the other kinds. As
      it replaces redis-py's default, add the socket timeouts to it.
    - `max_connections`: the URL's ``max_connections`` or None; for cluster, per node.
    """

    kind: Kind
    tls: bool = False
    nodes: tuple[tuple[str, int], ...] = ()
    service: str | None = None
    connection_kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    sentinel_kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    max_connections: int | None = None

    def __repr__(self) -> str:
        return (
            f"Endpoint(kind={self.kind!r}, tls={self.tls!r}, nodes={self.nodes!r}, "
            f"service={self.service!r}, connection_kwargs={_hidden(self.connection_kwargs)!r}, "
            f"sentinel_kwargs={_hidden(self.sentinel_kwargs)!r}, max_connections={self.max_connections!r})"
        )

    def pool_kwargs(self, *, asyncio: bool = False) -> dict[str, Any]:
        """`connection_kwargs` in the form of redis-py's ``ConnectionPool(**kw)`` (a node's pool, sync
        or asyncio): ``ssl=True`` becomes ``connection_class=SSLConnection`` and ``unix_socket_path``
        becomes ``path`` with ``UnixDomainSocketConnection``, from ``redis.asyncio.connection`` when
        `asyncio`. Not for Sentinel (``master_for`` builds its own pool from `connection_kwargs`)."""
        kwargs = dict(self.connection_kwargs)
        module: Any = redis.asyncio.connection if asyncio else redis.connection
        if kwargs.pop("ssl", False):
            kwargs["connection_class"] = module.SSLConnection
        elif "unix_socket_path" in kwargs:
            kwargs["path"] = kwargs.pop("unix_socket_path")
            kwargs["connection_class"] = module.UnixDomainSocketConnection
        return kwargs


def parse_url(url: str) -> Endpoint:
    """Check `url` and return its `Endpoint`. See the module docstring for the forms, e.g.
    ``rediss+cluster://app:PW@10.0.0.1:7000,10.0.0.2:7000?ssl_ca_certs=/etc/redis/ca.crt`` or
    ``redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster/0``.

    Raises `ConfigError` (field ``url``, the URL shown redacted) for what redis-py would refuse or
    misread: an unknown scheme or query option, a port outside 1-65535, a database that is not a
    number (or not 0 with Cluster), no host (cluster, sentinel), a host listed twice, no service
    name (sentinel), a TLS option without a ``rediss`` scheme, an option given twice or without a
    value. Files named by TLS options are not looked at here (`SessionConfig` does that).
    """
    return parse(url)[0]


def parse(url: object) -> tuple[Endpoint, dict[str, str]]:
    """`parse_url`, plus the query options as given (percent-decoded), for the checks that need them."""
    if not isinstance(url, str):
        raise ConfigError("url", f"must be a URL such as redis://localhost:6379/0, got {redact_url(url)}")
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in URL_SCHEMES:
        raise ConfigError("url", f"scheme must be one of {', '.join(URL_SCHEMES)}: {redact_url(url)!r}")
    if scheme == "memory":
        return Endpoint("memory"), {}
    if scheme in SINGLE_SCHEMES:
        return _single(url, scheme)
    return _multi(url, scheme)


def _single(url: str, scheme: str) -> tuple[Endpoint, dict[str, str]]:
    shown = repr(redact_url(url))
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed '[' of an IPv6 address
        raise ConfigError("url", f"cannot be parsed: {shown}") from None
    if scheme != "unix" and "," in parts.netloc.rpartition("@")[2]:
        raise ConfigError(
            "url", f"lists several hosts: use redis+cluster:// or redis+sentinel:// for that: {shown}"
        )
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigError("url", f"the port must be a number from 1 to 65535: {shown}")
    if scheme == "unix" and not parts.path:
        raise ConfigError("url", f"needs the socket's path, as in unix:///run/redis.sock: {shown}")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    database = unquote(parts.path).replace("/", "") if scheme != "unix" else ""
    _check_database(next((value for name, value in pairs if name == "db"), database), shown)
    given = _options(pairs, scheme, shown)
    kwargs = _redis_py(url, shown)
    max_connections = kwargs.pop("max_connections", None)
    kwargs.pop("connection_class", None)
    nodes: tuple[tuple[str, int], ...] = ()
    if scheme == "unix":
        kwargs["unix_socket_path"] = kwargs.pop("path")
    else:
        nodes = ((kwargs.pop("host", "localhost"), kwargs.pop("port", 6379)),)
    if scheme == "rediss":
        kwargs["ssl"] = True
    endpoint = Endpoint(
        "single", scheme == "rediss", nodes, None, MappingProxyType(kwargs), max_connections=max_connections
    )
    return endpoint, given


def _multi(url: str, scheme: str) -> tuple[Endpoint, dict[str, str]]:
    shown = repr(redact_url(url))
    kind: Kind = "cluster" if scheme in CLUSTER_SCHEMES else "sentinel"
    tls = scheme.startswith("rediss+")
    rest = url[len(scheme) + 3 :]
    if "#" in rest:
        raise ConfigError("url", f"holds a '#': percent-encode it as %23 (in a password, say): {shown}")
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    userinfo, at, hostlist = netloc.rpartition("@")
    path, _, query = tail.partition("?")
    nodes = _nodes(hostlist, kind, scheme, shown)

    pairs = parse_qsl(query, keep_blank_values=True)
    service: str | None = None
    database = next((value for name, value in pairs if name == "db"), None)
    if kind == "cluster":
        if path not in ("", "/", "/0") or database not in (None, "0"):
            raise ConfigError(
                "url", f"Redis Cluster has database 0 only: give no /db path and no db option: {shown}"
            )
        db_path = ""
    else:
        segments = path[1:].split("/") if path else []
        if len(segments) > 1 and segments[-1] == "":
            segments.pop()  # a trailing '/'
        service = unquote(segments[0]) if segments else ""
        if not service.strip() or len(segments) > 2:
            raise ConfigError(
                "url",
                f"needs the service name (the master's name in the sentinels' configuration) and "
                f"optionally the database, as in {scheme}://host1:26379,host2:26379/mymaster/0: {shown}",
            )
        db_path = segments[1] if len(segments) == 2 else ""
        _check_database(database if database is not None else unquote(db_path), shown)
    given = _options(pairs, scheme, shown)
    for name in given:
        if kind == "cluster" and name not in _cluster_options():
            raise ConfigError(
                "url",
                f"{name!r} cannot be used with Redis Cluster: redis-py {redis.__version__}'s "
                f"RedisCluster (sync or asyncio) does not pass it on to the nodes: {shown}",
            )
        if kind == "sentinel" and name in TLS_URL_OPTIONS and name not in _sentinel_options():
            raise ConfigError(
                "url",
                f"{name!r} cannot be used with Redis Sentinel: redis-py {redis.__version__}'s "
                f"Redis client (sync or asyncio) does not take it for the sentinels: {shown}",
            )

    # The credentials, database and options read by redis-py's own parser, as for one server; the
    # query is passed on as written (redis-py decodes it), without the sentinel options.
    kept = "&".join(p for p in query.split("&") if unquote(p.partition("=")[0]) not in SENTINEL_URL_OPTIONS)
    single = f"{'rediss' if tls else 'redis'}://{userinfo}{at}localhost/{db_path}"
    kwargs = _redis_py(f"{single}?{kept}" if kept else single, shown)
    for name in ("host", "port", "connection_class"):
        kwargs.pop(name, None)
    max_connections = kwargs.pop("max_connections", None)
    if kind == "cluster":
        kwargs.pop("db", None)
    sentinel: dict[str, Any] = {}
    if kind == "sentinel":
        for name in ("username", "password"):
            if f"sentinel_{name}" in given:
                sentinel[name] = given[f"sentinel_{name}"]
        if "socket_keepalive" in kwargs:
            sentinel["socket_keepalive"] = kwargs["socket_keepalive"]
    if tls:
        kwargs["ssl"] = True
        if kind == "sentinel":
            sentinel.update({k: v for k, v in kwargs.items() if k.startswith("ssl")})
    endpoint = Endpoint(
        kind,
        tls,
        nodes,
        service,
        MappingProxyType(kwargs),
        MappingProxyType(sentinel),
        max_connections,
    )
    return endpoint, given


def _nodes(hostlist: str, kind: Kind, scheme: str, shown: str) -> tuple[tuple[str, int], ...]:
    if not hostlist:
        example = "host1:7000,host2:7001" if kind == "cluster" else "host1:26379,host2:26379/mymaster"
        raise ConfigError("url", f"needs at least one host, as in {scheme}://{example}: {shown}")
    nodes: list[tuple[str, int]] = []
    for entry in hostlist.split(","):
        node = _node(entry, _DEFAULT_PORT[kind], shown)
        if node in nodes:
            raise ConfigError("url", f"lists {entry!r} twice: {shown}")
        nodes.append(node)
    return tuple(nodes)


def _node(entry: str, default_port: int, shown: str) -> tuple[str, int]:
    """``host[:port]`` or ``[ipv6][:port]`` of a host list, read as redis-py reads one URL's host."""
    port_text: str | None
    if entry.startswith("["):
        address, bracket, after = entry[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ConfigError("url", f"cannot read the host {entry!r}: {shown}")
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            raise ConfigError("url", f"{address!r} in brackets is not an IPv6 address: {shown}") from None
        host, port_text = address, (after[1:] if after else None)
    else:
        host, colon, port_text = entry.partition(":")
        if ":" in port_text:
            raise ConfigError("url", f"an IPv6 address goes in brackets, as in [::1]:7000: {shown}")
        port_text = port_text if colon else None
        host = unquote(host)
        if not entry:
            raise ConfigError("url", f"an empty entry in the host list (a stray ','): {shown}")
        if not host:
            raise ConfigError("url", f"no host in {entry!r}: {shown}")
        if _NOT_IN_HOST.search(host):
            raise ConfigError("url", f"{host!r} is not a host name: {shown}")
    if port_text is None:
        return host.lower(), default_port
    if not (port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise ConfigError("url", f"the port must be a number from 1 to 65535: {shown}")
    return host.lower(), int(port_text)


@functools.cache
def _cluster_options() -> frozenset[str]:
    """The options both of redis-py's RedisCluster clients pass on to the nodes: the sync one drops
    a key it does not know (``redis.cluster.cleanup_kwargs``), the asyncio one refuses it."""
    sync = set(redis.cluster.REDIS_ALLOWED_KEYS) - set(redis.cluster.KWARGS_DISABLED_KEYS)
    asyncio = set(inspect.signature(redis.asyncio.cluster.RedisCluster.__init__).parameters)
    return frozenset(sync & asyncio)


@functools.cache
def _sentinel_options() -> frozenset[str]:
    """The options both of redis-py's Redis clients take: those of the sentinels (`sentinel_kwargs`)."""
    sync = set(inspect.signature(redis.Redis.__init__).parameters)
    return frozenset(sync & set(inspect.signature(redis.asyncio.Redis.__init__).parameters))


def _check_database(database: str, shown: str) -> None:
    if database and not (database.isascii() and database.isdigit()):
        raise ConfigError("url", f"the database must be a number, as in redis://host:6379/0: {shown}")


def _options(pairs: list[tuple[str, str]], scheme: str, shown: str) -> dict[str, str]:
    """The query options, checked against the allow-lists of `scheme`."""
    tls = scheme.startswith("rediss")
    sentinel = scheme in SENTINEL_SCHEMES
    given: dict[str, str] = {}
    for name, value in pairs:
        if name in FIELD_OPTIONS:
            raise ConfigError("url", f"set SessionConfig.{FIELD_OPTIONS[name]} instead of {name!r}: {shown}")
        if name in TLS_URL_OPTIONS and not tls:
            tls_scheme = scheme.replace("redis", "rediss", 1) if "+" in scheme else "rediss"
            raise ConfigError("url", f"{name!r} is a TLS option: it needs a {tls_scheme}:// URL: {shown}")
        if name in SENTINEL_URL_OPTIONS and not sentinel:
            raise ConfigError(
                "url", f"{name!r} is for redis+sentinel:// and rediss+sentinel:// URLs only: {shown}"
            )
        if name not in URL_OPTIONS | TLS_URL_OPTIONS | SENTINEL_URL_OPTIONS:
            raise ConfigError("url", f"unknown query option {name!r} (see SessionConfig.url): {shown}")
        if not value:  # redis-py would skip it: a template's unset variable, most likely
            raise ConfigError("url", f"query option {name!r} has no value: {shown}")
        if name in given:  # redis-py reads the first; a check of the last would be misleading
            raise ConfigError("url", f"query option {name!r} is given twice: {shown}")
        given[name] = value
    return given


def _redis_py(url: str, shown: str) -> dict[str, Any]:
    """redis-py's own reading of a one-server URL, with its value checks."""
    try:
        kwargs: dict[str, Any] = redis.connection.parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        raise ConfigError("url", f"{str(exc).rstrip('.')}: {shown}") from None
    return kwargs

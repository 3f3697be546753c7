"""Redis Cluster and Sentinel URLs (``redis+cluster://``, ``redis+sentinel://`` and their ``rediss+``
TLS forms): accepted or refused at construction with ConfigError("url", ...) showing the URL
redacted, and parsed (`redis_sessions._urls.parse_url`) into the keyword arguments redis-py's
clients take, the sentinels' credentials apart from the data nodes'."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel

from redis_sessions import ConfigError, SessionConfig
from redis_sessions._urls import TLS_URL_OPTIONS, URL_OPTIONS, Endpoint, parse_url
from redis_sessions.config import redact_url

PASSWORD = "data-Pa55"
SENTINEL_PASSWORD = "sentinel-Pa55"


def make(url: str) -> SessionConfig:
    return SessionConfig(url=url, secret_keys=["k"])


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, Path]:
    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    for path in files.values():
        path.write_text("-----BEGIN CERTIFICATE-----\n")
    return files


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://h1:7000",
        "redis+cluster://h1:7000,h2:7001,h3:7002",
        "redis+cluster://h1:7000,h2:7001/",
        "redis+cluster://h1:7000,h2:7001/0",
        "redis+cluster://h1,h2",  # 6379
        "redis+cluster://app:pw@h1:7000,h2:7001?max_connections=20&client_name=web",
        "redis+cluster://h1:7000?db=0",
        "redis+cluster://[::1]:7000,[::1]:7001",
        "redis+cluster://[2001:db8::1],10.0.0.2:7000",
        "rediss+cluster://h1:7000,h2:7001?ssl_cert_reqs=required&client_name=web",
        "redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster",
        "redis+sentinel://s1,s2,s3/mymaster/2",  # 26379
        "redis+sentinel://s1/mymaster/",
        "redis+sentinel://s1/mymaster/2/",
        "redis+sentinel://app:pw@s1,s2/mymaster?sentinel_username=sent&sentinel_password=spw",
        "redis+sentinel://s1/mymaster?sentinel_password=spw&db=3&max_connections=5",
        "redis+sentinel://[::1]:26379,[::1]:26380/mymaster/0",
        "rediss+sentinel://s1,s2/mymaster?ssl_cert_reqs=required&sentinel_password=spw",
    ],
)
def test_accepted(url: str) -> None:
    assert make(url).url == url


def test_tls_files_that_exist_are_accepted(pem: dict[str, Path]) -> None:
    query = f"?ssl_ca_certs={pem['ca']}&ssl_certfile={pem['cert']}&ssl_keyfile={pem['key']}"
    for url in (f"rediss+cluster://h1:7000{query}", f"rediss+sentinel://s1/mymaster{query}"):
        assert make(url).url == url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("redis+cluster://", "needs at least one host, as in redis+cluster://host1:7000,host2:7001"),
        ("redis+cluster:///0", "needs at least one host"),
        (f"redis+cluster://:{PASSWORD}@", "needs at least one host"),
        ("redis+sentinel:///mymaster", "needs at least one host"),
        ("redis+cluster://h1,,h2", "an empty entry in the host list"),
        ("redis+cluster://h1,", "an empty entry in the host list"),
        ("redis+cluster://:7000", "no host in ':7000'"),
        ("redis+cluster://h1:0", "the port must be a number from 1 to 65535"),
        ("redis+cluster://h1:7000,h2:65536", "the port must be a number from 1 to 65535"),
        ("redis+cluster://h1:-1", "the port must be a number from 1 to 65535"),
        ("redis+cluster://h1:", "the port must be a number from 1 to 65535"),
        ("redis+cluster://h1:port", "the port must be a number from 1 to 65535"),
        ("redis+cluster://h1:\u0667000", "the port must be a number from 1 to 65535"),
        ("redis+sentinel://s1:99999/mymaster", "the port must be a number from 1 to 65535"),
        ("redis+cluster://h1:7000,h1:7000", "lists 'h1:7000' twice"),
        ("redis+cluster://h1,H1:6379", "lists 'H1:6379' twice"),  # the same node: 6379 is the default
        ("redis+cluster://::1:7000", "an IPv6 address goes in brackets, as in [::1]:7000"),
        ("redis+cluster://[::1:7000", "cannot read the host"),
        ("redis+cluster://[::1]x:7000", "cannot read the host"),
        ("redis+cluster://[cache]:7000", "in brackets is not an IPv6 address"),
        ("redis+cluster://h 1:7000", "is not a host name"),
        ("redis+cluster://h1:7000/1", "Redis Cluster has database 0 only"),
        ("redis+cluster://h1:7000/sessions", "Redis Cluster has database 0 only"),
        ("redis+cluster://h1:7000?db=1", "Redis Cluster has database 0 only"),
        ("redis+sentinel://s1:26379", "needs the service name"),
        ("redis+sentinel://s1:26379/", "needs the service name"),
        ("redis+sentinel://s1:26379//0", "needs the service name"),
        ("redis+sentinel://s1/mymaster/0/1", "needs the service name"),
        ("redis+sentinel://s1/mymaster/zero", "the database must be a number"),
        ("redis+sentinel://s1/mymaster?db=-1", "the database must be a number"),
        ("redis+cluster://h1?sentinel_password=x", "'sentinel_password' is for redis+sentinel://"),
        ("rediss://cache/0?sentinel_username=x", "'sentinel_username' is for redis+sentinel://"),
        (
            "redis+cluster://h1?ssl_cert_reqs=required",
            "'ssl_cert_reqs' is a TLS option: it needs a rediss+cluster://",
        ),
        ("redis+sentinel://s1/m?ssl_ca_certs=/etc/hostname", "it needs a rediss+sentinel:// URL"),
        ("redis+cluster://h1?no_such_option=1", "unknown query option 'no_such_option'"),
        ("redis+sentinel://s1/m?service_name=m", "unknown query option 'service_name'"),
        ("redis+cluster://h1?retry_on_timeout=true", "unknown query option"),  # would replay writes
        ("redis+cluster://h1?socket_timeout=5", "set SessionConfig.command_timeout"),
        ("redis+sentinel://s1/m?sentinel_password=", "query option 'sentinel_password' has no value"),
        ("redis+cluster://h1?client_name=a&client_name=b", "query option 'client_name' is given twice"),
        ("redis://cache/0?db=1&db=2", "query option 'db' is given twice"),  # redis-py reads the first
        ("redis+cluster://h1?max_connections=many", "max_connections"),
        ("rediss+cluster://h1?ssl_cert_reqs=NONE", "ssl_cert_reqs must be one of none, optional, required"),
        ("rediss+sentinel://s1/m?ssl_check_hostname=off", "ssl_check_hostname must be true or false"),
        ("rediss+cluster://h1?ssl_ca_certs=/no/such/ca.pem", "ssl_ca_certs is not a readable file"),
        ("rediss+sentinel://s1/m?ssl_certfile=/no/such.pem", "ssl_certfile is not a readable file"),
        (f"redis+cluster://:{PASSWORD}@h1#x", "percent-encode it as %23"),
        ("redis://h1:7000,h2:7001/0", "lists several hosts: use redis+cluster:// or redis+sentinel://"),
        ("redis+Cluster://h1:7000", "scheme"),
        ("redis-cluster://h1:7000", "scheme"),
        ("sentinel://s1/mymaster", "scheme"),
    ],
)
def test_refused_at_construction(url: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        make(url)
    assert raised.value.field == "url"
    assert words in str(raised.value)
    assert str(raised.value).endswith(repr(redact_url(url))) or "scheme" in words
    assert PASSWORD not in str(raised.value)


def test_the_scheme_error_lists_the_new_schemes() -> None:
    with pytest.raises(
        ConfigError, match="redis\\+cluster, rediss\\+cluster, redis\\+sentinel, rediss\\+sentinel"
    ):
        make("cluster://h1:7000")


def test_cluster_parse() -> None:
    endpoint = parse_url(
        f"redis+cluster://app:{PASSWORD.replace('-', '%2D')}@Cache-1:7000,cache-2,[::1]:7001,[2001:DB8::1]/"
        "?max_connections=20&client_name=web&socket_keepalive=true"
    )
    assert endpoint.kind == "cluster"
    assert not endpoint.tls
    assert endpoint.nodes == (("cache-1", 7000), ("cache-2", 6379), ("::1", 7001), ("2001:db8::1", 6379))
    assert endpoint.service is None
    assert dict(endpoint.connection_kwargs) == {
        "username": "app",
        "password": PASSWORD,
        "client_name": "web",
        "socket_keepalive": True,
    }
    assert "db" not in endpoint.connection_kwargs  # Cluster has db 0 only: no SELECT
    assert endpoint.max_connections == 20  # per node
    assert endpoint.sentinel_kwargs == {}


def test_cluster_db_zero_is_not_passed_on() -> None:
    assert "db" not in parse_url("redis+cluster://h1/0?db=0").connection_kwargs


def test_sentinel_parse_keeps_the_sentinels_credentials_apart() -> None:
    endpoint = parse_url(
        f"redis+sentinel://app:{PASSWORD}@s1:26379,S2,[::1]:26380/my%2Dmaster/3"
        f"?sentinel_username=sent&sentinel_password={SENTINEL_PASSWORD}&max_connections=7"
    )
    assert endpoint.kind == "sentinel"
    assert endpoint.nodes == (("s1", 26379), ("s2", 26379), ("::1", 26380))
    assert endpoint.service == "my-master"
    assert dict(endpoint.connection_kwargs) == {"username": "app", "password": PASSWORD, "db": 3}
    assert dict(endpoint.sentinel_kwargs) == {"username": "sent", "password": SENTINEL_PASSWORD}
    assert endpoint.max_connections == 7


def test_sentinel_without_sentinel_credentials_sends_the_sentinels_none() -> None:
    endpoint = parse_url(f"redis+sentinel://:{PASSWORD}@s1/mymaster")
    assert dict(endpoint.connection_kwargs) == {"password": PASSWORD}
    assert endpoint.sentinel_kwargs == {}  # the data nodes' password is not sent to the sentinels


def test_the_db_option_wins_over_the_path_as_in_redis_py() -> None:
    assert parse_url("redis+sentinel://s1/mymaster/1?db=2").connection_kwargs["db"] == 2
    assert parse_url("redis://cache/1?db=2").connection_kwargs["db"] == 2


def test_tls_kwargs() -> None:
    cluster = parse_url(f"rediss+cluster://:{PASSWORD}@h1:7000?ssl_cert_reqs=optional&client_name=web")
    assert cluster.tls
    assert dict(cluster.connection_kwargs) == {
        "password": PASSWORD,
        "ssl": True,
        "ssl_cert_reqs": "optional",
        "client_name": "web",
    }
    query = "?ssl_cert_reqs=optional&ssl_check_hostname=false&ssl_ciphers=ECDHE&health_check_interval=3"
    sentinel = parse_url(
        f"rediss+sentinel://:{PASSWORD}@s1/mymaster{query}&sentinel_password={SENTINEL_PASSWORD}"
    )
    assert sentinel.tls
    assert dict(sentinel.connection_kwargs) == {
        "password": PASSWORD,
        "ssl": True,  # not a connection_class: Sentinel picks its own TLS class from ssl
        "ssl_cert_reqs": "optional",
        "ssl_check_hostname": False,  # redis-py's reading of the value
        "ssl_ciphers": "ECDHE",
        "health_check_interval": 3,
    }
    assert dict(sentinel.sentinel_kwargs) == {  # TLS to the sentinels too, with their own password
        "password": SENTINEL_PASSWORD,
        "ssl": True,
        "ssl_cert_reqs": "optional",
        "ssl_check_hostname": False,
        "ssl_ciphers": "ECDHE",
    }


VALID = {
    "db": "0",
    "ssl_cert_reqs": "required",
    "ssl_check_hostname": "true",
    "socket_keepalive": "true",
    "ssl_include_verify_flags": "VERIFY_X509_STRICT",
    "ssl_exclude_verify_flags": "VERIFY_X509_STRICT",
    "ssl_min_version": "771",
}


@pytest.mark.parametrize("option", sorted(URL_OPTIONS | TLS_URL_OPTIONS))
def test_a_cluster_option_reaches_the_nodes_with_both_redis_py_clients_or_is_refused(option: str) -> None:
    """redis-py's sync RedisCluster silently drops a connection option it does not know (with 5.0.8,
    ssl_check_hostname: host names unchecked); the asyncio one raises TypeError at first use."""
    url = f"rediss+cluster://h1:7000?{option}={VALID.get(option, '1')}"
    sync_keeps = option in redis.cluster.cleanup_kwargs(**{option: 1})  # type: ignore[no-untyped-call]
    async_takes = option in inspect.signature(redis.asyncio.cluster.RedisCluster.__init__).parameters
    if sync_keeps and async_takes:
        endpoint = parse_url(url)
        assert option in endpoint.connection_kwargs or option in ("db", "max_connections")
    else:
        with pytest.raises(ConfigError, match=f"'{option}' cannot be used with Redis Cluster"):
            parse_url(url)


@pytest.mark.parametrize("option", sorted(TLS_URL_OPTIONS))
def test_a_sentinel_tls_option_is_taken_by_both_redis_py_clients_or_refused(option: str) -> None:
    url = f"rediss+sentinel://s1/mymaster?{option}={VALID.get(option, '1')}"
    sync_takes = option in inspect.signature(redis.Redis.__init__).parameters
    async_takes = option in inspect.signature(redis.asyncio.Redis.__init__).parameters
    if sync_takes and async_takes:
        assert option in parse_url(url).sentinel_kwargs
    else:
        with pytest.raises(ConfigError, match=f"'{option}' cannot be used with Redis Sentinel"):
            parse_url(url)


def test_cluster_refuses_what_redis_py_drops() -> None:
    # health_check_interval: not in redis.cluster.REDIS_ALLOWED_KEYS up to 8.1 at least
    with pytest.raises(ConfigError, match="'health_check_interval' cannot be used with Redis Cluster"):
        make("redis+cluster://h1:7000?health_check_interval=5")
    # ssl_ca_path: not a parameter of redis.asyncio.cluster.RedisCluster
    with pytest.raises(ConfigError, match="'ssl_ca_path' cannot be used with Redis Cluster"):
        parse_url("rediss+cluster://h1:7000?ssl_ca_path=/etc/ssl/certs")


def test_tls_checks_turned_off_warn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="redis_sessions")
    make(
        f"rediss+sentinel://:{PASSWORD}@s1/mymaster?ssl_cert_reqs=none&sentinel_password={SENTINEL_PASSWORD}"
    )
    (record,) = caplog.records
    assert "ssl_cert_reqs=none" in record.getMessage()
    assert PASSWORD not in caplog.text
    assert SENTINEL_PASSWORD not in caplog.text
    caplog.clear()
    make("rediss+cluster://h1:7000?ssl_cert_reqs=none")
    assert "ssl_cert_reqs=none" in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"redis+sentinel://app:{PASSWORD}@s1:26379,s2:26379/mymaster"
            f"?sentinel_username=sent&sentinel_password={SENTINEL_PASSWORD}",
            "redis+sentinel://app:***@s1:26379,s2:26379/mymaster?sentinel_username=sent&sentinel_password=***",
        ),
        (
            f"rediss+sentinel://s1/m?sentinel_password={SENTINEL_PASSWORD}&ssl_password={PASSWORD}",
            "rediss+sentinel://s1/m?sentinel_password=***&ssl_password=***",
        ),
        (f"rediss+cluster://:{PASSWORD}@[::1]:7000,h2:7001", "rediss+cluster://:***@[::1]:7000,h2:7001"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    with pytest.raises(ConfigError) as raised:
        make(url + "&nope=1" if "?" in url else url + "?nope=1")
    assert shown in str(raised.value)


def test_endpoint_repr_hides_every_password() -> None:
    sentinel = parse_url(f"redis+sentinel://app:{PASSWORD}@s1/mymaster?sentinel_password={SENTINEL_PASSWORD}")
    single = parse_url(f"rediss://app:{PASSWORD}@cache/0?ssl_password={SENTINEL_PASSWORD}")
    assert sentinel.connection_kwargs["password"] == PASSWORD
    assert sentinel.sentinel_kwargs["password"] == SENTINEL_PASSWORD
    for endpoint in (sentinel, single):
        for text in (repr(endpoint), str(endpoint), f"{endpoint}", repr([endpoint])):
            assert PASSWORD not in text
            assert SENTINEL_PASSWORD not in text
            assert "'password': '***'" in text
            assert "'username': 'app'" in text
    assert "'ssl_password': '***'" in repr(single)
    assert "sentinel_kwargs={'password': '***'}" in repr(sentinel)


def test_endpoint_kwargs_cannot_be_changed_by_a_caller() -> None:
    endpoint = parse_url("redis+cluster://h1")
    with pytest.raises(TypeError):
        endpoint.connection_kwargs["db"] = 1  # type: ignore[index]


def test_single_and_memory_urls_parse_too() -> None:
    single = parse_url(f"rediss://app:{PASSWORD}@Cache:6380/2?max_connections=4")
    assert (single.kind, single.tls, single.nodes, single.max_connections) == (
        "single",
        True,
        (("cache", 6380),),
        4,
    )
    assert dict(single.connection_kwargs) == {"username": "app", "password": PASSWORD, "db": 2, "ssl": True}
    assert parse_url("redis:///0").nodes == (("localhost", 6379),)
    unix = parse_url("unix:///run/redis.sock?db=1")
    assert (unix.kind, unix.nodes) == ("single", ())
    assert dict(unix.connection_kwargs) == {"unix_socket_path": "/run/redis.sock", "db": 1}
    assert parse_url("memory://") == Endpoint("memory")


def test_pool_kwargs_name_the_connection_class() -> None:
    tls = parse_url("rediss+cluster://h1?ssl_cert_reqs=required")
    assert tls.pool_kwargs()["connection_class"] is redis.connection.SSLConnection
    assert tls.pool_kwargs(asyncio=True)["connection_class"] is redis.asyncio.connection.SSLConnection
    assert "ssl" not in tls.pool_kwargs()
    unix = parse_url("unix:///run/redis.sock").pool_kwargs(asyncio=True)
    assert unix == {
        "path": "/run/redis.sock",
        "connection_class": redis.asyncio.connection.UnixDomainSocketConnection,
    }
    assert parse_url("redis+cluster://h1?client_name=w").pool_kwargs() == {"client_name": "w"}


# redis-py's clients take the kwargs as they are (built only: nothing here connects).
TLS_QUERY = "?ssl_cert_reqs=required&ssl_ca_certs={ca}&client_name=web"


def test_redis_py_sentinel_clients_take_the_kwargs(pem: dict[str, Path]) -> None:
    endpoint = parse_url(
        f"rediss+sentinel://app:{PASSWORD}@s1,s2/mymaster/1{TLS_QUERY.format(ca=pem['ca'])}"
        f"&sentinel_password={SENTINEL_PASSWORD}"
    )
    sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        endpoint.nodes, sentinel_kwargs=dict(endpoint.sentinel_kwargs), **endpoint.connection_kwargs
    )
    assert sentinel.sentinels[0].connection_pool.connection_class is redis.connection.SSLConnection
    assert sentinel.sentinels[0].connection_pool.connection_kwargs["password"] == SENTINEL_PASSWORD
    assert endpoint.service is not None
    pool = sentinel.master_for(endpoint.service).connection_pool  # type: ignore[no-untyped-call]
    # not a plain SSLConnection, which would skip asking the sentinels for the master
    assert pool.connection_class is redis.sentinel.SentinelManagedSSLConnection
    assert pool.connection_kwargs["password"] == PASSWORD
    assert pool.connection_kwargs["db"] == 1
    asentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        endpoint.nodes, sentinel_kwargs=dict(endpoint.sentinel_kwargs), **endpoint.connection_kwargs
    )
    apool = asentinel.master_for(endpoint.service).connection_pool
    assert apool.connection_class is redis.asyncio.sentinel.SentinelManagedSSLConnection


def test_redis_py_cluster_and_pool_take_the_kwargs(pem: dict[str, Path]) -> None:
    endpoint = parse_url(f"rediss+cluster://app:{PASSWORD}@h1:7000,h2{TLS_QUERY.format(ca=pem['ca'])}")
    nodes = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in endpoint.nodes]
    client = redis.asyncio.cluster.RedisCluster(startup_nodes=nodes, **endpoint.connection_kwargs)
    assert client.connection_kwargs["connection_class"] is redis.asyncio.connection.SSLConnection
    for asyncio in (False, True):
        module = redis.asyncio.connection if asyncio else redis.connection
        kwargs = endpoint.pool_kwargs(asyncio=asyncio)
        connection = kwargs.pop("connection_class")(host="h1", port=7000, **kwargs)
        assert isinstance(connection, module.SSLConnection)
        assert connection.password == PASSWORD


def test_from_env_names_redis_url() -> None:
    with pytest.raises(ConfigError) as raised:
        SessionConfig.from_env({"SESSION_SECRET_KEYS": "k", "REDIS_URL": f"redis+cluster://:{PASSWORD}@h1/1"})
    assert raised.value.field == "REDIS_URL"
    assert PASSWORD not in str(raised.value)

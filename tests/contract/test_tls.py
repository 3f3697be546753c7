"""``rediss://`` for real: a TLS-only redis-server that requires a client certificate and a password,
reached by both stores with the CA file and client certificate given as redis-py's URL options.
A wrong CA, or no client certificate, is `BackendUnavailable` (a 503), never a crash; turning
certificate checks off works but is logged."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlencode

import pytest

from redis_sessions import BackendUnavailable
from tests.contract._stores import StoreFactory, loaded
from tests.contract._tls import Certificates, make_certificates, tls_redis_server

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    pytest.mark.parametrize("backend_url", ["redis"], indirect=True),
]

PASSWORD = "tls-test-password-8f2c"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    try:
        return make_certificates(tmp_path_factory.mktemp("tls-certs"))
    except FileNotFoundError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise
        pytest.skip("openssl not installed")


@pytest.fixture(scope="module")
def tls_port(certs: Certificates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    try:
        with tls_redis_server(certs, tmp_path_factory.mktemp("tls-redis"), password=PASSWORD) as port:
            yield port
    except FileNotFoundError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise
        pytest.skip("redis-server not installed")


def tls_url(port: int, options: Mapping[str, str | Path], *, host: str = "127.0.0.1") -> str:
    return f"rediss://:{PASSWORD}@{host}:{port}/0?{urlencode({k: str(v) for k, v in options.items()})}"


def client_options(certs: Certificates, ca: Path | None = None) -> dict[str, str | Path]:
    return {
        "ssl_ca_certs": ca or certs.ca,
        "ssl_certfile": certs.client_cert,
        "ssl_keyfile": certs.client_key,
    }


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_sessions_over_tls_with_a_ca_file_and_a_client_certificate(
    make_store: StoreFactory, certs: Certificates, tls_port: int, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="redis_sessions"):
        store = make_store(url=tls_url(tls_port, client_options(certs), host=host))
    assert caplog.records == []  # full checks: nothing to warn about

    session = await store.create({"cart": ["tea"]}, user_id="u1")
    copy = await loaded(store, session.id)
    assert dict(copy) == {"cart": ["tea"]}
    copy["cart"] = ["tea", "milk"]
    await store.save(copy)
    assert dict(await loaded(store, session.id)) == {"cart": ["tea", "milk"]}
    assert [s.id for s in await store.sessions_for_user("u1")] == [session.id]
    assert await store.delete(session.id)
    assert await store.get(session.id) is None


async def test_a_server_certificate_from_another_ca_is_backend_unavailable(
    make_store: StoreFactory, certs: Certificates, tls_port: int
) -> None:
    store = make_store(url=tls_url(tls_port, client_options(certs, ca=certs.other_ca)))
    with pytest.raises(BackendUnavailable) as raised:
        await store.create({"a": 1})
    assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
    assert PASSWORD not in str(raised.value)
    with pytest.raises(BackendUnavailable):  # and again: no connection was left half-open
        await store.create({"a": 2})


async def test_without_a_client_certificate_the_server_refuses_it_as_backend_unavailable(
    make_store: StoreFactory, certs: Certificates, tls_port: int
) -> None:
    store = make_store(url=tls_url(tls_port, {"ssl_ca_certs": certs.ca}))
    with pytest.raises(BackendUnavailable) as raised:
        await store.create({"a": 1})
    assert PASSWORD not in str(raised.value)


async def test_certificate_checks_turned_off_work_and_are_logged_once(
    make_store: StoreFactory, certs: Certificates, tls_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    options: dict[str, str | Path] = {
        "ssl_cert_reqs": "none",
        "ssl_certfile": certs.client_cert,
        "ssl_keyfile": certs.client_key,
    }
    url = tls_url(tls_port, options)
    with caplog.at_level(logging.WARNING, logger="redis_sessions"):
        store = make_store(url=url)  # no CA given: the server's certificate is not checked
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "ssl_cert_reqs=none" in record.getMessage()
    assert PASSWORD not in record.getMessage()

    session = await store.create({"a": 1})
    assert dict(await loaded(store, session.id)) == {"a": 1}

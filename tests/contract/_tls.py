"""A throw-away certificate authority (``openssl``) and a TLS-only ``redis-server`` that requires
client certificates, for the ``rediss://`` tests.

Debian's redis-server 7.0 is built with TLS (``BUILD_TLS=yes``); a build without it exits at
start-up, which `tls_redis_server` reports as `RuntimeError`.
"""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from redis_sessions.testing import free_port

# Extensions as a real CA sets them (Python 3.13's VERIFY_X509_STRICT checks them).
_OPENSSL_CONFIG = """
[req]
distinguished_name = dn
prompt = no
[dn]
CN = redis-sessions test
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""
_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Certificates:
    """PEM files: a CA, a server and a client certificate it signed, and an unrelated CA."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True, timeout=60)


def _authority(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    _openssl(
        "req", "-x509", "-new", "-config", "openssl.cnf", "-extensions", "ca", *_KEY,
        "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}", cwd=directory,
    )  # fmt: skip
    return cert, key


def _signed(directory: Path, name: str, ca: tuple[Path, Path], serial: int) -> tuple[Path, Path]:
    cert, key, request = directory / f"{name}.crt", directory / f"{name}.key", directory / f"{name}.csr"
    _openssl(
        "req", "-new", "-config", "openssl.cnf", *_KEY, "-keyout", key, "-out", request,
        "-subj", f"/CN={name}", cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", request, "-CA", ca[0], "-CAkey", ca[1], "-set_serial", str(serial),
        "-days", "2", "-extfile", "openssl.cnf", "-extensions", name, "-out", cert, cwd=directory,
    )  # fmt: skip
    return cert, key


def make_certificates(directory: Path) -> Certificates:
    """Write a CA, server and client certificates (EC P-256, valid two days) into `directory`.
    Raises `FileNotFoundError` without ``openssl``, `subprocess.CalledProcessError` if it fails."""
    if shutil.which("openssl") is None:
        raise FileNotFoundError("openssl is not on PATH")
    (directory / "openssl.cnf").write_text(_OPENSSL_CONFIG)
    ca = _authority(directory, "ca")
    server = _signed(directory, "server", ca, 1)
    client = _signed(directory, "client", ca, 2)
    other_ca, _ = _authority(directory, "other-ca")
    return Certificates(ca[0], *server, *client, other_ca)


@contextmanager
def tls_redis_server(certs: Certificates, workdir: Path, *, password: str | None = None) -> Iterator[int]:
    """Run ``redis-server`` on a free loopback port speaking TLS only (``--port 0``), requiring a
    client certificate signed by `certs.ca` (and `password`, if given, from every client); yield
    the port; stop it by its PID afterwards.
    Raises `FileNotFoundError` without redis-server, `RuntimeError` if it does not answer PING
    over TLS within 10 seconds (e.g. a build without TLS)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not on PATH")
    port = free_port()
    options = {
        "bind": "127.0.0.1",
        "port": "0",
        "tls-port": str(port),
        "tls-cert-file": str(certs.server_cert),
        "tls-key-file": str(certs.server_key),
        "tls-ca-cert-file": str(certs.ca),
        "tls-auth-clients": "yes",
        "save": "",
        "appendonly": "no",
        "dir": str(workdir),
        "logfile": str(workdir / "redis.log"),
    }
    if password is not None:
        options["requirepass"] = password
    argv = [binary, *(part for name, value in options.items() for part in (f"--{name}", value))]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_tls_pong(proc, port, certs)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_for_tls_pong(proc: subprocess.Popen[bytes], port: int, certs: Certificates) -> None:
    context = ssl.create_default_context(cafile=str(certs.ca))
    context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    deadline = time.monotonic() + 10
    while True:
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
            ):
                conn.sendall(b"PING\r\n")
                if conn.recv(64).startswith((b"+PONG", b"-NOAUTH")):  # up; AUTH comes later
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not answer over TLS on port {port}")
        time.sleep(0.05)

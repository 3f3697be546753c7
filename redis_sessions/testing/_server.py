"""A private `redis-server` on a loopback port, for this suite and for yours.

with redis_server() as url:   # "redis://127.0.0.1:<port>/0", gone after the block
    store = SessionStore(SessionConfig(url=url, secret_keys=["..."]))

Also the process plumbing the cluster and sentinel helpers share (`RedisNode`).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RedisServer:
    """A running private server: its URL, port and process (to stop or freeze it in a test)."""

    url: str
    port: int
    process: subprocess.Popen[bytes]


@contextmanager
def running_redis_server(binary: str | None = None, *, port: int | None = None) -> Iterator[RedisServer]:
    """Start `redis-server` (from PATH unless `binary` is given) without persistence on 127.0.0.1
    (`port`, or a free one); stop it afterwards. Raises `FileNotFoundError` if none is installed,
    `RuntimeError` if it does not answer PING within 10 seconds."""
    binary = binary or shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not on PATH")
    port = port or free_port()
    with tempfile.TemporaryDirectory() as workdir:
        options = {"bind": "127.0.0.1", "port": str(port), "save": "", "appendonly": "no", "dir": workdir}
        argv = [binary, *(part for name, value in options.items() for part in (f"--{name}", value))]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_pong(proc, port)
            yield RedisServer(f"redis://127.0.0.1:{port}/0", port, proc)
        finally:
            proc.send_signal(signal.SIGCONT)  # in case a test froze it
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def redis_server(binary: str | None = None) -> Iterator[str]:
    """`running_redis_server` on a free port, yielding just its URL."""
    with running_redis_server(binary) as server:
        yield server.url


def _wait_for_pong(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start on port {port}")
        time.sleep(0.02)


# Shared by the cluster and sentinel helpers.


@dataclass(eq=False)
class RedisNode:
    """One process of a local topology (cluster node, data node or sentinel) on 127.0.0.1:`port`.

    `process` is the running `subprocess.Popen` (signal it to freeze or kill it from a test); the topology's
    `restart` replaces it with a new process on the same port. `argv` is how it was last started."""

    port: int
    process: subprocess.Popen[bytes]
    argv: list[str]

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``: this one process, whatever its role."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def alive(self) -> bool:
        """The process has not exited (a frozen, SIGSTOPped one counts as alive)."""
        return self.process.poll() is None


def _find_binary(binary: str | None, name: str = "redis-server") -> str:
    found = binary or shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not on PATH")
    return found


def _spawn(argv: list[str], workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """Start a process with its stdout and stderr (config errors) appended to ``<workdir>/<port>.out``."""
    with open(workdir / f"{port}.out", "ab") as output:
        return subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)


def _start_nodes(nodes: Sequence[RedisNode], what: str, workdir: Path) -> None:
    """Wait until every node (already spawned, so they start in parallel) answers PING; raise
    `RuntimeError` with the end of its output if one does not within 10 seconds."""
    for node in nodes:
        try:
            _wait_for_pong(node.process, node.port)
        except RuntimeError:
            output: list[str] = []
            with suppress(OSError):
                output = (workdir / f"{node.port}.out").read_text(errors="replace").strip().splitlines()[-5:]
            message = f"{what} on port {node.port} did not answer PING within 10 seconds"
            raise RuntimeError(message + "".join(f"\n{line}" for line in output)) from None


def _stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGCONT (in case a test froze one) and SIGTERM to all, then wait; SIGKILL what has not exited
    within 10 seconds."""
    running = [proc for proc in processes if proc.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
    deadline = time.monotonic() + 10
    for proc in running:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _kill(node: RedisNode) -> None:
    """SIGKILL and reap: the port is free when this returns."""
    if node.process.poll() is None:
        node.process.kill()
    node.process.wait(timeout=10)


def _bounded_wait(
    timeout: float,
    what: str,
    check: Callable[[], str | None],
    interval: float = 0.05,
    logs: Sequence[Path] = (),
) -> None:
    """Call `check` until it returns None (done) or `timeout` seconds pass; then raise `RuntimeError`
    naming `what`, the last reason `check` gave and the last warnings in the server `logs`."""
    deadline = time.monotonic() + timeout
    while True:
        reason = check()
        if reason is None:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {timeout:g} seconds: {reason}{_last_warnings(logs)}")
        time.sleep(interval)


def _reason_or_error(check: Callable[[], str | None]) -> str | None:
    """`check()`, or the Redis error it raised as the reason (a node that does not answer yet)."""
    try:
        return check()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"


def _last_warnings(logs: Sequence[Path], count: int = 25) -> str:
    """The last `count` warning lines (level ``#``: role changes, failover steps) of these Redis logs,
    merged in time order, each after its file's name."""
    events: list[tuple[str, str]] = []
    for log in logs:
        with suppress(OSError):
            for line in log.read_text(errors="replace").splitlines():
                pid_role, _, rest = line.partition(" ")
                stamp, marker, message = rest[12:24], rest[25:27], rest[27:]
                if marker == "# " and pid_role.count(":") == 1:
                    events.append((stamp, f"{log.stem} {stamp} {message}"))
    if not events:
        return ""
    return "\nlast server warnings:\n" + "\n".join(text for _, text in sorted(events)[-count:])


class _Clients:
    """One never-retrying RESP2 redis-py client per port (2-second timeouts), for the helpers' own
    queries: replies keep the server's RESP2 shapes (flat lists), whatever redis-py's default protocol.
    Each holds one connection, so MULTI ... EXEC can be sent command by command."""

    def __init__(self) -> None:
        self._clients: dict[int, redis.Redis] = {}

    def query(self, port: int, *args: str | bytes | int) -> Any:
        """Run one command on 127.0.0.1:`port`; raises redis-py's errors (`redis.RedisError`)."""
        client = self._clients.get(port)
        if client is None:
            client = redis.Redis(
                host="127.0.0.1",
                port=port,
                socket_timeout=2,
                socket_connect_timeout=2,
                decode_responses=True,
                protocol=2,
                retry=Retry(NoBackoff(), 0),
                single_connection_client=True,
            )
            self._clients[port] = client
        execute: Callable[..., Any] = client.execute_command  # untyped in some redis-py versions
        return execute(*args)

    def forget(self, port: int) -> None:
        """Drop the connection to `port` (its process was killed or restarted)."""
        client = self._clients.pop(port, None)
        if client is not None:
            client.close()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

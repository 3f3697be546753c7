"""Serve the three examples for ``scripts/demo.sh`` (`example_apps.combined`: FastAPI at ``/``,
Flask at ``/flask/``, Django at ``/django/``, one session store): pick a backend, run uvicorn.

REDIS_URL set: use it. Else, with ``redis-server`` on PATH: the demo's own, on a free 127.0.0.1 port,
with its data (an append-only file) in ``.demo-data/redis/``, so that sessions survive a restart of the
demo; stopped with the demo, cleanly, so that it writes its data out first. Else: ``memory://``. The
Django site's users are kept in ``.demo-data/django.sqlite3`` (unless DJANGO_DB_PATH says otherwise).
PORT (default 8000) is the port; DEMO_DATA_DIR (default ``.demo-data`` in the repository) the folder.
Ctrl-C or SIGTERM stops it. Run it as a script, ``python example_apps/serve.py``, from the virtualenv
that has the package.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import redis
import uvicorn

from redis_sessions.testing import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".demo-data"  # in .gitignore
_FALSE = ("", "0", "false", "no", "off")  # as SessionConfig.from_env reads USE_REDIS_SESSIONS


@contextmanager
def own_redis_server(binary: str, data_dir: Path, *, timeout: float = 10.0) -> Iterator[RedisServer]:
    """Run `binary` (a ``redis-server``) on a free 127.0.0.1 port with its data in `data_dir` (created
    if missing): an append-only file, written to disk every second and loaded again at the next start.
    Yield it once it answers PING (its data loaded); afterwards stop it with SIGTERM, on which Redis
    writes its data out, and wait up to `timeout` seconds for it (then SIGKILL).

    One server per folder: a lock on ``data_dir/lock``, which the server inherits, so that it still
    holds if this process is killed without stopping the server. Raises `RuntimeError` (naming the
    holder's pid) when another server holds it, or when the server does not answer within `timeout`
    seconds (its log: ``data_dir/redis.log``).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "lock").open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise RuntimeError(
                f"{data_dir} is in use by another redis-server (pid {lock.read().strip() or '?'}): "
                "stop the demo that runs it (or that process, if the demo is gone)"
            ) from None
        port = free_port()
        options = {
            "bind": "127.0.0.1",
            "port": str(port),
            "dir": str(data_dir.resolve()),
            "appendonly": "yes",  # every write logged, fsync every second; SIGTERM flushes the rest
            "save": "",  # no RDB snapshots: the append-only file is the data
            "logfile": "redis.log",
        }
        argv = [binary, *(part for name, value in options.items() for part in (f"--{name}", value))]
        # A session of its own: Ctrl-C in the terminal reaches the demo, which then stops the server.
        process = subprocess.Popen(
            argv, pass_fds=(lock.fileno(),), start_new_session=True, stdin=subprocess.DEVNULL
        )
        try:
            lock.truncate(0)
            lock.write(f"{process.pid}\n")
            lock.flush()
            _wait_until_ready(process, port, timeout, data_dir / "redis.log")
            yield RedisServer(f"redis://127.0.0.1:{port}/0", port, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, timeout: float, log: Path) -> None:
    """Return once the server answers PING: while it loads its data it answers LOADING instead."""
    deadline = time.monotonic() + timeout
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1) as client:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:  # also BusyLoadingError, while it loads its data
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}: see {log}") from None
                time.sleep(0.05)


@contextmanager
def backend(data_dir: Path) -> Iterator[str]:
    """Choose the backend, hand it to the app (REDIS_URL / USE_REDIS_SESSIONS), describe it."""
    if os.environ.get("USE_REDIS_SESSIONS", "true").strip().lower() in _FALSE:
        yield "memory:// (USE_REDIS_SESSIONS is false)"
    elif url := os.environ.get("REDIS_URL"):
        parts = urlsplit(url)
        yield f"Redis at {parts._replace(netloc=parts.netloc.rpartition('@')[2]).geturl()} (REDIS_URL)"
    elif binary := shutil.which("redis-server"):
        with own_redis_server(binary, data_dir / "redis") as server:
            os.environ["REDIS_URL"] = server.url
            yield (
                f"the demo's own redis-server at {server.url}, its data in {_shown(data_dir / 'redis')} "
                "(kept when the demo restarts)"
            )
    else:
        os.environ["USE_REDIS_SESSIONS"] = "false"
        yield "memory:// in this process, lost when the demo stops (no REDIS_URL, no redis-server on PATH)"


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    # uvicorn shuts down gracefully, then raises the signal again: exit by unwinding (no traceback),
    # so that the demo's redis-server is stopped too.
    signal.signal(signal.SIGINT, _exit)
    signal.signal(signal.SIGTERM, _exit)
    port = int(os.environ.get("PORT", "8000"))
    data_dir = Path(os.environ.get("DEMO_DATA_DIR") or DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_DB_PATH", str(data_dir / "django.sqlite3"))  # the site's users
    # After site-packages, not before: there `redis_sessions` is the installed package, which has
    # `redis_sessions.integrations`; the bare source folder at the root does not.
    sys.path.append(str(ROOT))
    with backend(data_dir) as description:
        base = f"http://127.0.0.1:{port}"
        apps = f"open {base}/ (FastAPI), {base}/flask/ (Flask), {base}/django/ (Django)"
        stop = f"Ctrl-C (or kill {os.getpid()}) stops the demo"
        print(f"demo: sessions in {description}; {apps}; {stop}", flush=True)
        uvicorn.run("example_apps.combined:app", host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()

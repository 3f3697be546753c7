"""Serve the three examples for ``scripts/demo.sh`` (`example_apps.combined`: FastAPI at ``/``,
Flask at ``/flask/``, Django at ``/django/``, one session store): pick a backend, run uvicorn.

REDIS_URL set: use it. Else, with ``redis-server`` on PATH: a private one on a free 127.0.0.1 port
(no persistence, temp dir), stopped with the demo. Else: ``memory://``. PORT (default 8000).
Run it as a script, ``python example_apps/serve.py``, from the virtualenv that has the package.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn

from redis_sessions.testing import redis_server

_FALSE = ("", "0", "false", "no", "off")  # as SessionConfig.from_env reads USE_REDIS_SESSIONS


@contextmanager
def backend() -> Iterator[str]:
    """Choose the backend, hand it to the app (REDIS_URL / USE_REDIS_SESSIONS), describe it."""
    if os.environ.get("USE_REDIS_SESSIONS", "true").strip().lower() in _FALSE:
        yield "memory:// (USE_REDIS_SESSIONS is false)"
    elif url := os.environ.get("REDIS_URL"):
        parts = urlsplit(url)
        yield f"Redis at {parts._replace(netloc=parts.netloc.rpartition('@')[2]).geturl()} (REDIS_URL)"
    elif binary := shutil.which("redis-server"):
        with redis_server(binary) as url:
            os.environ["REDIS_URL"] = url
            yield f"a private redis-server at {url}, stopped with the demo"
    else:
        os.environ["USE_REDIS_SESSIONS"] = "false"
        yield "memory:// in this process (no REDIS_URL, no redis-server on PATH)"


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    # uvicorn shuts down gracefully, then raises the signal again: exit by unwinding (no traceback),
    # so that the private redis-server is stopped too.
    signal.signal(signal.SIGINT, _exit)
    signal.signal(signal.SIGTERM, _exit)
    port = int(os.environ.get("PORT", "8000"))
    # After site-packages, not before: there `redis_sessions` is the installed package, which has
    # `redis_sessions.integrations`; the bare source folder at the root does not.
    sys.path.append(str(Path(__file__).resolve().parents[1]))
    with backend() as description:
        base = f"http://127.0.0.1:{port}"
        apps = f"open {base}/ (FastAPI), {base}/flask/ (Flask), {base}/django/ (Django)"
        print(f"demo: sessions in {description}; {apps}", flush=True)
        uvicorn.run("example_apps.combined:app", host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()

"""Serve a WSGI app with werkzeug's threaded server (a thread per request), for tests over real HTTP:
``python -m tests.wsgi_serve module:attribute PORT`` (see `tests.served.wsgi_process`)."""

from __future__ import annotations

import importlib
import sys

from werkzeug.serving import run_simple

if __name__ == "__main__":
    module, attribute = sys.argv[1].split(":")
    app = getattr(importlib.import_module(module), attribute)
    run_simple("127.0.0.1", int(sys.argv[2]), app, threaded=True)

#!/usr/bin/env bash
# The README's demo: set up, then serve the three examples (example_apps/combined.py) on one store:
# FastAPI at http://127.0.0.1:${PORT:-8000}/, Flask at /flask/, Django at /django/.
# Sessions go to REDIS_URL if set, else to the demo's own redis-server (data kept in .demo-data/redis/,
# stopped cleanly with the demo), else memory://. Ctrl-C stops it; PORT=8080 picks another port.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/python example_apps/serve.py

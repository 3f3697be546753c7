#!/usr/bin/env bash
# The whole test suite from a fresh checkout: set-up, ruff, mypy, pytest against real redis-server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# strict editable installs link files at install time: refresh so new modules are seen.
.venv/bin/python -m pip install -q --no-deps -e . --config-settings editable_mode=strict
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy -p redis_sessions
.venv/bin/mypy tests example_apps benchmarks
REQUIRE_REDIS=1 .venv/bin/pytest "$@"

#!/usr/bin/env bash
# The whole test suite from a fresh checkout: set-up, ruff, mypy, pytest against real redis-server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# mypy cannot follow the editable install's import hook: type-check an installed copy instead
# (errors name files under .typecheck/; the same paths exist in the checkout).
rm -rf .typecheck
.venv/bin/python -m pip install -q --no-deps --no-build-isolation --target .typecheck . >/dev/null
MYPYPATH=.typecheck .venv/bin/mypy -p redis_sessions
MYPYPATH=.typecheck .venv/bin/mypy tests example_apps benchmarks
REQUIRE_REDIS=1 .venv/bin/pytest "$@"
# The Django engine's suite once more on Django 4.2 LTS (the oldest supported), put first on the path.
if [ ! -d .venv/django42 ]; then
  .venv/bin/python -m pip install -q --no-deps --target .venv/django42 "django>=4.2,<5"
fi
PYTHONPATH=.venv/django42 REQUIRE_REDIS=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/django_engine

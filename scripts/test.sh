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
# Once more on the oldest versions we support, each put first on the path: the whole suite on
# redis-py, Flask, Werkzeug, prometheus-client and opentelemetry-api at pyproject.toml's lower bounds
# (tests/contract/test_lowest_versions.py keeps them equal; the OpenTelemetry SDK the tests read
# metrics with, and the API's own dependencies, at the versions that go with it), and the Django
# engine's suite on Django 4.2 LTS with that redis-py.
LOWEST="redis==5.0.8 flask==3.0.0 werkzeug==3.1.0 prometheus-client==0.20.0 opentelemetry-api==1.30.0 \
opentelemetry-sdk==1.30.0 opentelemetry-semantic-conventions==0.51b0 deprecated==1.2.18 wrapt==1.17.2 \
importlib-metadata==8.5.0 zipp==3.21.0"
if [ "$(cat .venv/lowest/PINS 2>/dev/null)" != "$LOWEST" ]; then
  rm -rf .venv/lowest
  # shellcheck disable=SC2086  # one argument per pin
  .venv/bin/python -m pip install -q --no-deps --target .venv/lowest $LOWEST
  echo "$LOWEST" >.venv/lowest/PINS
fi
if [ ! -d .venv/django42 ]; then
  .venv/bin/python -m pip install -q --no-deps --target .venv/django42 "django>=4.2,<5"
fi
oldest() { PYTHONPATH="$1" REQUIRE_REDIS=1 .venv/bin/python -m pytest -q -p no:cacheprovider "${@:2}"; }
# redis-py older than 8.1 does not check these two TLS option values when the URL is parsed (the
# first connection fails on them instead): SessionConfig cannot refuse them at construction there.
oldest .venv/lowest tests \
  --deselect "tests/unit/test_config_urls.py::test_refused_at_construction[rediss://cache/0?ssl_include_verify_flags=NOT_A_FLAG-Invalid value for 'ssl_include_verify_flags']" \
  --deselect "tests/unit/test_config_urls.py::test_refused_at_construction[rediss://cache/0?ssl_min_version=tls1.2-ssl_min_version]"
oldest .venv/django42:.venv/lowest tests/django_engine

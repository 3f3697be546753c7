#!/usr/bin/env bash
# Prepare a fresh Debian/Ubuntu machine: .venv with the package and its dev extras, and redis-server.
# Idempotent; sourced by scripts/test.sh and scripts/demo.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
  command -v apt-get >/dev/null || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    pyver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    echo "setup: installing python${pyver}-venv" >&2
    apt_install "python${pyver}-venv" || apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi

stamp=.venv/.installed-$(cat pyproject.toml | cksum | cut -d' ' -f1)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # The default editable mode maps redis_sessions.integrations to integrations/ with an import
  # hook, so new files are seen at once and the repository root on sys.path does no harm.
  .venv/bin/python -m pip install -q -e '.[dev]' 
  rm -f .venv/.installed-* && touch "$stamp"
fi

# redis-server, and redis-cli (Debian's redis-tools) for the local Cluster and Sentinel fixtures.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "setup: redis-server or redis-cli not found; installing them with apt-get" >&2
  apt_install redis-server redis-tools || echo "setup: could not install redis-server (need root or sudo and apt-get)" >&2
  # Debian starts a system service on install; our tests start their own servers.
fi

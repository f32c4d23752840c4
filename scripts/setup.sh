#!/usr/bin/env bash
# Installs everything Centrex needs into ./.venv (idempotent). Usage: scripts/setup.sh [--dev]
# - Debian packages listed in scripts/debian-packages.txt (only those missing; needs root or sudo)
# - the Python package and its dependencies (with [dev] for tests)
# - the Scalar API-docs bundle from the npm registry (optional: falls back to the CDN)
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1

missing=()
while read -r pkg; do
  [ -z "$pkg" ] || [ "${pkg#\#}" != "$pkg" ] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < scripts/debian-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.centrex-installed
want="$(sha256sum pyproject.toml | cut -c1-16)-$DEV"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  if [ "$DEV" = 1 ]; then
    .venv/bin/python -m pip install -q -e ".[dev]"
  else
    .venv/bin/python -m pip install -q -e .
  fi
  echo "$want" > "$stamp"
fi

vendor=src/centrex/web/static/vendor
if [ ! -f "$vendor/scalar-standalone.js" ] && command -v npm >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && npm pack --silent @scalar/api-reference@1 >/dev/null 2>&1); then
    mkdir -p "$vendor"
    tar -xzf "$tmp"/scalar-api-reference-*.tgz -C "$tmp"
    cp "$tmp/package/dist/browser/standalone.js" "$vendor/scalar-standalone.js" 2>/dev/null || true
  fi
  rm -rf "$tmp"
fi

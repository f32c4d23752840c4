#!/usr/bin/env bash
# Set up (if needed) and start Centrex on SQLite under ./var. Extra arguments go to `centrex serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/centrex serve --data-dir "${CENTREX_DATA_DIR:-./var}" "$@"

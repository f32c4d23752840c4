#!/usr/bin/env bash
# Set up (if needed) and run every check: ruff (format + lint), mypy, and the test suite against SQLite and the
# PostgreSQL on 127.0.0.1:5432 (a throwaway database per run). With CI=true a missing PostgreSQL is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff format --check src tests bench; ruff check src tests bench
echo "== mypy"; mypy
echo "== pytest"
set +e
pytest -n "${PYTEST_WORKERS:-2}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi
exit "$rc"

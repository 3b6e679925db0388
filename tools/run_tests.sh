#!/usr/bin/env bash
# Install everything (idempotent) and run the test suite.
#   bash tools/run_tests.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
bash tools/install.sh
exec "$VENV/bin/python" -m pytest tests "$@"

#!/usr/bin/env bash
# Installs what the scheduler's acceptance test needs besides Rust: Python 3
# with croniter, the reference the cron tests compare against. Safe to rerun.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "test-deps-sched: $PYTHON not found; install Python 3 (e.g. apt-get install python3 python3-pip)" >&2
    exit 1
fi
if "$PYTHON" -c 'import croniter' >/dev/null 2>&1; then
    exit 0
fi
"$PYTHON" -m pip install --quiet --disable-pip-version-check 'croniter>=2,<7' \
    || "$PYTHON" -m pip install --quiet --disable-pip-version-check --break-system-packages 'croniter>=2,<7'
"$PYTHON" -c 'import croniter'

#!/usr/bin/env bash
# The test suite: installs what the tests need (Python packages for the real
# SMTP and cron reference servers, the CDNOW public dataset), then runs every
# Rust test. Safe to run again; installs are skipped when present.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-deps.sh
cargo test --all-targets --locked

#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
need=()
for mod in aiosmtpd croniter openpyxl; do
  "$PY" -c "import $mod" 2>/dev/null || need+=("$mod")
done
if [ ${#need[@]} -gt 0 ]; then
  "$PY" -m pip install --quiet --disable-pip-version-check "${need[@]}"
fi
if ! command -v openssl >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq openssl >/dev/null
fi
for s in scripts/fetch_cdnow.sh; do
  [ -f "$s" ] && bash "$s"
done
exit 0

#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain:
# - aiosmtpd, the real SMTP server the delivery tests talk to (tests/smtp/);
# - croniter, the reference cron implementation the schedule tests compare with;
# - openpyxl, to read back number formats of the workbooks;
# - the openssl CLI for the SMTP tests' throwaway certificates;
# - the CDNOW transaction log (from the `lifetimes` wheel, checksum-pinned).
# Safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"

need=()
"$PYTHON" -c 'import aiosmtpd' 2>/dev/null || need+=('aiosmtpd>=1.4,<2')
"$PYTHON" -c 'import croniter' 2>/dev/null || need+=('croniter>=2,<7')
"$PYTHON" -c 'import openpyxl' 2>/dev/null || need+=('openpyxl>=3.1,<4')
if [ ${#need[@]} -gt 0 ]; then
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "${need[@]}"
fi
"$PYTHON" -c 'import aiosmtpd, croniter, openpyxl' || {
    echo "python test packages still missing after install" >&2
    exit 1
}

if ! command -v openssl >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq openssl
    else
        echo "openssl CLI missing and no apt-get to install it" >&2
        exit 1
    fi
fi

bash scripts/fetch_cdnow.sh

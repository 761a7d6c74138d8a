#!/usr/bin/env bash
# Installs what the test suite needs besides cargo: aiosmtpd for the local SMTP
# servers in tests/smtp/, and the openssl CLI for their throwaway certificates.
# Safe to run any number of times.
set -euo pipefail

PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import aiosmtpd' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet --disable-pip-version-check 'aiosmtpd>=1.4,<2'
fi
"$PYTHON" -c 'import aiosmtpd' || { echo "aiosmtpd still missing after install" >&2; exit 1; }

if ! command -v openssl >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq openssl
    else
        echo "openssl CLI missing and no apt-get to install it" >&2
        exit 1
    fi
fi

#!/usr/bin/env bash
# Fetches the CDNOW reference data the member-tier tests compare against
# (tests/tiers_cdnow.rs): the CDNOW_sample transactions and the per-customer
# summary published with the `lifetimes` Python package (0.11.3). The wheel
# is pinned by sha256; the two files land in target/cdnow/ (or $CDNOW_DIR),
# which is never committed. Safe to run again: it does nothing when the
# files are already there.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${CDNOW_DIR:-$root/target/cdnow}"
cache="$dest/cache"
version="0.11.3"
sha256="261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8"
members=(
  lifetimes/datasets/CDNOW_sample.txt
  lifetimes/datasets/cdnow_customers_summary_with_transactions.csv
)

have_all() {
  for m in "${members[@]}"; do
    [[ -s "$dest/$(basename "$m")" ]] || return 1
  done
}

if have_all; then
  echo "CDNOW data already in $dest"
  exit 0
fi

mkdir -p "$cache"

find_wheel() {
  # pip keeps the project's own spelling (Lifetimes-…); match either case.
  find "$cache" -maxdepth 1 -iname "lifetimes-$version-py3-none-any.whl" -print -quit
}

checksum() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

wheel="$(find_wheel)"
if [[ -z "$wheel" ]] || [[ "$(checksum "$wheel")" != "$sha256" ]]; then
  [[ -n "$wheel" ]] && rm -f "$wheel"
  if command -v pip >/dev/null; then pip=(pip); else pip=(python3 -m pip); fi
  "${pip[@]}" download "lifetimes==$version" --no-deps -d "$cache" >&2
  wheel="$(find_wheel)"
  if [[ -z "$wheel" ]]; then
    echo "fetch_cdnow: pip did not leave a lifetimes $version wheel in $cache" >&2
    exit 1
  fi
fi

got="$(checksum "$wheel")"
if [[ "$got" != "$sha256" ]]; then
  rm -f "$wheel"
  echo "fetch_cdnow: $wheel has sha256 $got, expected $sha256; removed it" >&2
  exit 1
fi

if command -v unzip >/dev/null; then
  unzip -o -j -q "$wheel" "${members[@]}" -d "$dest"
else
  python3 - "$wheel" "$dest" "${members[@]}" <<'PY'
import os, sys, zipfile
wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        with open(os.path.join(dest, os.path.basename(name)), "wb") as out:
            out.write(z.read(name))
PY
fi

have_all
echo "CDNOW data in $dest"

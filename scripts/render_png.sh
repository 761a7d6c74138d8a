#!/usr/bin/env bash
# Renders workbooks to PNG pages through LibreOffice headless, so a person
# can look at every sheet the way a printout (or a phone preview) shows it.
#
#   scripts/render_png.sh OUT_DIR WORKBOOK.xlsx...
#   scripts/render_png.sh --fixture OUT_DIR    # the render tests' fixture shop, every layout
#
# Each workbook becomes OUT_DIR/<name>.pdf and OUT_DIR/<name>-<page>.png.
# Installs libreoffice-calc-nogui, fonts-noto-cjk and poppler-utils with
# apt-get when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
fc-list 2>/dev/null | grep -qi 'noto.*cjk' || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "${1:-}" = "--fixture" ]; then
  out=${2:?usage: $0 --fixture OUT_DIR}
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  RENDER_OUT="$out" cargo test --quiet --test render_golden -- --ignored write_fixture_workbooks >&2
  set -- "$out" "$out"/*.xlsx
fi

out=${1:?usage: $0 OUT_DIR WORKBOOK.xlsx...}
shift
mkdir -p "$out"
# A private profile: a desktop LibreOffice running elsewhere cannot lock it.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
for wb in "$@"; do
  stem=$(basename "${wb%.*}")
  soffice -env:UserInstallation=file://"$profile" --headless --calc \
    --convert-to pdf --outdir "$out" "$wb" >/dev/null
  rm -f "$out/$stem"-*.png
  pdftoppm -png -r 70 "$out/$stem.pdf" "$out/$stem"
  echo "$out/$stem.pdf: $(ls "$out/$stem"-*.png | wc -l) page(s)"
done

#!/usr/bin/env bash
# Benchmarks at large-store scale (SPEC §14).
#
# Generates the large shop once (a year: ~10 M orders, 2 M members, 20 k SKUs)
# into a cache folder, then measures wall time and peak RSS of:
#   1. importing the year of orders and order lines (`storepulse import`),
#   2. the daily job for the last day, with the year in the store,
#   3. the weekly job for the last week, after the week before ran,
#   4. the monthly tier job for the last complete month, after the month
#      before ran (a steady state: each run finds its predecessor's KPI
#      snapshot and member levels),
#   5. a backfill of daily runs over the year with --no-send,
# and prints one table. Every run starts from an empty store.
#
# Environment:
#   STOREPULSE_BENCH_CACHE  cache folder (default: <repo>/target/bench-cache)
#   STOREPULSE_BIN_DIR      folder with release `storepulse` and `storepulse-gen`
#                           (default: build them with `cargo build --release --bins`)
#   BENCH_BACKFILL_DAYS     days to backfill (default 365); fewer are
#                           measured and extrapolated to 365 in the table
#   BENCH_STEPS             steps to run, default "import first daily weekly monthly backfill";
#                           without "import" the store of the previous run is reused
#   BENCH_OTHER_DAYS        days of traffic/products/service/ads files linked
#                           into the inbox before the last day (default 365:
#                           the daily job requires traffic, so a backfill
#                           reaches back only as far as these days do)
#   BENCH_FIRST, BENCH_LAST, BENCH_MONTH
#                           the generated range and the month of the tier job
#                           (default 2025-11-23, 2026-11-22, 2026-10); a
#                           different range needs its own cache folder
#
# Needs GNU time (/usr/bin/time; `apt-get install time`).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${STOREPULSE_BENCH_CACHE:-$REPO/target/bench-cache}
BACKFILL_DAYS=${BENCH_BACKFILL_DAYS:-365}
STEPS=${BENCH_STEPS:-"import first daily weekly monthly backfill"}
FIRST=${BENCH_FIRST:-2025-11-23}
LAST=${BENCH_LAST:-2026-11-22}
MONTH=${BENCH_MONTH:-2026-10}

if [[ ! -x /usr/bin/time ]]; then
    echo "benches/run.sh: GNU time is missing (apt-get install time)" >&2
    exit 2
fi

if [[ -n ${STOREPULSE_BIN_DIR:-} ]]; then
    BIN=$STOREPULSE_BIN_DIR
else
    (cd "$REPO" && cargo build --release --bins)
    BIN=${CARGO_TARGET_DIR:-$REPO/target}/release
fi
SP=$BIN/storepulse
GEN=$BIN/storepulse-gen

mkdir -p "$CACHE"
DATA=$CACHE/large
if [[ ! -d $DATA/inbox ]]; then
    echo "== generating the large shop into $DATA (once)"
    rm -rf "$DATA.tmp"
    "$GEN" large --out "$DATA.tmp" --start "$FIRST" --end "$LAST" 2>"$CACHE/gen.log" \
        || { tail -5 "$CACHE/gen.log" >&2; exit 1; }
    mv "$DATA.tmp" "$DATA"
fi

# The year's daily order and order-line exports as one file each: the
# header of the first day, then every day's rows (byte-wise; they are GBK).
# The last day is left out: its exports arrive in the inbox for the daily
# run, new to the store as a real day's exports are.
YEAR=$CACHE/year
concat() { # pattern-prefix output
    local prefix=$1 out=$2 first=1
    [[ -s $out ]] && return
    echo "== concatenating $prefix* into $out"
    : >"$out.tmp"
    for dir in "$DATA"/inbox/*/; do
        [[ $(basename "$dir") == "$LAST" ]] && continue
        for f in "$dir$prefix"*.csv; do
            [[ -e $f ]] || continue
            if ((first)); then cat "$f" >>"$out.tmp"; first=0; else tail -n +2 "$f" >>"$out.tmp"; fi
        done
    done
    mv "$out.tmp" "$out"
}
mkdir -p "$YEAR"
concat ExportOrderList "$YEAR/orders_before_$LAST.csv"
concat ExportOrderDetailList "$YEAR/order_items_before_$LAST.csv"

has() { [[ " $STEPS " == *" $1 "* ]]; }

# A config copy whose inbox is a folder of links: member lists for the
# days before the last, and traffic, products, service and ads for the
# last OTHER_DAYS of them (orders and order lines come from the import);
# the last day complete is linked in just before the daily run. A run
# without the import step reuses the store of the previous one.
RUN=$CACHE/run
OTHER_DAYS=${BENCH_OTHER_DAYS:-365}
if has import; then
    rm -rf "$RUN"
else
    rm -rf "$RUN/inbox" "$RUN/out"
fi
mkdir -p "$RUN/inbox" "$RUN/state" "$RUN/out" "$RUN/archive"
sed -e "s|^inbox = .*|inbox = \"$RUN/inbox\"|" \
    -e "s|^state = .*|state = \"$RUN/state/storepulse.db\"|" \
    -e "s|^out = .*|out = \"$RUN/out\"|" \
    -e "s|^archive = .*|archive = \"$RUN/archive\"|" \
    -e "s|^jobs_dir = .*|jobs_dir = \"$REPO/jobs\"|" \
    -e "s|^templates = .*|templates = \"$REPO/templates\"|" \
    -e "s|^file = \"sample-data/targets.csv\"|file = \"$DATA/targets.csv\"|" \
    "$REPO/storepulse.toml" >"$RUN/storepulse.toml"
CONF=(--config "$RUN/storepulse.toml" --quiet)
others_from=$(date -d "$LAST - $OTHER_DAYS days" +%F)
for dir in "$DATA"/inbox/*/; do
    day=$(basename "$dir")
    [[ $day == "$LAST" ]] && continue
    mkdir -p "$RUN/inbox/$day"
    for f in "$dir"*; do
        case $(basename "$f") in
        ExportOrder*) ;;
        会员列表*) ln -s "$f" "$RUN/inbox/$day/" ;;
        *) [[ $day < $others_from ]] || ln -s "$f" "$RUN/inbox/$day/" ;;
        esac
    done
done

ROWS=()
# measure <step> <target seconds or -> <target MB or -> <command...>
measure() {
    local step=$1 tsec=$2 tmb=$3
    shift 3
    local log=$RUN/$(echo "$step" | tr -c 'a-zA-Z0-9\n' '_').time
    echo "== $step: $*"
    local rc=0
    /usr/bin/time -v -o "$log" "$@" >"$log.out" 2>&1 || rc=$?
    if ((rc != 0)); then
        echo "   FAILED (exit $rc); last lines:" >&2
        tail -20 "$log.out" >&2
        ROWS+=("$step|failed|-|-|$tsec s / $tmb MB|no")
        return
    fi
    record "$step" "$tsec" "$tmb" "$(wall_seconds "$log")" "$(rss_mb "$log")" "$(cpu_seconds "$log")"
}
# record <step> <target s> <target MB> <wall s> <rss MB> <cpu s> [note]
record() {
    local step=$1 tsec=$2 tmb=$3 wall=$4 rss=$5 cpu=$6 note=${7:-}
    local met=yes target=""
    if [[ $tsec != - ]]; then
        target="< $tsec s"
        awk -v w="$wall" -v t="$tsec" 'BEGIN {exit !(w < t)}' || met=no
    fi
    if [[ $tmb != - ]]; then
        target="$target${target:+, }< $tmb MB"
        ((rss < tmb)) || met=no
    fi
    [[ -z $target ]] && { target="-"; met="-"; }
    ROWS+=("$step|${wall} s|${cpu} s|${rss} MB|$target|$met${note:+ ($note)}")
    echo "   $wall s wall, $cpu s cpu, $rss MB"
}
rss_mb() { awk -F': ' '/Maximum resident/ {print int($2/1024)}' "$1"; }
# User + system time: on a shared machine wall time includes waiting for a
# core, CPU time does not.
cpu_seconds() {
    awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$1"
}
wall_seconds() { # GNU time's h:mm:ss or m:ss.ss to seconds
    awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + p[i]
        printf "%.2f", s }' "$1"
}
if has import; then
    measure "import orders" - - "$SP" "${CONF[@]}" import orders "$YEAR/orders_before_$LAST.csv"
    measure "import order_items" - - "$SP" "${CONF[@]}" import order_items "$YEAR/order_items_before_$LAST.csv"
    # The target is for both together.
    sum() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a + b}'; }
    o=$RUN/import_orders.time i=$RUN/import_order_items.time
    ro=$(rss_mb "$o") ri=$(rss_mb "$i")
    record "import year (orders + lines)" 40 - "$(sum "$(wall_seconds "$o")" "$(wall_seconds "$i")")" \
        $((ro > ri ? ro : ri)) "$(sum "$(cpu_seconds "$o")" "$(cpu_seconds "$i")")"
fi
# No target: the first run ingests the linked inbox files (a year of
# member lists, the last weeks of traffic, products, service and ads).
if has first; then
    measure "first run (ingests members, ${OTHER_DAYS} days of the rest)" - - \
        "$SP" "${CONF[@]}" run-job daily-ops --date "$(date -d "$LAST - 1 day" +%F)" --no-send
fi
mkdir -p "$RUN/inbox/$LAST"
for f in "$DATA/inbox/$LAST"/*; do ln -sf "$f" "$RUN/inbox/$LAST/"; done
if has daily; then
    measure "daily-ops $LAST" 2 500 "$SP" "${CONF[@]}" run-job daily-ops --date "$LAST" --no-send
fi
if has weekly; then
    echo "== (not measured) weekly-review for the week before"
    "$SP" "${CONF[@]}" run-job weekly-review --date "$(date -d "$LAST - 7 days" +%F)" --no-send >/dev/null 2>&1 ||
        { rc=$?; ((rc <= 1)) || echo "   (exit $rc: the measured run may find no stored period before it)"; }
    measure "weekly-review (week of $LAST)" - - "$SP" "${CONF[@]}" run-job weekly-review --date "$LAST" --no-send
fi
if has monthly; then
    echo "== (not measured) monthly-members for the month before"
    "$SP" "${CONF[@]}" run-job monthly-members --period "$(date -d "$MONTH-01 - 1 month" +%Y-%m)" --no-send >/dev/null 2>&1 ||
        { rc=$?; ((rc <= 1)) || echo "   (exit $rc: the measured run may find no stored period before it)"; }
    measure "monthly-members $MONTH" 5 - "$SP" "${CONF[@]}" run-job monthly-members --period "$MONTH" --no-send
fi
if has backfill; then
    from=$(date -d "$LAST - $((BACKFILL_DAYS - 1)) days" +%F)
    log=$RUN/backfill.time
    echo "== backfill daily-ops $from..$LAST"
    # Exit 1 means some day was held by a fail-level check (the first
    # days' member lists trip row_count): a finished backfill all the same.
    rc=0
    /usr/bin/time -v -o "$log" "$SP" "${CONF[@]}" backfill daily-ops --from "$from" --to "$LAST" --no-send \
        >"$log.out" 2>&1 || rc=$?
    if ((rc <= 1)); then
        wall=$(wall_seconds "$log") rss=$(rss_mb "$log") cpu=$(cpu_seconds "$log")
        if ((BACKFILL_DAYS == 365)); then
            record "backfill daily-ops, 365 days" 300 - "$wall" "$rss" "$cpu"
        else
            record "backfill daily-ops, $BACKFILL_DAYS days" - - "$wall" "$rss" "$cpu"
            scale() { awk -v w="$1" -v n="$BACKFILL_DAYS" 'BEGIN {printf "%.1f", w * 365 / n}'; }
            record "  extrapolated to 365 days" 300 - "$(scale "$wall")" "$rss" "$(scale "$cpu")" extrapolated
        fi
    else
        echo "   FAILED; last lines:" >&2
        tail -20 "$log.out" >&2
        ROWS+=("backfill daily-ops|failed|-|-|< 300 s|no")
    fi
fi

echo
# Targets are judged on wall time; CPU time shows what the wall time would
# be on an idle machine.
printf '%s\n' "step|wall|cpu|peak RSS|target|met?" "---|---|---|---|---|---" "${ROWS[@]}" |
    column -t -s '|' -o ' | ' | tee "$RUN/table.txt"
